//! The gateway on Lambda-shaped events: messages built here, and a message exactly as
//! moto_server delivers it from an SNS topic to a subscribed queue, published to a bus in moto.

use std::sync::Arc;

use delivery_ingress_gateway::{Delivery, handler};
use lambda_stream::testing;
use lambda_stream::{Config, Envelope, InMemoryPublisher, Invocation, RecordState};
use lambda_stream_aws::testing::{
    bus_to_queue, moto_endpoint, receive_bodies, sdk_config, topic_with_queue,
};
use lambda_stream_aws::{EventBridgeConfig, EventBridgePublisher};
use serde_json::{Value, json};

#[tokio::test]
async fn delivery_messages_become_internal_events() {
    let bus = Arc::new(InMemoryPublisher::new());
    let bodies =
        vec![
        testing::sns_notification(
            &json!({"orderId": "o1", "status": "Picked Up", "courier": "Ana", "vehicle": "bike"})
                .to_string(),
            0,
        ),
        testing::sns_notification(&json!({"orderId": "o1", "status": "delivered"}).to_string(), 1),
        testing::sns_notification(&json!({"status": "delivered"}).to_string(), 2),
        testing::sns_notification("not json at all", 3),
    ];
    let report = handler(bus.clone(), Config::default())
        .process(testing::sqs_event_from_bodies(&bodies), Invocation::local())
        .await;
    let states: Vec<RecordState> = report.records.iter().map(|r| r.pipelines[0]).collect();
    assert_eq!(
        states,
        vec![
            RecordState::Delivered,
            RecordState::Delivered,
            RecordState::Fault,
            RecordState::Fault
        ]
    );
    let events: Vec<_> = bus
        .envelopes()
        .into_iter()
        .filter(|e| e.event_type() != "fault")
        .collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].event_type(), "delivery-picked-up");
    assert_eq!(events[0].partition_key(), Some("o1"));
    assert_eq!(
        events[0].id(),
        "95df01b4-ee98-5cb9-9903-4c221d41eb00",
        "the SNS message id"
    );
    let delivery: Delivery = events[0].entity().expect("delivery");
    assert_eq!(delivery.courier.as_deref(), Some("Ana"));
    assert_eq!(events[1].event_type(), "delivery-delivered");
    let faults = bus
        .envelopes()
        .into_iter()
        .filter(|e| e.event_type() == "fault")
        .count();
    assert_eq!(faults, 2);
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn a_message_as_moto_delivers_it_from_the_topic_reaches_the_bus() {
    let endpoint = moto_endpoint();
    let config = sdk_config(&endpoint).await;
    let sns = aws_sdk_sns::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let (topic_arn, queue_url) = topic_with_queue(&config, "delivery").await;
    // The delivery system publishes a status.
    sns.publish()
        .topic_arn(&topic_arn)
        .message(json!({"orderId": "o9", "status": "assigned", "courier": "Bo"}).to_string())
        .send()
        .await
        .expect("publish");
    let received = sqs
        .receive_message()
        .queue_url(&queue_url)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("receive");
    let message = received.messages().first().expect("a message").clone();

    // The queue's message as Lambda hands it over.
    let record = json!({
        "messageId": message.message_id(),
        "receiptHandle": message.receipt_handle(),
        "body": message.body(),
        "attributes": message.attributes().map(|a| {
            a.iter().map(|(k, v)| (k.as_str().to_string(), Value::String(v.clone()))).collect::<serde_json::Map<_, _>>()
        }),
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:delivery-ingress",
        "awsRegion": "us-east-1",
    });
    let event = serde_json::from_value(json!({"Records": [record]})).expect("SQS event");

    // The internal event goes to the hub's bus (moto), and a rule hands it to a queue.
    let (bus_name, bus_queue) =
        bus_to_queue(&config, r#"{"detail-type": [{"prefix": "delivery-"}]}"#).await;
    let bus = Arc::new(EventBridgePublisher::new(
        aws_sdk_eventbridge::Client::new(&config),
        EventBridgeConfig::new(&bus_name),
    ));
    let report = handler(bus, Config::default())
        .process(event, Invocation::local())
        .await;
    assert_eq!(
        report.records[0].pipelines[0],
        RecordState::Delivered,
        "{:?}",
        report.records
    );
    let published = receive_bodies(&sqs, &bus_queue, 1).await;
    assert_eq!(published.len(), 1);
    let event: Value = serde_json::from_str(&published[0]).expect("an EventBridge event");
    assert_eq!(event["detail-type"], "delivery-assigned");
    let internal = Envelope::from_slice(event["detail"].to_string().as_bytes()).expect("envelope");
    assert_eq!(internal.event_type(), "delivery-assigned");
    assert_eq!(internal.partition_key(), Some("o9"));
    let delivery: Delivery = internal.entity().expect("delivery");
    assert_eq!(delivery.courier.as_deref(), Some("Bo"));
}

#[tokio::test]
async fn the_sample_event_is_an_sqs_event_the_gateway_handles() {
    let event = testing::event_from_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/events/sqs-sns-delivery-status.json"
    ));
    let bus = Arc::new(InMemoryPublisher::new());
    let report = handler(bus.clone(), Config::default())
        .process(event, Invocation::local())
        .await;
    assert_eq!(report.summary.pipelines[0].delivered, 1);
    assert_eq!(bus.envelopes()[0].event_type(), "delivery-picked-up");
}
