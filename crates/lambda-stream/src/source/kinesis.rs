//! Kinesis: each record's base64 `data` is an envelope; `id` defaults to the record's eventID
//! and `timestamp` to its arrival time. Failed records are reported as the lowest failed
//! sequence number per shard, where Lambda restarts.

use std::collections::BTreeMap;

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::streams::KinesisEventResponse;

use super::{Payload, RecordFacts, Source, cmp_sequence_numbers, decode_payload};
use crate::envelope::Envelope;
use crate::error::{DecodeError, HandlerError};
use crate::record::{Records, SourceRecord};

/// Reads Kinesis stream events.
#[derive(Debug, Clone, Default)]
pub struct KinesisSource {
    payload: Payload,
}

impl KinesisSource {
    /// Records carry envelopes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records carry payloads that are not envelopes (see the [module docs](super)).
    #[must_use]
    pub fn raw(mut self) -> Self {
        self.payload = Payload::Raw;
        self
    }
}

impl Source for KinesisSource {
    type Event = KinesisEvent;
    type Response = KinesisEventResponse;

    fn name(&self) -> &'static str {
        "kinesis"
    }

    fn records(&self, event: KinesisEvent) -> Records {
        Records::Kinesis(event.records)
    }

    fn decode(&self, record: SourceRecord<'_>) -> Result<Envelope, DecodeError> {
        let SourceRecord::Kinesis(record) = record else {
            return Err(DecodeError::new("not a Kinesis record"));
        };
        let facts = RecordFacts {
            id: record.event_id.as_deref(),
            timestamp: Some(
                record
                    .kinesis
                    .approximate_arrival_timestamp
                    .0
                    .timestamp_millis(),
            ),
            partition_key: Some(&record.kinesis.partition_key),
        };
        decode_payload(self.payload, &record.kinesis.data.0, &facts)
    }

    fn respond(&self, retry: &[SourceRecord<'_>]) -> Result<KinesisEventResponse, HandlerError> {
        // Lambda restarts each shard at the sequence number reported for it; anything after
        // that in the shard is delivered again, so only the lowest one per shard matters.
        let mut lowest: BTreeMap<&str, &str> = BTreeMap::new();
        for record in retry.iter().filter_map(|r| r.as_kinesis()) {
            let shard = record
                .event_id
                .as_deref()
                .and_then(|id| id.split_once(':'))
                .map_or("", |(shard, _)| shard);
            let sequence = record.kinesis.sequence_number.as_str();
            lowest
                .entry(shard)
                .and_modify(|current| {
                    if cmp_sequence_numbers(sequence, current).is_lt() {
                        *current = sequence;
                    }
                })
                .or_insert(sequence);
        }
        let mut response = KinesisEventResponse::default();
        for sequence in lowest.into_values() {
            response.add_failure(sequence);
        }
        Ok(response)
    }
}
