//! Builders of Lambda-shaped events from envelopes, for tests (feature `testing`), like the
//! Node library's `toKinesisRecords`. Each writes the JSON Lambda would send and reads it the
//! way `lambda_runtime` does, so a test goes through the same decoding as production.

use std::sync::Arc;

use base64::Engine;
use serde_json::{Value, json};

mod stores;

pub use stores::{InMemoryClaimChecks, InMemoryDataKeys};

use crate::envelope::Envelope;
use crate::record::{Records, RecordsEvent, SingleEvent};
use crate::uow::{Invocation, Members, Uow};

const REGION: &str = "us-west-2";
const ACCOUNT: &str = "123456789012";

fn from_json<T: serde::de::DeserializeOwned>(value: Value, what: &str) -> T {
    // Written as text and read back, as the runtime reads the bytes Lambda sends.
    let text = value.to_string();
    match serde_json::from_str(&text) {
        Ok(event) => event,
        // The JSON is built here in the shape the types expect; failing is a bug in this module.
        Err(e) => panic!("test builder made an invalid {what}: {e}"),
    }
}

/// A unit of work for `event`, as a pipeline's first step receives it: for unit tests of a
/// step's function (`map`, `filter`, ...) without a handler. Its record is the event itself,
/// as a raw record.
pub fn uow(event: Envelope) -> Uow<()> {
    let record = serde_json::value::to_raw_value(&json!({
        "id": event.id(),
        "timestamp": event.timestamp(),
        "body": event.to_json(),
    }))
    .unwrap_or_else(|e| panic!("test unit: {e}"));
    Uow {
        records: Arc::new(Records::new(vec![record])),
        position: 0,
        event: Arc::new(event),
        pipeline: Arc::from("test"),
        invocation: Arc::new(Invocation::local()),
        value: (),
        members: Members::One(0),
        record_key: None,
    }
}

/// A Lambda event read from a JSON file, such as a function's sample in `events/`, with the
/// same types production uses (`KinesisEvent`, `SqsEvent`, ...).
///
/// # Panics
/// When the file cannot be read or is not that event, naming the file: it is a fixture.
pub fn event_from_file<T: serde::de::DeserializeOwned>(path: impl AsRef<std::path::Path>) -> T {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read the sample event {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{} is not a {}: {e}",
            path.display(),
            std::any::type_name::<T>()
        )
    })
}

/// Runs one pipeline over `events`, delivered as a Kinesis batch (one record each), with
/// default settings, its fault events published in memory (they are `report.faults`): the
/// shortest way to see what a pipeline does with some events, in a test or a doc example.
///
/// ```
/// use lambda_stream::{Envelope, Pipeline, RecordState, testing};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pipeline = Pipeline::new("things").on_type("thing-*");
/// let report = testing::run_pipeline(
///     pipeline,
///     &[Envelope::builder("thing-created").build()?, Envelope::builder("other").build()?],
/// )
/// .await;
/// assert_eq!(report.records[0].pipelines, [RecordState::Delivered]);
/// assert_eq!(report.records[1].pipelines, [RecordState::Filtered]);
/// # Ok(())
/// # }
/// ```
pub async fn run_pipeline<T: Send + 'static>(
    pipeline: crate::Pipeline<T>,
    events: &[Envelope],
) -> crate::Report<aws_lambda_events::event::streams::KinesisEventResponse> {
    crate::StreamHandler::new(crate::KinesisSource::new())
        .pipeline(pipeline.delivered())
        .faults_to(Arc::new(crate::InMemoryPublisher::new()))
        .process(kinesis_event(events), Invocation::local())
        .await
}

/// A Kinesis sequence number like AWS's (56 digits), increasing with `n`.
pub fn sequence_number(n: usize) -> String {
    format!("49590338271490256608559692538361571095921575989136{n:06}")
}

/// A Kinesis event from envelopes, one record each, on shard `shardId-000000000000`.
pub fn kinesis_event(events: &[Envelope]) -> RecordsEvent {
    let payloads: Vec<(String, Vec<u8>)> = events
        .iter()
        .map(|e| {
            (
                e.partition_key().unwrap_or(e.id()).to_string(),
                e.to_json().into_bytes(),
            )
        })
        .collect();
    kinesis_event_from_payloads(&payloads)
}

