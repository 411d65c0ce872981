//! The order BFF on the in-memory table: the GraphQL API with the caller from the token, the
//! listener's views (the same event twice, an older one after a newer), and the trigger on the
//! table's stream (commands become events, latched view writes do not).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use lambda_http::http::StatusCode;
use lambda_stream::testing;
use lambda_stream::{Config, Envelope, InMemoryPublisher, Invocation, RecordState};
use lambda_stream_aws::store::Store;
use lambda_stream_aws::store::memory::InMemoryStore;
use lambda_stream_aws::view::Views;
use order_bff::graphql::{BffSchema, Services, schema};
use serde_json::{Value, json};

/// One BFF over an in-memory table, with a clock the test moves.
struct Bff {
    store: Arc<InMemoryStore>,
    schema: BffSchema,
    clock: Arc<AtomicI64>,
    bus: Arc<InMemoryPublisher>,
}

impl Bff {
    fn new() -> Self {
        let store = Arc::new(InMemoryStore::new());
        let clock = Arc::new(AtomicI64::new(1_764_000_000_000));
        let now = Arc::clone(&clock);
        Self {
            schema: schema(Services {
                store: store.clone(),
                now: Box::new(move || now.fetch_add(1_000, Ordering::SeqCst)),
            }),
            store,
            clock,
            bus: Arc::new(InMemoryPublisher::new()),
        }
    }

    /// Runs the listener over `events` (a Kinesis batch).
    async fn listen(
        &self,
        events: &[Envelope],
    ) -> lambda_stream::Report<impl std::fmt::Debug + use<>> {
        let views = Views::new(self.store.clone());
        order_bff::listener(&views, self.bus.clone(), Config::default())
            .process(testing::kinesis_event(events), Invocation::local())
            .await
    }

    /// Runs the trigger over what the table's stream has.
    async fn trigger(&self) -> lambda_stream::Report<impl std::fmt::Debug + use<>> {
        order_bff::trigger(self.bus.clone(), Config::default())
            .process(self.store.take_stream_event(), Invocation::local())
            .await
    }

    /// A GraphQL call as the HTTP API delivers it, for `customer` (none: no token).
    async fn call(
        &self,
        customer: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (StatusCode, Value) {
        order_bff::api::call(&self.schema, customer, query, variables)
            .await
            .expect("a JSON answer")
    }

    async fn query(&self, customer: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.call(Some(customer), query, variables).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("errors").is_none(), "{body}");
        body["data"].clone()
    }
}

fn menu_updated(id: &str, timestamp: i64) -> Envelope {
    Envelope::builder("menu-updated")
        .id(id)
        .timestamp(timestamp)
        .partition_key("r1")
        .entity(
            "menu",
            &json!({"restaurantId": "r1", "restaurantName": "Trattoria",
                    "items": [{"id": "m1", "name": "Pizza", "price": 950},
                              {"id": "m2", "name": "Salad", "price": 600}]}),
        )
        .build()
        .expect("valid")
}

const PLACE: &str = "mutation($r: ID!) { placeOrder(input: {restaurantId: $r, items: [{menuItemId: \"m1\", quantity: 2}, {menuItemId: \"m2\", quantity: 1}]}) { id total status customerId } }";

#[tokio::test]
async fn a_customer_orders_from_a_menu_pays_and_sees_only_their_own() {
    let bff = Bff::new();
    bff.listen(&[menu_updated("e1", 1)]).await;
    let restaurants = bff
        .query(
            "c1",
            "{ restaurants { restaurantId restaurantName items { id price } } }",
            json!({}),
        )
        .await;
    assert_eq!(restaurants["restaurants"][0]["restaurantName"], "Trattoria");

    let placed = bff.query("c1", PLACE, json!({"r": "r1"})).await;
    let order = &placed["placeOrder"];
    assert_eq!(order["total"], 2 * 950 + 600);
    assert_eq!(order["status"], "placed");
    assert_eq!(order["customerId"], "c1", "from the token");
    let order_id = order["id"].as_str().expect("an id").to_string();

    let mine = bff.query("c1", "{ myOrders { id } }", json!({})).await;
    assert_eq!(mine["myOrders"][0]["id"], order_id.as_str());
    // Another customer cannot see it, cancel it or pay for it.
    let theirs = bff
        .query(
            "c2",
            "query($id: ID!) { order(id: $id) { id } }",
            json!({"id": order_id}),
        )
        .await;
    assert_eq!(theirs["order"], Value::Null);
    assert_eq!(
        bff.query("c2", "{ myOrders { id } }", json!({})).await["myOrders"],
        json!([])
    );
    let (_, refused) = bff
        .call(
            Some("c2"),
            "mutation($id: ID!) { cancelOrder(id: $id) { id } }",
            json!({"id": order_id}),
        )
        .await;
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("no such order")
    );

    let requested = bff
        .query(
            "c1",
            "mutation($o: ID!) { requestPayment(orderId: $o, paymentMethodToken: \"tok_visa\") { id status amount } }",
            json!({"o": order_id}),
        )
        .await;
    let request = &requested["requestPayment"];
    assert_eq!(request["status"], "requested", "returned at once");
    assert_eq!(request["amount"], 2500);
    let request_id = request["id"].as_str().expect("an id").to_string();
    let status = "query($id: ID!) { paymentRequest(id: $id) { status reason } }";
    let polled = bff.query("c1", status, json!({"id": request_id})).await;
    assert_eq!(polled["paymentRequest"]["status"], "requested");
    assert_eq!(
        bff.query("c2", status, json!({"id": request_id})).await["paymentRequest"],
        Value::Null
    );
}

