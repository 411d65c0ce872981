//! The gateway on Lambda-shaped events, without AWS.

use std::sync::Arc;

use lambda_stream::testing;
use lambda_stream::{Config, Envelope, InMemoryPublisher, Invocation, RecordState, TagValue};
use order_egress_gateway::{OrderItemV1, OrderV1, handler};
use serde_json::json;

#[tokio::test]
async fn internal_orders_become_external_orders_without_private_fields() {
    let external = Arc::new(InMemoryPublisher::new());
    let faults = Arc::new(InMemoryPublisher::new());
    let placed = Envelope::builder("order-placed")
        .id("e1")
        .timestamp(7)
        .partition_key("o1")
        .entity(
            "order",
            &json!({"id": "o1", "restaurantId": "r7", "customerId": "c1",
                    "customerAddress": "1 Main St", "paymentMethodToken": "tok_visa",
                    "items": [{"menuItemId": "m1", "quantity": 2, "notes": "no onions"}],
                    "total": 2350, "currency": "EUR"}),
        )
        .build()
        .expect("valid");
    let other = Envelope::builder("order-viewed")
        .id("e2")
        .build()
        .expect("valid");
    let broken = Envelope::builder("order-cancelled")
        .id("e3")
        .entity("order", &json!({"id": "o2"}))
        .build()
        .expect("valid");
    let report = handler(external.clone(), faults.clone(), Config::default())
        .process(
            testing::kinesis_event(&[placed, other, broken]),
            Invocation::local(),
        )
        .await;
    let states: Vec<RecordState> = report.records.iter().map(|r| r.pipelines[0]).collect();
    assert_eq!(
        states,
        vec![
            RecordState::Delivered,
            RecordState::Filtered,
            RecordState::Fault
        ]
    );

    let shared = external.envelopes();
    assert_eq!(shared.len(), 1);
    assert_eq!(shared[0].event_type(), "order-placed");
    assert_eq!(shared[0].id(), "e1");
    assert_eq!(shared[0].timestamp(), 7);
    assert_eq!(shared[0].partition_key(), Some("o1"));
    assert_eq!(shared[0].tags().get("version"), Some(&TagValue::from(1)));
    let order: OrderV1 = shared[0].entity().expect("order");
    assert_eq!(
        order,
        OrderV1 {
            id: "o1".into(),
            restaurant_id: "r7".into(),
            items: vec![OrderItemV1 {
                menu_item_id: "m1".into(),
                quantity: 2
            }],
            total: Some(2350),
            currency: Some("EUR".into()),
        }
    );
    let published = external.published();
    let json = published[0].json();
    for private in [
        "customerId",
        "customerAddress",
        "paymentMethodToken",
        "notes",
    ] {
        assert!(
            !json.contains(private),
            "{private} must not leave the subsystem: {json}"
        );
    }
    assert_eq!(faults.published().len(), 1);
}

#[tokio::test]
async fn what_the_gateway_publishes_matches_the_committed_contract() {
    use customer_contracts::compat::validate;
    use customer_contracts::schema::committed_schema;
    let external = Arc::new(InMemoryPublisher::new());
    let events: Vec<Envelope> = ["order-placed", "order-cancelled"]
        .iter()
        .enumerate()
        .map(|(n, event_type)| {
            Envelope::builder(*event_type)
                .id(format!("e{n}"))
                .partition_key("o1")
                .entity(
                    "order",
                    &json!({"id": "o1", "restaurantId": "r7", "customerId": "c1",
                            "items": [{"menuItemId": "m1", "quantity": 1}]}),
                )
                .build()
                .expect("valid")
        })
        .collect();
    let report = handler(
        external.clone(),
        Arc::new(InMemoryPublisher::new()),
        Config::default(),
    )
    .process(testing::kinesis_event(&events), Invocation::local())
    .await;
    assert_eq!(report.summary.pipelines[0].delivered, 2);
    for entry in external.published() {
        let contract = customer_contracts::CONTRACTS
            .iter()
            .find(|c| c.event_type == entry.event_type())
            .expect("a contract for every published type");
        let schema = committed_schema(contract).expect("the committed schema");
        let event: serde_json::Value = serde_json::from_str(entry.json()).expect("JSON");
        assert_eq!(
            validate(&schema, &event),
            Vec::<String>::new(),
            "{}",
            entry.json()
        );
    }
}

#[tokio::test]
async fn the_sample_event_is_a_kinesis_event_the_gateway_handles() {
    let event = testing::event_from_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/events/kinesis-order-placed.json"
    ));
    let external = Arc::new(InMemoryPublisher::new());
    let report = handler(
        external.clone(),
        Arc::new(InMemoryPublisher::new()),
        Config::default(),
    )
    .process(event, Invocation::local())
    .await;
    assert_eq!(report.summary.pipelines[0].delivered, 1);
    assert_eq!(report.summary.pipelines[0].filtered, 1);
    assert_eq!(external.envelopes()[0].event_type(), "order-placed");
}
