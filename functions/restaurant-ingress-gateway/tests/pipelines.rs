//! The gateway on Lambda-shaped events from the ingress stream, without AWS.

use std::sync::Arc;

use lambda_stream::testing;
use lambda_stream::{Config, Envelope, InMemoryPublisher, Invocation, RecordState};
use restaurant_ingress_gateway::{Menu, MenuItem, handler};
use serde_json::json;

fn external(id: &str, event_type: &str, restaurant: serde_json::Value) -> Envelope {
    Envelope::builder(event_type)
        .id(id)
        .timestamp(9)
        .partition_key("r7")
        .tag("source", "restaurant-egress-gateway")
        .entity("restaurant", &restaurant)
        .build()
        .expect("valid")
}

#[tokio::test]
async fn external_restaurant_events_become_internal_events_read_tolerantly() {
    let bus = Arc::new(InMemoryPublisher::new());
    let events = vec![
        external(
            "x1",
            "restaurant-menu-published",
            json!({"id": "r7", "name": "Luigi's", "cuisine": "italian",
                   "menu": [{"id": "m1", "name": "Margherita", "price": 900, "allergens": ["gluten"]},
                            {"id": "m2", "name": "Calzone", "price": 1100, "available": false},
                            {"id": "m3", "price": 300}]}),
        ),
        external(
            "x2",
            "restaurant-rating-changed",
            json!({"id": "r7", "rating": 4.5}),
        ),
        external(
            "x3",
            "restaurant-closed",
            json!({"id": "r7", "reason": "holiday"}),
        ),
        external("x4", "restaurant-menu-published", json!({"name": "no id"})),
    ];
    let report = handler(bus.clone(), Config::default())
        .process(testing::kinesis_event(&events), Invocation::local())
        .await;
    let states: Vec<RecordState> = report.records.iter().map(|r| r.pipelines[0]).collect();
    assert_eq!(
        states,
        vec![
            RecordState::Delivered,
            RecordState::Filtered,
            RecordState::Delivered,
            RecordState::Fault
        ],
        "unknown types are filtered, malformed known ones are faults"
    );
    let internal: Vec<Envelope> = bus
        .envelopes()
        .into_iter()
        .filter(|e| e.event_type() != "fault")
        .collect();
    assert_eq!(internal.len(), 2);
    assert_eq!(internal[0].event_type(), "menu-updated");
    assert_eq!(internal[0].id(), "x1");
    assert_eq!(internal[0].partition_key(), Some("r7"));
    let menu: Menu = internal[0].entity().expect("menu");
    assert_eq!(
        menu,
        Menu {
            restaurant_id: "r7".into(),
            restaurant_name: "Luigi's".into(),
            items: vec![
                MenuItem {
                    id: "m1".into(),
                    name: "Margherita".into(),
                    price: 900
                },
                MenuItem {
                    id: "m3".into(),
                    name: String::new(),
                    price: 300
                },
            ],
        }
    );
    assert_eq!(internal[1].event_type(), "restaurant-unavailable");

    // The two events read were valid under the consumed contract; the faulted one was not.
    use customer_contracts::compat::validate;
    use customer_contracts::restaurant::{RESTAURANT_CLOSED, RESTAURANT_MENU_PUBLISHED};
    use customer_contracts::schema::committed_schema;
    let verdicts: Vec<bool> = [
        (&events[0], RESTAURANT_MENU_PUBLISHED),
        (&events[2], RESTAURANT_CLOSED),
        (&events[3], RESTAURANT_MENU_PUBLISHED),
    ]
    .iter()
    .map(|(event, contract)| {
        let schema = committed_schema(contract).expect("committed");
        let json: serde_json::Value = serde_json::from_str(&event.to_json()).expect("JSON");
        validate(&schema, &json).is_empty()
    })
    .collect();
    assert_eq!(verdicts, vec![true, true, false]);
}

#[tokio::test]
async fn the_sample_event_is_a_kinesis_event_the_gateway_handles() {
    let event = testing::event_from_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/events/kinesis-restaurant-menu-published.json"
    ));
    let bus = Arc::new(InMemoryPublisher::new());
    let report = handler(bus.clone(), Config::default())
        .process(event, Invocation::local())
        .await;
    assert_eq!(report.summary.pipelines[0].delivered, 1);
    assert_eq!(report.summary.pipelines[0].filtered, 1);
    assert_eq!(bus.envelopes()[0].event_type(), "menu-updated");
}

#[tokio::test]
async fn an_order_the_restaurant_accepted_becomes_order_accepted_keyed_by_the_order() {
    let bus = Arc::new(InMemoryPublisher::new());
    let accepted = |id: &str, acceptance: serde_json::Value| {
        Envelope::builder("order-accepted")
            .id(id)
            .timestamp(11)
            .partition_key("r7")
            .tag("source", "restaurant-order-egress-gateway")
            .entity("acceptance", &acceptance)
            .build()
            .expect("valid")
    };
    let events = vec![
        accepted(
            "a1",
            json!({"orderId": "o-1", "restaurantId": "r7", "readyAt": 99, "extra": 1}),
        ),
        accepted("a2", json!({"restaurantId": "r7"})),
    ];
    let report = handler(bus.clone(), Config::default())
        .process(testing::kinesis_event(&events), Invocation::local())
        .await;
    let states: Vec<RecordState> = report.records.iter().map(|r| r.pipelines[0]).collect();
    assert_eq!(states, vec![RecordState::Delivered, RecordState::Fault]);
    let internal: Vec<Envelope> = bus
        .envelopes()
        .into_iter()
        .filter(|e| e.event_type() != "fault")
        .collect();
    assert_eq!(internal.len(), 1);
    assert_eq!(internal[0].event_type(), "order-accepted");
    assert_eq!(internal[0].id(), "a1");
    assert_eq!(
        internal[0].partition_key(),
        Some("o-1"),
        "the order's key, not the restaurant's"
    );
    let acceptance: customer_contracts::restaurant::OrderAcceptanceV1 =
        internal[0].field("acceptance").expect("acceptance");
    assert_eq!(acceptance.order_id, "o-1");
    assert_eq!(acceptance.ready_at, Some(99));

    use customer_contracts::compat::validate;
    use customer_contracts::restaurant::ORDER_ACCEPTED;
    use customer_contracts::schema::committed_schema;
    let schema = committed_schema(&ORDER_ACCEPTED).expect("committed");
    let verdicts: Vec<bool> = events
        .iter()
        .map(|event| {
            let json: serde_json::Value = serde_json::from_str(&event.to_json()).expect("JSON");
            validate(&schema, &json).is_empty()
        })
        .collect();
    assert_eq!(verdicts, vec![true, false]);
}
