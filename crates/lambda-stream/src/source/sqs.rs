//! SQS: the message body is an envelope, or an SNS notification whose `Message` is (a queue
//! subscribed to a topic without raw delivery). Failed messages are reported by message id.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use serde::Deserialize;

use super::{Payload, RecordFacts, Source, decode_payload};
use crate::envelope::Envelope;
use crate::error::{DecodeError, HandlerError};
use crate::record::{Records, SourceRecord};

/// Reads SQS events.
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
}

/// The JSON an SNS topic delivers to a queue without raw message delivery.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SnsNotification {
    #[serde(rename = "Type")]
    pub(crate) kind: String,
    pub(crate) message_id: String,
    pub(crate) message: String,
    #[serde(default)]
    pub(crate) timestamp: Option<chrono::DateTime<chrono::Utc>>,
}

fn sent_timestamp(message: &SqsMessage) -> Option<i64> {
    message
        .attributes
        .get("SentTimestamp")
        .and_then(|t| t.parse().ok())
}

impl Source for SqsSource {
    type Event = SqsEvent;
    type Response = SqsBatchResponse;

    fn name(&self) -> &'static str {
        "sqs"
    }

    fn records(&self, event: SqsEvent) -> Records {
        Records::Sqs(event.records)
    }

    fn decode(&self, record: SourceRecord<'_>) -> Result<Envelope, DecodeError> {
        let SourceRecord::Sqs(message) = record else {
            return Err(DecodeError::new("not an SQS message"));
        };
        let id = message.message_id.as_deref();
        let body = message.body.as_deref().ok_or_else(|| {
            DecodeError::new(format!("message {} has no body", id.unwrap_or("?")))
        })?;
        let group = message.attributes.get("MessageGroupId").map(String::as_str);
        if self.sns_wrapped {
            let notification: SnsNotification = serde_json::from_str(body).map_err(|e| {
                DecodeError::new(format!(
                    "message {} is not an SNS notification: {e}",
                    id.unwrap_or("?")
                ))
            })?;
            if notification.kind != "Notification" {
                return Err(DecodeError::new(format!(
                    "message {} is an SNS {}, not a Notification",
                    id.unwrap_or("?"),
                    notification.kind
                )));
            }
            let facts = RecordFacts {
                id: Some(&notification.message_id),
                timestamp: notification
                    .timestamp
                    .map(|t| t.timestamp_millis())
                    .or_else(|| sent_timestamp(message)),
                partition_key: group,
            };
            return decode_payload(self.payload, notification.message.as_bytes(), &facts);
        }
        let facts = RecordFacts {
            id,
            timestamp: sent_timestamp(message),
            partition_key: group,
        };
        decode_payload(self.payload, body.as_bytes(), &facts)
    }

    fn respond(&self, retry: &[SourceRecord<'_>]) -> Result<SqsBatchResponse, HandlerError> {
        let mut response = SqsBatchResponse::default();
        for message in retry.iter().filter_map(|r| r.as_sqs()) {
            match &message.message_id {
                Some(id) => response.add_failure(id.clone()),
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
