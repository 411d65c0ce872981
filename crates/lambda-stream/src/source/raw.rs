//! Payloads that did not come from an event source mapping (webhook bodies, for example):
//! each becomes an envelope of type `raw` with the payload in `raw`. A gateway builds the
//! records and calls [`StreamHandler::process`](crate::StreamHandler::process); a retry fails
//! the call so the caller can answer with an error.

use super::{Decoded, Source, raw_envelope, retry_whole_invocation};
use crate::envelope::RecordFacts;
use crate::error::{DecodeError, HandlerError};
use crate::record::{RawRecord, Records, SourceRecord};

/// Reads raw payloads.
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