/// A Kinesis event from raw payloads with their partition keys (for bad data and raw
/// sources).
pub fn kinesis_event_from_payloads(payloads: &[(String, Vec<u8>)]) -> RecordsEvent {
    let engine = base64::engine::general_purpose::STANDARD;
    let records: Vec<Value> = payloads
        .iter()
        .enumerate()
        .map(|(i, (key, data))| {
            let seq = sequence_number(i + 1);
            json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": key,
                    "sequenceNumber": seq,
                    "data": engine.encode(data),
                    "approximateArrivalTimestamp": 1_545_084_650.987,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("shardId-000000000000:{seq}"),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": format!("arn:aws:iam::{ACCOUNT}:role/lambda-role"),
                "awsRegion": REGION,
                "eventSourceARN": format!("arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/lambda-stream"),
            })
        })
        .collect();
    from_json(json!({ "Records": records }), "Kinesis event")
}

/// An SQS event whose bodies are the envelopes.
pub fn sqs_event(events: &[Envelope]) -> RecordsEvent {
    let bodies: Vec<String> = events.iter().map(Envelope::to_json).collect();
    sqs_event_from_bodies(&bodies)
}

/// An SQS event from message bodies.
pub fn sqs_event_from_bodies(bodies: &[String]) -> RecordsEvent {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            json!({
                "messageId": format!("059f36b4-87a3-44ab-83d2-661975830a{i:02}"),
                "receiptHandle": format!("AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a{i}"),
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1545082649183",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1545082649185",
                },
                "messageAttributes": {},
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:{REGION}:{ACCOUNT}:my-queue"),
                "awsRegion": REGION,
            })
        })
        .collect();
    from_json(json!({ "Records": records }), "SQS event")
}

/// The JSON an SNS topic delivers to an SQS queue (no raw delivery) for `message`.
pub fn sns_notification(message: &str, n: usize) -> String {
    json!({
        "Type": "Notification",
        "MessageId": format!("95df01b4-ee98-5cb9-9903-4c221d41eb{n:02}"),
        "TopicArn": format!("arn:aws:sns:{REGION}:{ACCOUNT}:external-topic"),
        "Message": message,
        "Timestamp": "2019-01-02T12:45:07.000Z",
        "SignatureVersion": "1",
        "Signature": "tcc6faL2yUC6dgZdmrwh1Y4cGa/ebXEkAi6RibDsvpi+tE/1+82j...65r==",
        "SigningCertURL": "https://sns.us-west-2.amazonaws.com/SimpleNotificationService.pem",
        "UnsubscribeURL": "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe",
    })
    .to_string()
}

/// An SQS event whose bodies are SNS notifications carrying the envelopes.
pub fn sqs_sns_event(events: &[Envelope]) -> RecordsEvent {
    let bodies: Vec<String> = events
        .iter()
        .enumerate()
        .map(|(i, e)| sns_notification(&e.to_json(), i))
        .collect();
    sqs_event_from_bodies(&bodies)
}

/// An SNS event (delivered to Lambda directly) from messages.
pub fn sns_event_from_messages(messages: &[String]) -> RecordsEvent {
    let records: Vec<Value> = messages
        .iter()
        .enumerate()
        .map(|(i, message)| {
            json!({
                "EventVersion": "1.0",
                "EventSubscriptionArn": format!("arn:aws:sns:{REGION}:{ACCOUNT}:sns-lambda:21be56ed-a058-49f5-8c98-aedd2564c486"),
                "EventSource": "aws:sns",
                "Sns": {
                    "SignatureVersion": "1",
                    "Timestamp": "2019-01-02T12:45:07.000Z",
                    "Signature": "tcc6faL2yUC6dgZdmrwh1Y4cGa/ebXEkAi6RibDsvpi+tE/1+82j...65r==",
                    "SigningCertUrl": "https://sns.us-west-2.amazonaws.com/SimpleNotificationService.pem",
                    "MessageId": format!("95df01b4-ee98-5cb9-9903-4c221d41eb{i:02}"),
                    "Message": message,
                    "MessageAttributes": {},
                    "Type": "Notification",
                    "UnsubscribeUrl": "https://sns.us-west-2.amazonaws.com/?Action=Unsubscribe",
                    "TopicArn": format!("arn:aws:sns:{REGION}:{ACCOUNT}:sns-lambda"),
                    "Subject": null,
                }
            })
        })
        .collect();
    from_json(json!({ "Records": records }), "SNS event")
}

/// An SNS event carrying the envelopes.
pub fn sns_event(events: &[Envelope]) -> RecordsEvent {
    let messages: Vec<String> = events.iter().map(Envelope::to_json).collect();
    sns_event_from_messages(&messages)
}

