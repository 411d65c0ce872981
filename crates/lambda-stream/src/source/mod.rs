//! Sources: how a Lambda event becomes records and each record an envelope, and how the
//! records to retry are reported back to Lambda. One module per event source.
//!
//! | source | event | envelope from | batch response |
//! |---|---|---|---|
//! | [`KinesisSource`] | `KinesisEvent` | base64 `data` | lowest failed sequence number per shard |
//! | [`SqsSource`] | `SqsEvent` | `body`, or the SNS `Message` inside it | failed message ids |
//! | [`SnsSource`] | `SnsEvent` | `Message` | none: a retry fails the invocation |
//! | [`DynamoDbSource`] | DynamoDB stream `Event` | change data capture of the images | lowest failed sequence number |
//! | [`EventBridgeSource`] | `EventBridgeEvent` | `detail` (object or JSON string) | none: a retry fails the invocation |
//! | [`RawSource`] | `Vec<RawRecord>` | the payload as `raw` | none: a retry fails the invocation |
//!
//! Every source but DynamoDB can also read payloads that are not envelopes (third-party
//! messages) with `.raw()`: the envelope then has type `raw`, the record's id, time and key,
//! and the payload in `raw` for an ingress mapper to read with
//! [`Envelope::raw_as`](crate::Envelope::raw_as).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::envelope::{Envelope, PartialEnvelope};
use crate::error::{DecodeError, HandlerError};
use crate::record::{Records, SourceRecord};

mod dynamodb;
mod eventbridge;
mod kinesis;
mod raw;
mod sns;
mod sqs;

pub use dynamodb::DynamoDbSource;
pub use eventbridge::EventBridgeSource;
pub use kinesis::KinesisSource;
pub use raw::RawSource;
pub use sns::SnsSource;
pub use sqs::SqsSource;

/// The type of envelopes made from payloads that are not envelopes.
pub const RAW_EVENT_TYPE: &str = "raw";

/// An event source: splits a Lambda event into records, decodes each record, and builds the
/// response that tells Lambda which records to deliver again.
pub trait Source: Send + Sync + 'static {
    /// The Lambda event.
    type Event: DeserializeOwned + Send + 'static;
    /// What the function returns to Lambda.
    type Response: Serialize + Send + 'static;

    /// A short name for logs (`kinesis`, `sqs`, ...).
    fn name(&self) -> &'static str;

    /// The event's records, in order (the event's own vector, not a copy).
    fn records(&self, event: Self::Event) -> Records;

    /// Decodes one record into an envelope.
    fn decode(&self, record: SourceRecord<'_>) -> Result<Envelope, DecodeError>;

    /// The response for Lambda given the records to deliver again (in batch order). Sources
    /// without partial batch responses fail the invocation when any record is to be retried.
    fn respond(&self, retry: &[SourceRecord<'_>]) -> Result<Self::Response, HandlerError>;
}

/// How a source reads its payloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Payload {
    /// The payload is an envelope.
    #[default]
    Envelope,
    /// The payload is anything else; it goes into `raw`.
    Raw,
}

/// Defaults a source supplies for what an envelope may leave out.
pub(crate) struct RecordFacts<'a> {
    pub(crate) id: Option<&'a str>,
    pub(crate) timestamp: Option<i64>,
    pub(crate) partition_key: Option<&'a str>,
}

/// Decodes a payload as the source's mode says.
pub(crate) fn decode_payload(
    payload: Payload,
    bytes: &[u8],
    facts: &RecordFacts<'_>,
) -> Result<Envelope, DecodeError> {
    match payload {
        Payload::Envelope => decode_envelope(bytes, facts),
        Payload::Raw => raw_envelope(bytes, facts),
    }
}

/// Parses an envelope, filling `id` and `timestamp` from the record when left out.
pub(crate) fn decode_envelope(
    bytes: &[u8],
    facts: &RecordFacts<'_>,
) -> Result<Envelope, DecodeError> {
    let partial: PartialEnvelope = serde_json::from_slice(bytes).map_err(|e| {
        DecodeError::new(format!(
            "record {} is not a JSON event envelope: {e}",
            facts.id.unwrap_or("?")
        ))
    })?;
    partial
        .complete(|| facts.id.map(str::to_string), || facts.timestamp)
        .map_err(|reason| DecodeError::new(format!("record {}: {reason}", facts.id.unwrap_or("?"))))
}

