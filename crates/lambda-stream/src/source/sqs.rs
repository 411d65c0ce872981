//! SQS: the message body is an envelope, or an SNS notification whose `Message` is (a queue
//! subscribed to a topic without raw delivery). Failed messages are reported by message id.

use aws_lambda_events::event::sqs::SqsBatchResponse;

use super::{Decoded, Payload, RecordsEvent, Source, decode_payload, label, rfc3339_millis};
use crate::envelope::RecordFacts;
use crate::error::{DecodeError, HandlerError};
use crate::json;
use crate::record::{Records, SourceRecord};

/// Reads SQS events.
///
/// The messages to retry are reported by id (the others are deleted from the queue);
/// [`SqsSource::sns_wrapped`] reads a queue subscribed to a topic without raw delivery.
///
/// ```
/// use lambda_stream::{Envelope, Invocation, Pipeline, SqsSource, StepError, StreamHandler, testing};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pipeline = || {
///     Pipeline::new("things")
///         .map(|uow| match uow.event.event_type() {
///             "thing-busy" => Err(StepError::retryable("the service is busy")),
///             _ => Ok(()),
///         })
///         .delivered()
/// };
/// let events = [Envelope::builder("thing-busy").build()?, Envelope::builder("thing-created").build()?];
///
/// let queue = StreamHandler::new(SqsSource::new()).pipeline(pipeline());
/// let report = queue.process(testing::sqs_event(&events), Invocation::local()).await;
/// let response = serde_json::to_value(report.response?)?;
/// assert_eq!(response["batchItemFailures"].as_array().map(Vec::len), Some(1));
///
/// let from_topic = StreamHandler::new(SqsSource::new().sns_wrapped()).pipeline(pipeline());
/// let report = from_topic.process(testing::sqs_sns_event(&events), Invocation::local()).await;
/// assert_eq!(report.records[1].pipelines, [lambda_stream::RecordState::Delivered]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct SqsSource {
    payload: Payload,
    sns_wrapped: bool,
}

impl SqsSource {
    /// Message bodies are envelopes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Message bodies are SNS notifications (`{"Type":"Notification","Message":...}`); the
    /// envelope (or raw payload) is their `Message`.
    #[must_use]
    pub fn sns_wrapped(mut self) -> Self {
        self.sns_wrapped = true;
        self
    }

    /// Payloads are not envelopes (see the [module docs](super)).
    #[must_use]
    pub fn raw(mut self) -> Self {
        self.payload = Payload::Raw;
        self
    }

    /// The message's own facts, before any SNS notification inside it.
    fn message_facts(record: SourceRecord<'_>) -> RecordFacts {
        RecordFacts::new(record.get_str(&["messageId"]).map(Into::into))
            .timestamp(
                // A string in AWS's events; a number in the Node library's test events.
                record
                    .get(&["attributes", "SentTimestamp"])
                    .and_then(|t| t.as_i64()),
            )
            .partition_key(
                record
                    .get_str(&["attributes", "MessageGroupId"])
                    .map(Into::into),
            )
    }
}

impl Source for SqsSource {
    type Event = RecordsEvent;
    type Response = SqsBatchResponse;

    fn name(&self) -> &'static str {
        "sqs"
    }

    fn records(&self, event: RecordsEvent) -> Records {
        event.into_records()
    }

    fn decode(&self, record: SourceRecord<'_>) -> Result<Decoded, DecodeError> {
        if record.get_str(&["messageId"]).is_none() {
            return Err(DecodeError::new(
                "the message has no `messageId`, so it cannot be told apart or retried alone",
            ));
        }
        let body = record.get_str(&["body"]).ok_or_else(|| {
            DecodeError::new(format!(
                "message {} has no body",
                label(&Self::message_facts(record))
            ))
        })?;
        if !self.sns_wrapped {
            return decode_payload(self.payload, body.into_owned().into_bytes(), &|| {
                Self::message_facts(record)
            });
        }
        let id = || label(&Self::message_facts(record)).to_string();
        let kind = json::get(&body, &["Type"]).and_then(|t| t.as_str());
        let message = json::get(&body, &["Message"]).and_then(|m| m.as_str());
        let (kind, message) = match (kind, message) {
            (Some(kind), Some(message)) => (kind, message),
            _ => {
                return Err(DecodeError::new(format!(
                    "message {} is not an SNS notification (no `Type` and `Message` strings)",
                    id()
                )));
            }
        };
        if kind != "Notification" {
            return Err(DecodeError::new(format!(
                "message {} is an SNS {kind}, not a Notification",
                id()
            )));
        }
        decode_payload(self.payload, message.into_owned().into_bytes(), &|| {
            self.facts(record)
        })
    }

    fn facts(&self, record: SourceRecord<'_>) -> RecordFacts {
        let message = Self::message_facts(record);
        if !self.sns_wrapped {
            return message;
        }
        // The notification's id and time name the event; the queue's group still orders it.
        let body = record.get_str(&["body"]).unwrap_or_default();
        let notification_id = json::get(&body, &["MessageId"])
            .and_then(|id| id.as_str())
            .map(Into::into);
        let published = json::get(&body, &["Timestamp"])
            .and_then(|t| t.as_str())
            .and_then(|t| rfc3339_millis(&t));
        RecordFacts::new(notification_id.or(message.id))
            .timestamp(published.or(message.timestamp))
            .partition_key(message.partition_key)
    }

    fn respond(&self, retry: &[SourceRecord<'_>]) -> Result<SqsBatchResponse, HandlerError> {
        let mut response = SqsBatchResponse::default();
        for message in retry {
            match message.get_str(&["messageId"]) {
                Some(id) => response.add_failure(id.into_owned()),
                // Without an id Lambda cannot retry one message: fail the whole batch.
                None => {
                    return Err(HandlerError::RetryInvocation {
                        records: retry.len(),
                    });
                }
            }
        }
        Ok(response)
    }
}
