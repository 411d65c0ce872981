//! Kinesis: each record's base64 `kinesis.data` is an envelope; `id` defaults to the record's
//! `eventID` and `timestamp` to its arrival time. Failed records are reported as the lowest
//! failed sequence number per shard, where Lambda restarts.

use std::collections::BTreeMap;

use aws_lambda_events::event::streams::KinesisEventResponse;

use super::{
    Decoded, Payload, RecordsEvent, Source, cmp_sequence_numbers, decode_payload, label,
    seconds_millis,
};
use crate::envelope::RecordFacts;
use crate::error::{DecodeError, HandlerError};
use crate::record::{Records, SourceRecord};

/// Reads Kinesis stream events.
///
/// A record to retry is reported as the lowest failed sequence number of its shard (Lambda
/// then delivers it and every later record of the shard again); the others are done.
///
/// ```
/// use lambda_stream::{Envelope, KinesisSource, Pipeline, RecordState, StepError, StreamHandler, testing};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let handler = StreamHandler::new(KinesisSource::new()).pipeline(
///     Pipeline::new("things")
///         .map(|uow| match uow.event.event_type() {
///             "thing-busy" => Err(StepError::retryable("the service is busy")),
///             _ => Ok(()),
///         })
///         .delivered(),
/// );
/// let event = testing::kinesis_event(&[
///     Envelope::builder("thing-created").build()?,
///     Envelope::builder("thing-busy").build()?,
/// ]);
/// let report = handler.process(event, lambda_stream::Invocation::local()).await;
/// assert_eq!(report.records[1].pipelines, [RecordState::Retry]);
/// let response = serde_json::to_value(report.response?)?;
/// assert_eq!(response["batchItemFailures"][0]["itemIdentifier"], testing::sequence_number(2));
/// # Ok(())
/// # }
/// ```
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

/// Decodes base64 as Kinesis writes it; lenient about padding and line breaks as a last try.
pub(crate) fn decode_base64(data: &str) -> Result<Vec<u8>, base64_simd::Error> {
    base64_simd::STANDARD
        .decode_to_vec(data)
        .or_else(|_| base64_simd::forgiving_decode_to_vec(data.as_bytes()))
}

impl Source for KinesisSource {
    type Event = RecordsEvent;
    type Response = KinesisEventResponse;

    fn name(&self) -> &'static str {
        "kinesis"
    }

    fn records(&self, event: RecordsEvent) -> Records {
        event.into_records()
    }

    fn decode(&self, record: SourceRecord<'_>) -> Result<Decoded, DecodeError> {
        let data = record.get_str(&["kinesis", "data"]).ok_or_else(|| {
            DecodeError::new(format!(
                "record {} has no `kinesis.data` string",
                label(&self.facts(record))
            ))
        })?;
        let bytes = decode_base64(&data).map_err(|e| {
            DecodeError::new(format!(
                "record {}: `kinesis.data` is not base64: {e}",
                label(&self.facts(record))
            ))
        })?;
        decode_payload(self.payload, bytes, &|| self.facts(record))
    }

    fn facts(&self, record: SourceRecord<'_>) -> RecordFacts {
        RecordFacts::new(record.get_str(&["eventID"]).map(Into::into))
            .timestamp(
                record
                    .get(&["kinesis", "approximateArrivalTimestamp"])
                    .and_then(|t| t.as_f64())
                    .and_then(seconds_millis),
            )
            .partition_key(record.get_str(&["kinesis", "partitionKey"]).map(Into::into))
    }

    fn respond(&self, retry: &[SourceRecord<'_>]) -> Result<KinesisEventResponse, HandlerError> {
        // Lambda restarts each shard at the sequence number reported for it; anything after
        // that in the shard is delivered again, so only the lowest one per shard matters.
        let mut lowest: BTreeMap<String, String> = BTreeMap::new();
        for record in retry {
            let Some(sequence) = record.get_str(&["kinesis", "sequenceNumber"]) else {
                // Lambda cannot be pointed at a record without a sequence number: retry all.
                return Err(HandlerError::RetryInvocation {
                    records: retry.len(),
                });
            };
            let shard = record
                .get_str(&["eventID"])
                .and_then(|id| id.split_once(':').map(|(shard, _)| shard.to_string()))
                .unwrap_or_default();
            let current = lowest.entry(shard).or_insert_with(|| sequence.to_string());
            if cmp_sequence_numbers(&sequence, current).is_lt() {
                *current = sequence.to_string();
            }
        }
        let mut response = KinesisEventResponse::default();
        for sequence in lowest.into_values() {
            response.add_failure(sequence);
        }
        Ok(response)
    }
}
