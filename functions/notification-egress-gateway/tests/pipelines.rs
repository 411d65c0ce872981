//! The gateway's pipeline on Lambda-shaped events, without AWS, and with its topic and the
//! hub's bus in `moto_server`.

use std::sync::Arc;

use lambda_stream::testing;
use lambda_stream::{Config, Envelope, InMemoryPublisher, Invocation, RecordState};
use lambda_stream_aws::testing::{
    bus_to_queue, moto_endpoint, receive_bodies, sdk_config, topic_with_queue,
};
use lambda_stream_aws::{EventBridgeConfig, EventBridgePublisher, SnsConfig, SnsPublisher};
use notification_egress_gateway::{Notification, handler};
use serde_json::json;

fn event(id: &str, event_type: &str, entity: &str, body: serde_json::Value) -> Envelope {
    Envelope::builder(event_type)
        .id(id)
        .timestamp(1_764_000_000_000)
        .partition_key("o1")
        .entity(entity, &body)
        .build()
        .expect("valid")
}

#[tokio::test]
async fn order_and_payment_events_become_notifications() {
    let topic = Arc::new(InMemoryPublisher::new());
    let faults = Arc::new(InMemoryPublisher::new());
    let events = vec![
        event(
            "e1",
            "order-placed",
            "order",
            json!({"id": "o1", "customerId": "c1", "total": 20}),
        ),
        event(
            "e2",
            "payment-authorized",
            "payment",
            json!({"orderId": "o1", "customerId": "c1"}),
        ),
        event(
            "e3",
            "restaurant-updated",
            "restaurant",
            json!({"id": "r1"}),
        ),
        event(
            "e4",
            "payment-declined",
            "payment",
            json!({"orderId": "o2"}),
        ),
    ];
    let report = handler(topic.clone(), faults.clone(), Config::default())
        .process(testing::kinesis_event(&events), Invocation::local())
        .await;
    let states: Vec<RecordState> = report.records.iter().map(|r| r.pipelines[0]).collect();
    assert_eq!(
        states,
        vec![
            RecordState::Delivered,
            RecordState::Delivered,
            RecordState::Filtered,
            RecordState::Fault
        ]
    );
    let sent: Vec<Notification> = topic
        .published()
        .iter()
        .map(|e| serde_json::from_str(e.json()).expect("notification"))
        .collect();
    assert_eq!(
        sent,
        vec![
            Notification {
                customer_id: "c1".into(),
                order_id: "o1".into(),
                kind: "order-placed".into(),
                text: "We have your order o1.".into(),
            },
            Notification {
                customer_id: "c1".into(),
                order_id: "o1".into(),
                kind: "payment-authorized".into(),
                text: "Your payment for order o1 went through.".into(),
            },
        ]
    );
    assert_eq!(topic.published()[0].partition_key(), Some("c1"));
    // The payment without a customer is a fault with the record to resubmit.
    assert_eq!(faults.published().len(), 1);
    assert!(report.response.expect("ok").batch_item_failures.is_empty());
}

#[tokio::test]
async fn the_sample_event_is_a_kinesis_event_the_gateway_handles() {
    let event = testing::event_from_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/events/kinesis-order-placed.json"
    ));
    let topic = Arc::new(InMemoryPublisher::new());
    let report = handler(
        topic.clone(),
        Arc::new(InMemoryPublisher::new()),
        Config::default(),
    )
    .process(event, Invocation::local())
    .await;
    assert_eq!(report.summary.pipelines[0].delivered, 1);
    assert_eq!(topic.published().len(), 1);
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn notifications_reach_a_subscriber_of_the_topic_and_faults_reach_the_bus_in_moto() {
    let endpoint = moto_endpoint();
    let config = sdk_config(&endpoint).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    // The notification system's topic, with a queue of its own subscribed.
    let (topic_arn, subscriber) = topic_with_queue(&config, "notifications").await;
    let (bus, fault_queue) = bus_to_queue(&config, r#"{"detail-type": ["fault"]}"#).await;

    let topic = Arc::new(SnsPublisher::new(
        aws_sdk_sns::Client::new(&config),
        SnsConfig::new(&topic_arn),
    ));
    let faults = Arc::new(EventBridgePublisher::new(
        aws_sdk_eventbridge::Client::new(&config),
        EventBridgeConfig::new(&bus),
    ));
    let events = vec![
        event(
            "e1",
            "order-placed",
            "order",
            json!({"id": "o1", "customerId": "c1"}),
        ),
        event(
            "e2",
            "payment-declined",
            "payment",
            json!({"orderId": "o2"}),
        ),
    ];
    let report = handler(topic, faults, Config::default())
        .process(testing::kinesis_event(&events), Invocation::local())
        .await;
    assert_eq!(
        report.summary.pipelines[0].delivered, 1,
        "{:?}",
        report.summary
    );
    assert_eq!(report.summary.faults_published, 1, "{:?}", report.summary);

    let delivered = receive_bodies(&sqs, &subscriber, 1).await;
    assert_eq!(delivered.len(), 1);
    let envelope: serde_json::Value = serde_json::from_str(&delivered[0]).expect("SNS envelope");
    assert_eq!(
        envelope["MessageAttributes"]["type"]["Value"],
        "order-placed"
    );
    let message: Notification =
        serde_json::from_str(envelope["Message"].as_str().expect("message")).expect("notification");
    assert_eq!(message.order_id, "o1");
    assert_eq!(message.customer_id, "c1");

    let faulted = receive_bodies(&sqs, &fault_queue, 1).await;
    assert_eq!(faulted.len(), 1);
    let fault: serde_json::Value = serde_json::from_str(&faulted[0]).expect("EventBridge event");
    assert_eq!(fault["detail"]["type"], "fault");
    assert!(
        fault["detail"].to_string().contains("e2"),
        "the fault carries the record: {fault}"
    );
}
