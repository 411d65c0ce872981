//! Extending lambda-stream from outside the core crate, with its public API alone:
//!
//! - [`S3NotificationSource`], a new [`Source`]: S3 event notifications delivered to Lambda
//!   through an SQS queue (the usual way to process uploads in order and with retries). Each
//!   message becomes an `object-created` / `object-removed` / ... event whose entity is the
//!   object, keyed by `bucket/key`; partial batch responses are SQS's, by message id.
//! - [`first_per_key`], a new step: keeps the first unit of each partition key in a batch and
//!   filters out the rest (S3 may notify twice for one upload).
//! - [`favorites`], a whole service on the example subsystem's hub: its template
//!   (`templates/favorites.yaml`) routes `order-placed` to its queue with a rule of its own,
//!   and the local hub runs it beside the Customer subsystem (`tests/hub.rs`).
//!
//! ```
//! use lambda_stream::{Pipeline, StreamHandler};
//! use lambda_stream_extension_example::{S3NotificationSource, first_per_key};
//!
//! let handler = StreamHandler::new(S3NotificationSource::new()).pipeline(
//!     Pipeline::new("uploads")
//!         .on_type("object-created")
//!         .step(first_per_key())
//!         .delivered(),
//! );
//! # let _ = handler;
//! ```

pub mod favorites;

use std::collections::HashSet;

use futures::StreamExt;
use lambda_stream::aws_lambda_events::event::sqs::SqsBatchResponse;
use lambda_stream::{
    DecodeError, Decoded, Envelope, Flow, HandlerError, RecordFacts, Records, RecordsEvent,
    Settled, Source, SourceRecord, SqsSource,
};
use serde::{Deserialize, Serialize};

/// The event type of S3's test notification (sent when a bucket's notifications are set up).
pub const S3_TEST_EVENT_TYPE: &str = "s3-test-event";

/// S3 event notifications delivered through SQS.
#[derive(Debug, Clone, Default)]
pub struct S3NotificationSource {
    /// The queue's own mechanics (message ids, batch responses) are SQS's.
    sqs: SqsSource,
}

impl S3NotificationSource {
    /// A source for a queue an S3 bucket notifies.
    pub fn new() -> Self {
        Self::default()
    }
}

/// The object a notification is about: the event's entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Object {
    /// The bucket.
    pub bucket: String,
    /// The object key (URL-decoded is the consumer's job, as S3 sends it encoded).
    pub key: String,
    /// Its size in bytes (absent for removals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Its ETag (absent for removals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e_tag: Option<String>,
}

/// One S3 notification record, as much of it as the source reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    event_name: String,
    #[serde(default)]
    event_time: Option<String>,
    s3: NotifiedS3,
}

#[derive(Deserialize)]
struct NotifiedS3 {
    bucket: NotifiedBucket,
    object: NotifiedObject,
}

#[derive(Deserialize)]
struct NotifiedBucket {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NotifiedObject {
    key: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    e_tag: Option<String>,
}

/// An SQS message body from S3: its records, or the test event.
#[derive(Deserialize)]
struct Body {
    #[serde(rename = "Records", default)]
    records: Vec<Notification>,
    #[serde(rename = "Event", default)]
    event: Option<String>,
}

/// `ObjectCreated:Put` becomes `object-created`.
fn event_type(event_name: &str) -> String {
    let kind = event_name.split(':').next().unwrap_or(event_name);
    let mut out = String::with_capacity(kind.len() + 4);
    for (i, c) in kind.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl Source for S3NotificationSource {
    type Event = RecordsEvent;
    type Response = SqsBatchResponse;

    fn name(&self) -> &'static str {
        "s3-via-sqs"
    }

    fn records(&self, event: RecordsEvent) -> Records {
        event.into_records()
    }

    fn decode(&self, record: SourceRecord<'_>) -> Result<Decoded, DecodeError> {
        let facts = self.facts(record);
        let id = facts.id.clone().unwrap_or_else(|| "?".into());
        let body = record
            .get_str(&["body"])
            .ok_or_else(|| DecodeError::new(format!("message {id} has no body")))?;
        let body: Body = serde_json::from_str(&body).map_err(|e| {
            DecodeError::new(format!("message {id} is not an S3 notification: {e}"))
        })?;
        let mut builder = match (body.records.as_slice(), body.event.as_deref()) {
            ([notification], _) => {
                let object = S3Object {
                    bucket: notification.s3.bucket.name.clone(),
                    key: notification.s3.object.key.clone(),
                    size: notification.s3.object.size,
                    e_tag: notification.s3.object.e_tag.clone(),
                };
                let time = notification
                    .event_time
                    .as_deref()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.timestamp_millis());
                let mut builder = Envelope::builder(event_type(&notification.event_name))
                    .partition_key(format!("{}/{}", object.bucket, object.key))
                    .entity("object", &object);
                if let Some(time) = time.or(facts.timestamp) {
                    builder = builder.timestamp(time);
                }
                builder
            }
            ([], Some("s3:TestEvent")) => Envelope::builder(S3_TEST_EVENT_TYPE),
            (records, _) => {
                return Err(DecodeError::new(format!(
                    "message {id} holds {} S3 records; one is expected",
                    records.len()
                )));
            }
        };
        builder = builder.id(&id);
        builder
            .build()
            .map(Decoded::Envelope)
            .map_err(|e| DecodeError::new(format!("message {id}: {e}")))
    }

    fn facts(&self, record: SourceRecord<'_>) -> RecordFacts {
        self.sqs.facts(record)
    }

    fn respond(&self, retry: &[SourceRecord<'_>]) -> Result<SqsBatchResponse, HandlerError> {
        self.sqs.respond(retry)
    }
}

/// A step that keeps the first unit of each partition key in a batch and filters out the
/// others. Written against [`Flow`] and [`Settled`], like any step of the core crate.
pub fn first_per_key<T: Send + 'static>() -> impl Fn(Flow<T>) -> Flow<T> + Send + Sync + 'static {
    |flow: Flow<T>| {
        let mut seen = HashSet::new();
        flow.map(move |item| {
            let uow = item?;
            if seen.insert(uow.partition_key().to_string()) {
                Ok(uow)
            } else {
                Err(Settled::filter_out(uow))
            }
        })
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_become_types() {
        assert_eq!(event_type("ObjectCreated:Put"), "object-created");
        assert_eq!(event_type("ObjectRemoved:Delete"), "object-removed");
        assert_eq!(event_type("ObjectRestore:Completed"), "object-restore");
    }
}
