//! Payloads that did not come from an event source mapping (webhook bodies, for example):
//! each becomes an envelope of type `raw` with the payload in `raw`. A gateway builds the
//! records and calls [`StreamHandler::process`](crate::StreamHandler::process); a retry fails
//! the call so the caller can answer with an error.

use super::{RecordFacts, Source, raw_envelope, retry_whole_invocation};
use crate::envelope::Envelope;
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
        Records::Raw(event)
    }

    fn decode(&self, record: SourceRecord<'_>) -> Result<Envelope, DecodeError> {
        let SourceRecord::Raw(record) = record else {
            return Err(DecodeError::new("not a raw record"));
        };
        let facts = RecordFacts {
            id: Some(&record.id),
            timestamp: Some(record.timestamp),
            partition_key: None,
        };
        raw_envelope(record.body.as_bytes(), &facts)
    }

    fn respond(&self, retry: &[SourceRecord<'_>]) -> Result<(), HandlerError> {
        retry_whole_invocation(retry)
    }
}
