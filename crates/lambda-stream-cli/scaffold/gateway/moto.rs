//! The gateway on EventBridge in `moto_server`: what it publishes for an external event
//! reaches a real bus. `#[ignore]`d for a plain `cargo test` (so it never shows as passed
//! without running); with moto running,
//! `LAMBDA_STREAM_MOTO_ENDPOINT=http://127.0.0.1:PORT cargo test -- --include-ignored`.

use lambda_stream::testing::kinesis_event;
use lambda_stream::{Envelope, Invocation, RecordState};
use lambda_stream_aws::AwsPorts;
use lambda_stream_aws::testing::{bus_to_queue, moto_endpoint, receive_all, sdk_config};
use serde_json::json;

use {{crate}}::listener;

#[tokio::test]
#[ignore = "needs moto_server: set LAMBDA_STREAM_MOTO_ENDPOINT (see the README)"]
async fn the_gateway_publishes_to_eventbridge() {
    let config = sdk_config(&moto_endpoint()).await;
    let (bus, queue) = bus_to_queue(&config, r#"{"detail-type": ["item-received"]}"#).await;
    let env = |name: &str| (name == "BUS_NAME").then(|| bus.clone());
    let published = Envelope::builder(listener::ITEM_PUBLISHED)
        .id("e1")
        .timestamp(1_764_547_200_000)
        .entity("item", &json!({"id": "i1", "name": "Lamp"}))
        .build()
        .expect("valid");
    let report = listener::build(&env, &AwsPorts::new(config.clone()))
        .expect("the gateway builds")
        .process(kinesis_event(&[published]), Invocation::local())
        .await;
    assert_eq!(report.records[0].pipelines[0], RecordState::Delivered);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let received = receive_all(&sqs, &queue).await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["detail"]["item"]["name"], "Lamp");
    assert_eq!(received[0]["detail"]["partitionKey"], "i1");
}