/// An EventBridge event whose `detail` is the envelope (as a bus rule without `InputPath`
/// delivers it).
pub fn eventbridge_event(event: &Envelope, source: &str) -> SingleEvent {
    let detail: Value = serde_json::from_str(&event.to_json()).unwrap_or(Value::Null);
    from_json(
        json!({
            "version": "0",
            "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": event.event_type(),
            "source": source,
            "account": ACCOUNT,
            "time": "2019-01-02T12:45:07Z",
            "region": REGION,
            "resources": [],
            "detail": detail,
        }),
        "EventBridge event",
    )
}

/// One change in a DynamoDB table, as plain JSON items: [`Change::insert`],
/// [`Change::modify`], [`Change::remove`], then [`Change::by_ttl`] for a removal by
/// DynamoDB's TTL and [`Change::at`] for the change's own time.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Change {
    /// `INSERT`, `MODIFY` or `REMOVE`.
    pub event_name: &'static str,
    /// The key attributes.
    pub keys: Value,
    /// The item after the change.
    pub new_image: Option<Value>,
    /// The item before the change.
    pub old_image: Option<Value>,
    /// The stream record's `userIdentity` (set by [`Change::by_ttl`]).
    pub user_identity: Option<Value>,
    /// When the change happened, in epoch seconds (default: one second after the change
    /// before it in the event).
    pub time: Option<f64>,
}

impl Change {
    /// An item written for the first time.
    pub fn insert(keys: Value, new_image: Value) -> Self {
        Self::new("INSERT", keys, Some(new_image), None)
    }

    /// An item changed from `old_image` to `new_image`.
    pub fn modify(keys: Value, new_image: Value, old_image: Value) -> Self {
        Self::new("MODIFY", keys, Some(new_image), Some(old_image))
    }

    /// An item deleted.
    pub fn remove(keys: Value, old_image: Value) -> Self {
        Self::new("REMOVE", keys, None, Some(old_image))
    }

    /// Any change, images as given.
    pub fn new(
        event_name: &'static str,
        keys: Value,
        new_image: Option<Value>,
        old_image: Option<Value>,
    ) -> Self {
        Self {
            event_name,
            keys,
            new_image,
            old_image,
            user_identity: None,
            time: None,
        }
    }

    /// Made by DynamoDB's TTL (the service principal in the user identity), not a user.
    #[must_use]
    pub fn by_ttl(mut self) -> Self {
        self.user_identity =
            Some(json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"}));
        self
    }

    /// Happened at `epoch_seconds`.
    #[must_use]
    pub fn at(mut self, epoch_seconds: f64) -> Self {
        self.time = Some(epoch_seconds);
        self
    }
}

fn to_dynamo(value: &Value) -> Value {
    match serde_dynamo::to_item::<_, serde_dynamo::Item>(value) {
        Ok(item) => match serde_json::to_value(item) {
            Ok(json) => json,
            Err(e) => panic!("test builder could not write a DynamoDB item: {e}"),
        },
        Err(e) => panic!("test builder needs a JSON object for a DynamoDB item: {e}"),
    }
}

/// A DynamoDB stream event (`NEW_AND_OLD_IMAGES`) from changes.
pub fn dynamodb_event(changes: &[Change]) -> RecordsEvent {
    let records: Vec<Value> = changes
        .iter()
        .enumerate()
        .map(|(i, change)| {
            // Each change a second after the one before, unless it says when.
            let time = change.time.unwrap_or(1_545_084_650.0 + i as f64);
            let mut record = json!({
                "ApproximateCreationDateTime": time,
                "Keys": to_dynamo(&change.keys),
                "SequenceNumber": format!("{}", 111 + i * 111),
                "SizeBytes": 26,
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            });
            if let Some(new) = &change.new_image {
                record["NewImage"] = to_dynamo(new);
            }
            if let Some(old) = &change.old_image {
                record["OldImage"] = to_dynamo(old);
            }
            let mut record = json!({
                "eventID": format!("c4ca4238a0b923820dcc509a6f75849{i}"),
                "eventName": change.event_name,
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": REGION,
                "dynamodb": record,
                "eventSourceARN": format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/entities/stream/2015-06-27T00:48:05.899"),
            });
            if let Some(identity) = &change.user_identity {
                record["userIdentity"] = identity.clone();
            }
            record
        })
        .collect();
    from_json(json!({ "Records": records }), "DynamoDB stream event")
}
