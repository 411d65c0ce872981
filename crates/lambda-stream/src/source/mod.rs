//! Sources: how a Lambda event becomes records, how a record becomes an envelope, and how the
//! records to retry are reported back to Lambda. One module per event source.
//!
//! | source | Lambda event | envelope from | batch response |
//! |---|---|---|---|
//! | [`KinesisSource`] | [`RecordsEvent`] | base64 `kinesis.data` | lowest failed sequence number per shard |
//! | [`SqsSource`] | [`RecordsEvent`] | `body`, or the SNS `Message` inside it | failed message ids |
//! | [`SnsSource`] | [`RecordsEvent`] | `Sns.Message` | none: a retry fails the invocation |
//! | [`DynamoDbSource`] | [`RecordsEvent`] | change data capture of the images | lowest failed sequence number |
//! | [`EventBridgeSource`] | [`SingleEvent`] | `detail` (object or JSON string) | none: a retry fails the invocation |
//! | [`RawSource`] | `Vec<RawRecord>` | the payload as `raw` | none: a retry fails the invocation |
//!
//! Records stay the JSON Lambda sent; a source reads only the fields it needs, and a record
//! that lacks a field the source can do without (Node's `toKinesisRecords` leaves out
//! `approximateArrivalTimestamp`, for one) is read all the same. A record that lacks what its
//! source needs (Kinesis `data`, an SQS `messageId`) fails alone, with the reason.
//!
//! Every source but DynamoDB can also read payloads that are not envelopes (third-party
//! messages) with `.raw()`: the envelope then has type `raw`, the record's id, time and key,
//! and the payload in `raw` for an ingress mapper to read with
//! [`Envelope::raw_as`](crate::Envelope::raw_as).
//!
//! A source of your own (S3 notifications, MSK, ...) implements [`Source`] with the same
//! public pieces these use: [`Decoded`], [`RecordFacts`], [`decode_payload`] and
//! [`cmp_sequence_numbers`].

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::envelope::{Envelope, EnvelopeError, RecordFacts};
use crate::error::{DecodeError, HandlerError};
use crate::record::{Records, SourceRecord};

mod attribute_json;
mod dynamodb;
mod eventbridge;
mod kinesis;
mod raw;
mod sns;
mod sqs;

