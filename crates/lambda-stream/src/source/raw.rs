//! Payloads that did not come from an event source mapping (webhook bodies, for example):
//! each becomes an envelope of type `raw` with the payload in `raw`. A gateway builds the
//! records and calls [`StreamHandler::process`](crate::StreamHandler::process); a retry fails
//! the call so the caller can answer with an error.

use super::{Decoded, Source, raw_envelope, retry_whole_invocation};
use crate::envelope::RecordFacts;
use crate::error::{DecodeError, HandlerError};
use crate::record::{RawRecord, Records, SourceRecord};

/// Reads raw payloads.
///
/// For a function invoked with payloads of its own (a webhook's adapter, a scheduled call):
/// each [`RawRecord`] becomes an envelope of type `raw` whose `raw` field is the body, read
/// with [`Envelope::raw_as`](crate::Envelope::raw_as).
///
/// ```
/// use lambda_stream::{Invocation, Pipeline, RawRecord, RawSource, RecordState, StreamHandler};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let handler = StreamHandler::new(RawSource::new()).pipeline(
///     Pipeline::new("callbacks")
///         .map(|uow| {
///             let body: serde_json::Value = uow.event.raw_as()?;
///             Ok(body["orderId"].as_str().map(str::to_owned))
///         })
///         .delivered(),
/// );
/// let record = RawRecord { id: "r1".into(), timestamp: 0, body: r#"{"orderId":"o1"}"#.into() };
/// let report = handler.process(vec![record], Invocation::local()).await;
/// assert_eq!(report.records[0].pipelines, [RecordState::Delivered]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct RawSource;

impl RawSource {
    /// A raw source.
    pub fn new() -> Self {
        Self
    }
}

impl Source for RawSource {
    type Event = Vec<RawRecord>;
    type Response = ();

    fn name(&self) -> &'static str {
        "raw"
    }

    fn records(&self, event: Vec<RawRecord>) -> Records {
        // Serializing strings and a number cannot fail.
        Records::from_values(&event).unwrap_or_default()
    }

    fn decode(&self, record: SourceRecord<'_>) -> Result<Decoded, DecodeError> {
        let body = record
            .get_str(&["body"])
            .ok_or_else(|| DecodeError::new("the raw record has no `body` string"))?;
        raw_envelope(body.as_bytes(), &self.facts(record)).map(Decoded::Envelope)
    }

    fn facts(&self, record: SourceRecord<'_>) -> RecordFacts {
        RecordFacts::new(record.get_str(&["id"]).map(Into::into))
            .timestamp(record.get(&["timestamp"]).and_then(|t| t.as_i64()))
    }

    fn respond(&self, retry: &[SourceRecord<'_>]) -> Result<(), HandlerError> {
        retry_whole_invocation(retry)
    }
}
