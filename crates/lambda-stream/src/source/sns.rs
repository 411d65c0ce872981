//! SNS delivered to Lambda directly: the notification's `Message` is the envelope. SNS
//! invokes asynchronously and has no partial batch response, so a record to retry fails the
//! invocation and Lambda's async retries take over.

use aws_lambda_events::event::sns::SnsEvent;

use super::{Payload, RecordFacts, Source, decode_payload, retry_whole_invocation};
use crate::envelope::Envelope;
use crate::error::{DecodeError, HandlerError};
use crate::record::{Records, SourceRecord};

/// Reads SNS events.
#[derive(Debug, Clone, Default)]
pub struct SnsSource {
    payload: Payload,
}

impl SnsSource {
    /// Messages are envelopes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Messages are not envelopes (see the [module docs](super)).
    #[must_use]
    pub fn raw(mut self) -> Self {
        self.payload = Payload::Raw;
        self
    }
}

impl Source for SnsSource {
    type Event = SnsEvent;
    type Response = ();

    fn name(&self) -> &'static str {
        "sns"
    }

    fn records(&self, event: SnsEvent) -> Records {
        Records::Sns(event.records)
    }

    fn decode(&self, record: SourceRecord<'_>) -> Result<Envelope, DecodeError> {
        let SourceRecord::Sns(record) = record else {
            return Err(DecodeError::new("not an SNS record"));
        };
        let facts = RecordFacts {
            id: Some(&record.sns.message_id),
            timestamp: Some(record.sns.timestamp.timestamp_millis()),
            partition_key: None,
        };
        decode_payload(self.payload, record.sns.message.as_bytes(), &facts)
    }

    fn respond(&self, retry: &[SourceRecord<'_>]) -> Result<(), HandlerError> {
        retry_whole_invocation(retry)
    }
}
