//! The source and the step from outside the core crate, run by the core's handler.

use std::sync::Arc;

use lambda_stream::testing;
use lambda_stream::{
    Config, Envelope, InMemoryPublisher, Invocation, Pipeline, RecordState, StepError,
    StreamHandler,
};
use lambda_stream_extension_example::{S3NotificationSource, S3Object, first_per_key};
use serde_json::json;

fn notification(event_name: &str, key: &str) -> String {
    json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": "us-east-1",
        "eventTime": "2026-11-30T10:00:00.000Z",
        "eventName": event_name,
        "s3": {
            "s3SchemaVersion": "1.0",
            "bucket": {"name": "menus", "arn": "arn:aws:s3:::menus"},
            "object": {"key": key, "size": 1024, "eTag": "d41d8cd98f00b204e9800998ecf8427e"}
        }
    }]})
    .to_string()
}

#[tokio::test]
async fn s3_notifications_through_sqs_become_events_and_duplicates_are_filtered() {
    let bus = Arc::new(InMemoryPublisher::new());
    let faults = Arc::new(InMemoryPublisher::new());
    let pipeline = Pipeline::new("menu-uploads")
        .on_type("object-created")
        .step(first_per_key())
        .map(|uow| {
            let object: S3Object = uow.event.entity()?;
            if object.key.ends_with(".bad") {
                return Err(StepError::permanent(format!(
                    "{} is not a menu",
                    object.key
                )));
            }
            Envelope::builder("menu-uploaded")
                .id(uow.event.id())
                .timestamp(uow.event.timestamp())
                .partition_key(uow.partition_key())
                .entity("menu", &json!({"bucket": object.bucket, "key": object.key}))
                .build()
                .map_err(StepError::from)
        })
        .publish(bus.clone(), 2);
    let handler = StreamHandler::with_config(S3NotificationSource::new(), Config::default())
        .pipeline(pipeline)
        .faults_to(faults.clone());
    let event = testing::sqs_event_from_bodies(&[
        notification("ObjectCreated:Put", "r1/menu.json"),
        notification("ObjectCreated:Put", "r1/menu.json"),
        notification("ObjectRemoved:Delete", "r2/menu.json"),
        json!({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "menus"}).to_string(),
        "not json".to_string(),
        notification("ObjectCreated:Put", "r3/menu.bad"),
    ]);
    let report = handler.process(event, Invocation::local()).await;

    let states: Vec<RecordState> = report.records.iter().map(|r| r.pipelines[0]).collect();
    assert_eq!(
        states,
        vec![
            RecordState::Delivered,
            RecordState::Filtered, // the second notification for the same object
            RecordState::Filtered, // a removal
            RecordState::Filtered, // the test event
            RecordState::Fault,    // not a notification: a decode fault with the reason
            RecordState::Fault,    // the step refused it
        ]
    );
    let published = bus.envelopes();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].event_type(), "menu-uploaded");
    assert_eq!(published[0].partition_key(), Some("menus/r1/menu.json"));
    assert_eq!(published[0].timestamp(), 1_796_032_800_000);
    let reasons: Vec<String> = faults
        .envelopes()
        .iter()
        .map(|f| {
            f.field::<serde_json::Value>("err").expect("err")["message"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert!(
        reasons[0].contains("is not an S3 notification"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].contains("r3/menu.bad is not a menu"),
        "{reasons:?}"
    );
    // Nothing to retry: the response is SQS's, with no failures.
    let response = report.response.expect("a response");
    assert!(response.batch_item_failures.is_empty());
}

#[tokio::test]
async fn retries_are_reported_by_message_id_as_sqs_does() {
    let handler = StreamHandler::with_config(S3NotificationSource::new(), Config::default())
        .pipeline(Pipeline::new("p").on_type("object-created").map(|_| {
            Err::<lambda_stream::Delivered, _>(StepError::retryable("the menu store is down"))
        }));
    let event = testing::sqs_event_from_bodies(&[notification("ObjectCreated:Put", "a")]);
    let response = handler.handle(event).await.expect("a response");
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(
        response.batch_item_failures[0].item_identifier,
        "059f36b4-87a3-44ab-83d2-661975830a00"
    );
}
