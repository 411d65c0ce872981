//! The service on DynamoDB and EventBridge in `moto_server`: the listener's view in a real
//! table, the API on it, and the trigger fed the table's own stream, publishing to a real bus.
//! `#[ignore]`d for a plain `cargo test` (so it never shows as passed without running); with
//! moto running, `LAMBDA_STREAM_MOTO_ENDPOINT=http://127.0.0.1:PORT cargo test -- --include-ignored`.

use lambda_stream::testing::kinesis_event;
use lambda_stream::{Envelope, Invocation, RecordState};
use lambda_stream_aws::AwsPorts;
use lambda_stream_aws::testing::{bus_to_queue, moto_endpoint, new_streamed_table, receive_all, sdk_config, table_stream_event};
use serde_json::json;

use {{crate}}::api::{answer, request};
use {{crate}}::{api, listener, trigger};

#[tokio::test]
#[ignore = "needs moto_server: set LAMBDA_STREAM_MOTO_ENDPOINT (see the README)"]
async fn the_service_works_on_dynamodb_and_eventbridge() {
    let config = sdk_config(&moto_endpoint()).await;
    let table = new_streamed_table(&config, &[]).await.table().to_string();
    let (bus, queue) = bus_to_queue(&config, r#"{"detail-type": ["item-noted"]}"#).await;
    let env = |name: &str| match name {
        {{crate}}::TABLE_VARIABLE => Some(table.clone()),
        "BUS_NAME" => Some(bus.clone()),
        _ => None,
    };
    let ports = AwsPorts::new(config.clone());

    let published = Envelope::builder(listener::ITEM_PUBLISHED)
        .id("e1")
        .timestamp(1_764_547_200_000)
        .partition_key("i1")
        .entity("item", &json!({"id": "i1", "name": "Lamp"}))
        .build()
        .expect("valid");
    let report = listener::build(&env, &ports)
        .expect("the listener builds")
        .process(kinesis_event(&[published]), Invocation::local())
        .await;
    assert_eq!(report.records[0].pipelines[0], RecordState::Delivered);

    let api = api::build(&env, &ports).expect("the API builds");
    let put = request("PUT", "/items/i1/note", Some("u1"), r#"{"text": "for the hall"}"#).expect("a request");
    assert_eq!(answer(&api.handle(put).await).0, 200);
    let get = request("GET", "/items/i1", Some("u1"), "").expect("a request");
    let (status, body) = answer(&api.handle(get).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["item"]["name"], "Lamp");
    assert_eq!(body["note"], "for the hall");

    let changes = table_stream_event(&config, &table).await;
    let report = trigger::build(&env, &ports)
        .expect("the trigger builds")
        .process(changes, Invocation::local())
        .await;
    assert!(report.records.iter().all(|r| r.pipelines.iter().all(|s| *s != RecordState::Fault && *s != RecordState::Retry)));
    let sqs = aws_sdk_sqs::Client::new(&config);
    let received = receive_all(&sqs, &queue).await;
    assert_eq!(received.len(), 1, "only the note, not the view: {received:?}");
    assert_eq!(received[0]["detail"]["note"]["text"], "for the hall");
}