#[tokio::test]
async fn a_request_without_a_token_or_with_a_bad_body_is_refused() {
    let bff = Bff::new();
    let (status, _) = bff.call(None, "{ myOrders { id } }", json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = bff.call(Some("c1"), "{ nonsense }", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["errors"].is_array(), "{body}");
    let (_, body) = bff.call(Some("c1"), PLACE, json!({"r": "closed"})).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("not taking orders")
    );
}

#[tokio::test]
async fn commands_become_events_and_the_listeners_writes_do_not() {
    let bff = Bff::new();
    bff.listen(&[menu_updated("e1", 1)]).await;
    let order_id = bff.query("c1", PLACE, json!({"r": "r1"})).await["placeOrder"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    bff.query(
        "c1",
        "mutation($o: ID!) { requestPayment(orderId: $o, paymentMethodToken: \"tok_visa\") { id } }",
        json!({"o": order_id}),
    )
    .await;
    bff.query(
        "c1",
        "mutation($id: ID!) { cancelOrder(id: $id) { status } }",
        json!({"id": order_id}),
    )
    .await;
    let report = bff.trigger().await;
    assert!(report.response.is_ok());
    let published: Vec<String> = bff
        .bus
        .envelopes()
        .iter()
        .map(|e| e.event_type().to_string())
        .collect();
    assert_eq!(
        published,
        vec!["order-placed", "payment-requested", "order-cancelled"]
    );
    let requested = bff
        .bus
        .envelopes()
        .into_iter()
        .find(|e| e.event_type() == "payment-requested")
        .expect("payment-requested");
    let payment: Value = requested.field("payment").expect("payment");
    assert_eq!(payment["paymentMethodToken"], "tok_visa");
    assert_eq!(payment["amount"], 2500);
    assert_eq!(requested.partition_key(), Some(order_id.as_str()));
    // The menu's change was latched: filtered, not an event.
    assert_eq!(report.summary.pipelines[0].filtered, 1);
}

#[tokio::test]
async fn the_listener_keeps_the_newest_outcome_whatever_the_order_and_repeats() {
    let bff = Bff::new();
    bff.store
        .put(
            json!({"pk": "p1", "sk": "payment-request", "discriminator": "payment-request",
                    "orderId": "o1", "customerId": "c1", "amount": 100, "currency": "EUR",
                    "status": "requested", "timestamp": 10}),
        )
        .await
        .expect("put");
    let outcome = |event_type: &str, id: &str, timestamp: i64| {
        Envelope::builder(event_type)
            .id(id)
            .timestamp(timestamp)
            .partition_key("o1")
            .entity(
                "payment",
                &json!({"id": "p1", "orderId": "o1", "reason": "card declined"}),
            )
            .build()
            .expect("valid")
    };
    let authorized = outcome("payment-authorized", "e2", 30);
    let report = bff
        .listen(&[
            authorized.clone(),
            authorized,
            outcome("payment-declined", "e1", 20),
        ])
        .await;
    let states: Vec<RecordState> = report.records.iter().map(|r| r.pipelines[1]).collect();
    assert_eq!(
        states,
        vec![
            RecordState::Delivered,
            RecordState::Duplicate,
            RecordState::Stale
        ]
    );
    let status = "query($id: ID!) { paymentRequest(id: $id) { status } }";
    let polled = bff.query("c1", status, json!({"id": "p1"})).await;
    assert_eq!(polled["paymentRequest"]["status"], "authorized");
    let _ = bff.clock.load(Ordering::SeqCst);
}
