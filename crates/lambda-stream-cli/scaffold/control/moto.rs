//! The service on DynamoDB and EventBridge in `moto_server`: the listener collects into a real
//! table (with its correlation index), the trigger is fed the table's own stream and publishes
//! to a real bus, once. `#[ignore]`d for a plain `cargo test` (so it never shows as passed
//! without running); with moto running,
//! `LAMBDA_STREAM_MOTO_ENDPOINT=http://127.0.0.1:PORT cargo test -- --include-ignored`.

use lambda_stream::testing::kinesis_event;
use lambda_stream::{Envelope, Invocation, RecordState};
use lambda_stream_aws::AwsPorts;
use lambda_stream_aws::testing::{bus_to_queue, moto_endpoint, receive_all, sdk_config, table_stream_event};
use lambda_stream_aws::event_store::DATA_INDEX;

use {{crate}}::{listener, trigger};

fn event(kind: &str, id: &str) -> Envelope {
    Envelope::builder(kind)
        .id(id)
        .timestamp(1_764_547_200_000)
        .partition_key("i1")
        .build()
        .expect("valid")
}

#[tokio::test]
#[ignore = "needs moto_server: set LAMBDA_STREAM_MOTO_ENDPOINT (see the README)"]
async fn the_service_works_on_dynamodb_and_eventbridge() {
    let config = sdk_config(&moto_endpoint()).await;
    let table = lambda_stream_aws::testing::new_streamed_table(&config, &[(DATA_INDEX, "data", "sk")])
        .await
        .table()
        .to_string();
    let (bus, queue) = bus_to_queue(&config, r#"{"detail-type": ["item-completed"]}"#).await;
    let env = |name: &str| match name {
        {{crate}}::TABLE_VARIABLE => Some(table.clone()),
        "BUS_NAME" => Some(bus.clone()),
        _ => None,
    };
    let ports = AwsPorts::new(config.clone());

    let report = listener::build(&env, &ports)
        .expect("the listener builds")
        .process(
            kinesis_event(&[event("item-requested", "e1"), event("item-approved", "e2")]),
            Invocation::local(),
        )
        .await;
    assert!(report.records.iter().all(|r| r.pipelines[0] == RecordState::Delivered));

    let trigger = trigger::build(&env, &ports).expect("the trigger builds");
    let changes = table_stream_event(&config, &table).await;
    trigger.process(changes.clone(), Invocation::local()).await;
    // The same changes again, as Lambda redelivers them: nothing published twice.
    trigger.process(changes, Invocation::local()).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let received = receive_all(&sqs, &queue).await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["detail"]["id"], "i1.completed");
}
