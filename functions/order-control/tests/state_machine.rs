//! The order's state machine end to end on the in-memory store: the listener collects, the
//! table's stream feeds the trigger, the trigger publishes. Every permutation of an order's
//! events, with duplicates and redelivered batches, gives the same transitions, each once.

use std::sync::Arc;

use lambda_stream::testing;
use lambda_stream::{Config, Envelope, InMemoryPublisher, Invocation, RecordsEvent};
use lambda_stream_aws::event_store::EventStore;
use lambda_stream_aws::store::memory::InMemoryStore;
use serde_json::json;

fn event(event_type: &str, id: &str, timestamp: i64) -> Envelope {
    let entity = match event_type {
        "payment-authorized" | "payment-declined" => ("payment", json!({"orderId": "o1"})),
        t if t.starts_with("delivery-") => ("delivery", json!({"orderId": "o1"})),
        _ => ("order", json!({"id": "o1"})),
    };
    Envelope::builder(event_type)
        .id(id)
        .timestamp(timestamp)
        .partition_key("o1")
        .entity(entity.0, &entity.1)
        .build()
        .expect("valid")
}

/// One control service over an in-memory event table.
struct Service {
    store: Arc<InMemoryStore>,
    events: EventStore,
    bus: Arc<InMemoryPublisher>,
    runtime: tokio::runtime::Runtime,
}

impl Service {
    fn new() -> Self {
        let store = Arc::new(InMemoryStore::new());
        Self {
            events: EventStore::new(store.clone(), order_control::EVENT_TTL_DAYS),
            store,
            bus: Arc::new(InMemoryPublisher::new()),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
        }
    }

    /// The listener takes `batch`; the trigger then takes what the table's stream has (and,
    /// when `redeliver`, takes it twice, as after a failed invocation).
    fn deliver(&self, batch: &[Envelope], redeliver: bool) {
        let listener = order_control::listener(&self.events, Config::default());
        let report = self
            .runtime
            .block_on(listener.process(testing::kinesis_event(batch), Invocation::local()));
        assert!(
            report.records.iter().all(|r| !r.retry),
            "{:?}",
            report.summary
        );
        self.run_trigger(self.store.take_stream_event(), redeliver);
    }

    fn run_trigger(&self, stream: RecordsEvent, redeliver: bool) {
        let trigger = order_control::trigger(&self.events, self.bus.clone(), Config::default());
        let times = if redeliver { 2 } else { 1 };
        for _ in 0..times {
            let report = self
                .runtime
                .block_on(trigger.process(stream.clone(), Invocation::local()));
            assert!(report.faults.is_empty(), "{:?}", report.faults);
            assert!(
                report.records.iter().all(|r| !r.retry),
                "{:?}",
                report.summary
            );
        }
    }

    /// What was published: (type, id), sorted.
    fn published(&self) -> Vec<(String, String)> {
        let mut published: Vec<(String, String)> = self
            .bus
            .envelopes()
            .iter()
            .map(|e| (e.event_type().to_string(), e.id().to_string()))
            .collect();
        published.sort();
        published
    }
}

fn permutations<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut all = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first.clone());
            all.push(tail);
        }
    }
    all
}

fn transitions(list: &[&str]) -> Vec<(String, String)> {
    let mut expected: Vec<(String, String)> = list
        .iter()
        .map(|t| (format!("order-{t}"), format!("o1.{t}")))
        .collect();
    expected.sort();
    expected
}

#[test]
fn every_order_of_arrival_with_duplicates_confirms_and_delivers_once() {
    let happy = [
        event("order-placed", "e1", 1),
        event("payment-authorized", "e2", 2),
        event("order-accepted", "e3", 3),
        event("delivery-out-for-delivery", "e4", 4),
        event("delivery-delivered", "e5", 5),
    ];
    let all = permutations(&happy);
    assert_eq!(all.len(), 120);
    for (n, order) in all.iter().enumerate() {
        let service = Service::new();
        // A duplicate of one event, somewhere later; batches of one or two; some trigger
        // batches delivered twice.
        let mut arrivals = order.clone();
        let duplicate = arrivals[n % 5].clone();
        let at = (n % 3) + 3;
        arrivals.insert(at.min(arrivals.len()), duplicate);
        let mut i = 0;
        while i < arrivals.len() {
            let size = if (n + i) % 4 == 0 { 2 } else { 1 };
            let end = (i + size).min(arrivals.len());
            service.deliver(&arrivals[i..end], (n + i) % 5 == 0);
            i = end;
        }
        assert_eq!(
            service.published(),
            transitions(&["confirmed", "delivered"]),
            "arrival order {:?}",
            arrivals
                .iter()
                .map(Envelope::event_type)
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn all_events_in_one_batch_fire_each_transition_once() {
    let service = Service::new();
    let everything = [
        event("delivery-delivered", "e5", 5),
        event("order-accepted", "e3", 3),
        event("order-placed", "e1", 1),
        event("payment-authorized", "e2", 2),
        event("payment-authorized", "e2", 2),
    ];
    service.deliver(&everything, true);
    assert_eq!(
        service.published(),
        transitions(&["confirmed", "delivered"])
    );
    let confirmed = service
        .bus
        .envelopes()
        .into_iter()
        .find(|e| e.event_type() == "order-confirmed")
        .expect("confirmed");
    let triggers: Vec<serde_json::Value> = confirmed.field("triggers").expect("triggers");
    assert_eq!(triggers.len(), 1);
}

#[test]
fn a_declined_payment_cancels_in_any_order() {
    let declined = [
        event("order-placed", "e1", 1),
        event("payment-declined", "e2", 2),
        event("order-accepted", "e3", 3),
    ];
    for order in permutations(&declined) {
        let service = Service::new();
        for event in &order {
            service.deliver(std::slice::from_ref(event), false);
        }
        assert_eq!(service.published(), transitions(&["cancelled"]));
    }
}

#[test]
fn an_order_whose_payment_never_comes_expires_once_and_a_paid_one_does_not() {
    let placed_at = 1_700_000_000_000;
    let deadline =
        placed_at / 1000 + i64::try_from(order_control::PAYMENT_DEADLINE.as_secs()).unwrap_or(0);

    let unpaid = Service::new();
    unpaid.deliver(&[event("order-placed", "e1", placed_at)], false);
    assert_eq!(unpaid.store.expire_before(deadline + 1), 1);
    unpaid.run_trigger(unpaid.store.take_stream_event(), true);
    assert_eq!(unpaid.published(), transitions(&["expired"]));

    let paid = Service::new();
    paid.deliver(
        &[
            event("order-placed", "e1", placed_at),
            event("payment-authorized", "e2", placed_at + 1),
        ],
        false,
    );
    assert_eq!(paid.store.expire_before(deadline + 1), 1);
    paid.run_trigger(paid.store.take_stream_event(), false);
    assert!(paid.published().is_empty(), "{:?}", paid.published());
}

#[test]
fn events_the_service_does_not_follow_are_filtered() {
    let service = Service::new();
    service.deliver(
        &[
            event("restaurant-menu-published", "e9", 1),
            event("order-placed", "e1", 2),
        ],
        false,
    );
    assert_eq!(
        service.store.items().len(),
        1,
        "only the order's event was collected"
    );
    assert!(service.published().is_empty());
}