/// Wraps a payload that is not an envelope: JSON goes into `raw` as it is, anything else as
/// a JSON string.
pub(crate) fn raw_envelope(bytes: &[u8], facts: &RecordFacts<'_>) -> Result<Envelope, DecodeError> {
    let id = facts
        .id
        .ok_or_else(|| DecodeError::new("the record has no id to give its raw envelope"))?;
    let raw: Box<RawValue> = match serde_json::from_slice::<Box<RawValue>>(bytes) {
        Ok(json) => json,
        Err(_) => {
            let text = std::str::from_utf8(bytes).map_err(|_| {
                DecodeError::new(format!(
                    "record {id}: the payload is neither JSON nor UTF-8 text"
                ))
            })?;
            serde_json::value::to_raw_value(text)
                .map_err(|e| DecodeError::new(format!("record {id}: {e}")))?
        }
    };
    let mut builder = Envelope::builder(RAW_EVENT_TYPE)
        .id(id)
        .timestamp(facts.timestamp.unwrap_or_else(crate::envelope::now_millis));
    if let Some(key) = facts.partition_key.filter(|k| !k.is_empty()) {
        builder = builder.partition_key(key);
    }
    let mut envelope = builder
        .build()
        .map_err(|e| DecodeError::new(format!("record {id}: {e}")))?;
    envelope.raw = Some(raw);
    Ok(envelope)
}

/// Compares two sequence numbers (decimal strings of any length) numerically.
pub(crate) fn cmp_sequence_numbers(a: &str, b: &str) -> std::cmp::Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Fails the invocation when records are to be retried but the source has no partial batch
/// response.
pub(crate) fn retry_whole_invocation(retry: &[SourceRecord<'_>]) -> Result<(), HandlerError> {
    if retry.is_empty() {
        Ok(())
    } else {
        Err(HandlerError::RetryInvocation {
            records: retry.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cmp::Ordering;

    #[test]
    fn sequence_numbers_compare_numerically() {
        assert_eq!(cmp_sequence_numbers("9", "10"), Ordering::Less);
        assert_eq!(cmp_sequence_numbers("010", "10"), Ordering::Equal);
        assert_eq!(
            cmp_sequence_numbers(
                "49590338271490256608559692538361571095921575989136588898",
                "49590338271490256608559692540925702759324208523137515618"
            ),
            Ordering::Less
        );
    }

    #[test]
    fn raw_envelopes_keep_json_and_wrap_text() {
        let facts = RecordFacts {
            id: Some("m1"),
            timestamp: Some(7),
            partition_key: Some("k"),
        };
        let json = raw_envelope(br#"{"action":"created","f1":1}"#, &facts).expect("ok");
        assert_eq!(json.event_type, "raw");
        assert_eq!(json.id, "m1");
        assert_eq!(json.partition_key.as_deref(), Some("k"));
        assert_eq!(
            json.raw.as_ref().map(|r| r.get()),
            Some(r#"{"action":"created","f1":1}"#)
        );
        let text = raw_envelope(b"a=1&b=2", &facts).expect("ok");
        assert_eq!(text.raw_as::<String>().expect("string"), "a=1&b=2");
        assert!(raw_envelope(&[0xff, 0xfe], &facts).is_err());
    }

    #[test]
    fn envelope_defaults_come_from_the_record() {
        let facts = RecordFacts {
            id: Some("rec-1"),
            timestamp: Some(42),
            partition_key: None,
        };
        let envelope = decode_envelope(br#"{"type":"x"}"#, &facts).expect("ok");
        assert_eq!((envelope.id.as_str(), envelope.timestamp), ("rec-1", 42));
        let err = decode_envelope(b"not json", &facts).expect_err("bad");
        assert!(err.reason().contains("rec-1"), "{err}");
        assert!(err.reason().contains("not a JSON event envelope"), "{err}");
    }
}
