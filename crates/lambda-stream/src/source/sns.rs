//! SNS delivered to Lambda directly: the notification's `Sns.Message` is the envelope. SNS
//! invokes asynchronously and has no partial batch response, so a record to retry fails the
//! invocation and Lambda's async retries take over.

use super::{
    Decoded, Payload, RecordsEvent, Source, decode_payload, label, retry_whole_invocation,
    rfc3339_millis,
};
use crate::envelope::RecordFacts;
use crate::error::{DecodeError, HandlerError};
use crate::record::{Records, SourceRecord};

/// Reads SNS events.
///
/// SNS has no partial batch response: a record to retry fails the whole invocation (SNS
/// then delivers it again), so steps after SNS should be idempotent.
///
/// ```
/// use lambda_stream::{Envelope, Invocation, Pipeline, RecordState, SnsSource, StepError, StreamHandler, testing};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let handler = StreamHandler::new(SnsSource::new()).pipeline(
///     Pipeline::new("things")
///         .map(|uow| match uow.event.event_type() {
///             "thing-busy" => Err(StepError::retryable("the service is busy")),
///             _ => Ok(()),
///         })
///         .delivered(),
/// );
/// let fine = testing::sns_event(&[Envelope::builder("thing-created").build()?]);
/// assert_eq!(handler.process(fine, Invocation::local()).await.records[0].pipelines, [RecordState::Delivered]);
///
/// let busy = testing::sns_event(&[Envelope::builder("thing-busy").build()?]);
/// assert!(handler.process(busy, Invocation::local()).await.response.is_err());
/// # Ok(())
/// # }
/// ```
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
    type Event = RecordsEvent;
    type Response = ();

    fn name(&self) -> &'static str {
        "sns"
    }

    fn records(&self, event: RecordsEvent) -> Records {
        event.into_records()
    }

    fn decode(&self, record: SourceRecord<'_>) -> Result<Decoded, DecodeError> {
        let message = record.get_str(&["Sns", "Message"]).ok_or_else(|| {
            DecodeError::new(format!(
                "notification {} has no `Sns.Message` string",
                label(&self.facts(record))
            ))
        })?;
        decode_payload(self.payload, message.into_owned().into_bytes(), &|| {
            self.facts(record)
        })
    }

    fn facts(&self, record: SourceRecord<'_>) -> RecordFacts {
        RecordFacts::new(record.get_str(&["Sns", "MessageId"]).map(Into::into)).timestamp(
            record
                .get_str(&["Sns", "Timestamp"])
                .and_then(|t| rfc3339_millis(&t)),
        )
    }

    fn respond(&self, retry: &[SourceRecord<'_>]) -> Result<(), HandlerError> {
        retry_whole_invocation(retry)
    }
}