pub use crate::record::{RecordsEvent, SingleEvent};
pub use dynamodb::{COLLECTED, CORRELATED, DynamoDbSource, EMITTED};
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
    /// The Lambda event, as `lambda_runtime` deserializes it ([`RecordsEvent`] for sources
    /// with a `Records` array).
    type Event: DeserializeOwned + Send + 'static;
    /// What the function returns to Lambda.
    type Response: Serialize + Send + 'static;

    /// A short name for logs (`kinesis`, `sqs`, ...).
    fn name(&self) -> &'static str;

    /// The event's records, in order (taken from the event, not copied).
    fn records(&self, event: Self::Event) -> Records;

    /// Reads one record's payload: the envelope's JSON (which the handler reads only as far
    /// as the pipelines need), or an envelope the source made.
    fn decode(&self, record: SourceRecord<'_>) -> Result<Decoded, DecodeError>;

    /// What the record says about its event (id, arrival time, own key). The handler asks
    /// only when an envelope lacks `id`, `timestamp` or `partitionKey`, and for messages.
    fn facts(&self, record: SourceRecord<'_>) -> RecordFacts;

    /// The response for Lambda given the records to deliver again (in batch order). Sources
    /// without partial batch responses fail the invocation when any record is to be retried.
    fn respond(&self, retry: &[SourceRecord<'_>]) -> Result<Self::Response, HandlerError>;

    /// Decodes a record all the way to its envelope (tests, and fault events); a record
    /// that is [not an event](Decoded::NotAnEvent) is an error with the reason.
    fn envelope(&self, record: SourceRecord<'_>) -> Result<Envelope, DecodeError> {
        match self.decode(record)? {
            Decoded::Envelope(envelope) => Ok(envelope),
            Decoded::Json(text) => {
                let facts = || self.facts(record);
                parse_envelope(decompressed(text, &facts)?, &facts)
            }
            Decoded::NotAnEvent(reason) => Err(DecodeError::new(reason)),
        }
    }
}

/// A record's payload, decoded as far as its source goes.
#[derive(Debug)]
#[non_exhaustive]
// Made once per record and moved straight on: boxing the envelope would cost an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Decoded {
    /// The JSON text of an envelope. The handler reads its `type` first and the rest only if
    /// a pipeline wants the event; `id` and `timestamp` default to the record's
    /// [facts](Source::facts).
    Json(String),
    /// An envelope the source made (change data capture; payloads that are not envelopes).
    Envelope(Envelope),
    /// A record that is readable but carries no domain event (a table row that is not an
    /// entity, such as an idempotency record): *filtered* in every pipeline, with the reason
    /// logged at debug level. Not a fault: nothing is wrong with it.
    NotAnEvent(String),
}

/// How a source reads its payloads: as envelopes, or as anything else put in `raw`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Payload {
    /// The payload is an envelope.
    #[default]
    Envelope,
    /// The payload is anything else; it goes into an envelope of type `raw`.
    Raw,
}

/// Decodes a payload as `payload` says: an envelope's JSON must be UTF-8 text; anything else
/// is wrapped in a `raw` envelope with the record's facts.
pub fn decode_payload(
    payload: Payload,
    bytes: Vec<u8>,
    facts: &dyn Fn() -> RecordFacts,
) -> Result<Decoded, DecodeError> {
    match payload {
        Payload::Envelope => String::from_utf8(bytes).map(Decoded::Json).map_err(|_| {
            DecodeError::new(format!(
                "record {} is not a JSON event envelope: the payload is not UTF-8 text",
                label(&facts())
            ))
        }),
        Payload::Raw => raw_envelope(&bytes, &facts()).map(Decoded::Envelope),
    }
}

/// Parses an envelope's JSON with the record's facts for what it leaves out; the error names
/// the record.
pub(crate) fn parse_envelope(
    text: String,
    facts: &dyn Fn() -> RecordFacts,
) -> Result<Envelope, DecodeError> {
    Envelope::parse_with(text, facts).map_err(|error| {
        let facts = facts();
        let record = label(&facts);
        DecodeError::new(match error {
            EnvelopeError::Syntax(e) => {
                format!("record {record} is not a JSON event envelope: {e}")
            }
            EnvelopeError::MissingField(field) => {
                format!("record {record}: the envelope has no `{field}`")
            }
            other => format!("record {record}: {other}"),
        })
    })
}

/// An envelope's JSON with the values the Node library compressed put back (the first stage
/// of the handler's decode, see [`crate::compression`]); the error names the record and the
/// value.
pub(crate) fn decompressed(
    text: String,
    facts: &dyn Fn() -> RecordFacts,
) -> Result<String, DecodeError> {
    match crate::compression::decompress(&text) {
        Ok(None) => Ok(text),
        Ok(Some(plain)) => Ok(plain),
        Err(error) => Err(DecodeError::new(format!(
            "record {}: {error}",
            label(&facts())
        ))),
    }
}

/// How a record is named in messages.
pub(crate) fn label(facts: &RecordFacts) -> &str {
    facts.id.as_deref().unwrap_or("?")
}

/// Wraps a payload that is not an envelope: JSON goes into `raw` as it is, anything else as
/// a JSON string.
pub(crate) fn raw_envelope(bytes: &[u8], facts: &RecordFacts) -> Result<Envelope, DecodeError> {
    let id = facts
        .id
        .as_deref()
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
        .timestamp(facts.timestamp.unwrap_or_else(crate::envelope::now_millis))
        .raw_json(&raw);
    if let Some(key) = facts.partition_key.as_deref().filter(|k| !k.is_empty()) {
        builder = builder.partition_key(key);
    }
    builder
        .build()
        .map_err(|e| DecodeError::new(format!("record {id}: {e}")))
}

/// Compares two sequence numbers (decimal strings of any length) numerically.
pub fn cmp_sequence_numbers(a: &str, b: &str) -> std::cmp::Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Fails the invocation when records are to be retried but the source has no partial batch
/// response.
pub fn retry_whole_invocation(retry: &[SourceRecord<'_>]) -> Result<(), HandlerError> {
    if retry.is_empty() {
        Ok(())
    } else {
        Err(HandlerError::RetryInvocation {
            records: retry.len(),
        })
    }
}

/// Epoch milliseconds from an RFC 3339 time (`2019-01-02T12:45:07.000Z`).
pub(crate) fn rfc3339_millis(time: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(time)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// Epoch milliseconds from epoch seconds with a fraction (Kinesis, DynamoDB).
pub(crate) fn seconds_millis(seconds: f64) -> Option<i64> {
    let millis = (seconds * 1000.0).round();
    if millis.is_finite() && millis.abs() < 9.0e15 {
        #[allow(clippy::cast_possible_truncation)]
        Some(millis as i64)
    } else {
        None
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
        let facts = RecordFacts::new(Some("m1".into()))
            .timestamp(Some(7))
            .partition_key(Some("k".into()));
        let json = raw_envelope(br#"{"action":"created","f1":1}"#, &facts).expect("ok");
        assert_eq!(json.event_type(), "raw");
        assert_eq!(json.id(), "m1");
        assert_eq!(json.partition_key(), Some("k"));
        assert_eq!(json.raw_json(), Some(r#"{"action":"created","f1":1}"#));
        let text = raw_envelope(b"a=1&b=2", &facts).expect("ok");
        assert_eq!(text.raw_as::<String>().expect("string"), "a=1&b=2");
        assert!(raw_envelope(&[0xff, 0xfe], &facts).is_err());
        assert!(raw_envelope(b"{}", &RecordFacts::default()).is_err());
    }

    #[test]
    fn envelope_defaults_come_from_the_record() {
        let facts = || RecordFacts::new(Some("rec-1".into())).timestamp(Some(42));
        let envelope = parse_envelope(r#"{"type":"x"}"#.into(), &facts).expect("ok");
        assert_eq!((envelope.id(), envelope.timestamp()), ("rec-1", 42));
        let err = parse_envelope("not json".into(), &facts).expect_err("bad");
        assert!(err.reason().contains("rec-1"), "{err}");
        assert!(err.reason().contains("not a JSON event envelope"), "{err}");
        let err = parse_envelope(r#"{"id":"1"}"#.into(), &facts).expect_err("bad");
        assert!(err.reason().contains("no `type`"), "{err}");
        let err = decode_payload(Payload::Envelope, vec![0xff], &facts).expect_err("bad");
        assert!(err.reason().contains("not UTF-8"), "{err}");
    }

    #[test]
    fn times_convert_to_millis() {
        assert_eq!(seconds_millis(1_545_084_650.987), Some(1_545_084_650_987));
        assert_eq!(seconds_millis(f64::NAN), None);
        assert_eq!(
            rfc3339_millis("2019-01-02T12:45:07.000Z"),
            Some(1_546_433_107_000)
        );
        assert_eq!(rfc3339_millis("yesterday"), None);
    }
}
