//! The records of a Lambda event, each kept as the JSON Lambda delivered: fault events carry
//! a record byte for byte, so tooling can resubmit it as it arrived.
//!
//! Reading a record takes only the fields its source needs ([`SourceRecord::get`]), and a
//! record that lacks a field the source can do without is read all the same. The
//! `aws_lambda_events` view of a record is there when a test or a step wants it
//! ([`SourceRecord::typed`], [`SourceRecord::kinesis`], ...), off the hot path.

use std::borrow::Cow;
use std::fmt;

use aws_lambda_events::event::dynamodb::EventRecord as DynamoDbRecord;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::kinesis::KinesisEventRecord;
use aws_lambda_events::event::sns::SnsRecord;
use aws_lambda_events::event::sqs::SqsMessage;
use serde::de::{self, DeserializeOwned, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::json;

/// The records of one Lambda event, in order, each the JSON Lambda sent.
#[derive(Debug, Clone, Default)]
pub struct Records(Vec<Box<RawValue>>);

impl Records {
    /// Records from their JSON.
    pub fn new(records: Vec<Box<RawValue>>) -> Self {
        Self(records)
    }

    /// Records made by serializing values (a gateway's own record type, say).
    pub fn from_values<T: Serialize>(values: &[T]) -> Result<Self, serde_json::Error> {
        values
            .iter()
            .map(serde_json::value::to_raw_value)
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// How many records there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The record at `index`.
    pub fn get(&self, index: usize) -> Option<SourceRecord<'_>> {
        self.0.get(index).map(|json| SourceRecord { json })
    }

    /// Every record, in order.
    pub fn iter(&self) -> impl Iterator<Item = SourceRecord<'_>> {
        self.0.iter().map(|json| SourceRecord { json })
    }
}

impl FromIterator<Box<RawValue>> for Records {
    fn from_iter<I: IntoIterator<Item = Box<RawValue>>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// One record of a Lambda event, exactly as Lambda delivered it.
///
/// It serializes back to the JSON Lambda sent, which is what fault events carry in
/// `uow.record` so tooling can replay it.
#[derive(Clone, Copy)]
pub struct SourceRecord<'a> {
    json: &'a RawValue,
}

impl<'a> SourceRecord<'a> {
    /// A view of one record's JSON.
    pub fn new(json: &'a RawValue) -> Self {
        Self { json }
    }

    /// The record's JSON, as delivered.
    pub fn json(&self) -> &'a str {
        self.json.get()
    }

    /// The record's JSON as a raw value.
    pub(crate) fn raw(&self) -> &'a RawValue {
        self.json
    }

    /// A field of the record by path (`["kinesis", "data"]`), read without parsing the rest:
    /// `None` when it is not there.
    pub fn get(&self, path: &[&str]) -> Option<Field<'a>> {
        json::get(self.json.get(), path).map(Field)
    }

    /// A string field by path; `None` when it is missing or not a string.
    pub fn get_str(&self, path: &[&str]) -> Option<Cow<'a, str>> {
        json::get_str(self.json.get(), path)
    }

    /// The record read as a `T`: the typed view, made on demand.
    pub fn typed<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.json.get())
    }

    /// The `aws_lambda_events` Kinesis record.
    pub fn kinesis(&self) -> Result<KinesisEventRecord, serde_json::Error> {
        self.typed()
    }

    /// The `aws_lambda_events` SQS message.
    pub fn sqs(&self) -> Result<SqsMessage, serde_json::Error> {
        self.typed()
    }

    /// The `aws_lambda_events` SNS record.
    pub fn sns(&self) -> Result<SnsRecord, serde_json::Error> {
        self.typed()
    }

    /// The `aws_lambda_events` DynamoDB stream record.
    pub fn dynamodb(&self) -> Result<DynamoDbRecord, serde_json::Error> {
        self.typed()
    }

    /// The `aws_lambda_events` EventBridge event.
    pub fn eventbridge(&self) -> Result<EventBridgeEvent<serde_json::Value>, serde_json::Error> {
        self.typed()
    }
}

impl fmt::Debug for SourceRecord<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.json.get())
    }
}

impl Serialize for SourceRecord<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(serializer)
    }
}

/// A field of a record, as JSON text.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a>(json::Value<'a>);

impl<'a> Field<'a> {
    /// The field's JSON text.
    pub fn json(&self) -> &'a str {
        self.0.raw()
    }

    /// The string, unescaped; `None` when the field is not a string.
    pub fn as_str(&self) -> Option<Cow<'a, str>> {
        self.0.as_str()
    }

    /// The number as an `f64`, also from a string of digits (some producers quote numbers).
    pub fn as_f64(&self) -> Option<f64> {
        self.0.as_f64()
    }

    /// The number as an `i64`, also from a string of digits; fractions are truncated.
    pub fn as_i64(&self) -> Option<i64> {
        self.0.as_i64()
    }
}

/// A payload that did not come from a Lambda event source mapping (a webhook body, say).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawRecord {
    /// An id for the payload (a request id, for example).
    pub id: String,
    /// When it arrived, in epoch milliseconds.
    pub timestamp: i64,
    /// The payload as it arrived.
    pub body: String,
}

/// A Lambda event whose records are its `Records` array (Kinesis, SQS, SNS, DynamoDB streams,
/// S3 notifications, ...), each kept as the JSON Lambda sent. Nothing else is read.
///
/// This is what `lambda_runtime` deserializes for those sources: one pass over the event,
/// one allocation per record.
#[derive(Debug, Clone, Default)]
pub struct RecordsEvent {
    records: Records,
}

impl RecordsEvent {
    /// The event's records.
    pub fn records(&self) -> &Records {
        &self.records
    }

    /// The event's records, taken.
    pub fn into_records(self) -> Records {
        self.records
    }

    /// Reads a Lambda event from its JSON.
    pub fn from_slice(json: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(json)
    }
}

impl From<Records> for RecordsEvent {
    fn from(records: Records) -> Self {
        Self { records }
    }
}

impl Serialize for RecordsEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let records: Vec<SourceRecord<'_>> = self.records.iter().collect();
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("Records", &records)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for RecordsEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EventVisitor;
        impl<'de> Visitor<'de> for EventVisitor {
            type Value = RecordsEvent;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Lambda event with a `Records` array")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RecordsEvent, A::Error> {
                let mut records = None;
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    if key == "Records" {
                        if records.is_some() {
                            return Err(de::Error::duplicate_field("Records"));
                        }
                        records = Some(map.next_value::<Vec<Box<RawValue>>>()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                let records = records.ok_or_else(|| de::Error::missing_field("Records"))?;
                Ok(RecordsEvent {
                    records: Records(records),
                })
            }
        }
        deserializer.deserialize_map(EventVisitor)
    }
}

/// A Lambda event that is one record (EventBridge delivers one event per invocation), kept
/// as the JSON Lambda sent.
#[derive(Debug, Clone)]
pub struct SingleEvent(pub Box<RawValue>);

impl SingleEvent {
    /// Reads a Lambda event from its JSON.
    pub fn from_slice(json: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(json)
    }
}

impl Serialize for SingleEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SingleEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = Box::<RawValue>::deserialize(deserializer)?;
        if !json.get().starts_with('{') {
            return Err(de::Error::custom("a Lambda event is a JSON object"));
        }
        Ok(Self(json))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_kept_byte_for_byte_and_other_fields_ignored() {
        let json = br#"{"Records":[{"b": 1, "a":[2]},{"x":"\u00e9"}],"other":{"deep":[1,2]}}"#;
        let event = RecordsEvent::from_slice(json).expect("valid");
        let records = event.records();
        assert_eq!(records.len(), 2);
        assert_eq!(
            records.get(0).map(|r| r.json()),
            Some(r#"{"b": 1, "a":[2]}"#)
        );
        assert_eq!(records.get(1).map(|r| r.json()), Some(r#"{"x":"\u00e9"}"#));
        assert_eq!(
            serde_json::to_string(&records.get(0)).expect("json"),
            r#"{"b": 1, "a":[2]}"#
        );
        assert_eq!(
            serde_json::to_string(&event).expect("json"),
            r#"{"Records":[{"b": 1, "a":[2]},{"x":"\u00e9"}]}"#
        );
    }

    #[test]
    fn events_without_records_are_clear_errors() {
        let err = RecordsEvent::from_slice(br#"{"detail":{}}"#).expect_err("no records");
        assert!(err.to_string().contains("missing field `Records`"), "{err}");
        assert!(RecordsEvent::from_slice(br#"{"Records":{}}"#).is_err());
        assert!(RecordsEvent::from_slice(br#"{"Records":[1,}"#).is_err());
        assert!(RecordsEvent::from_slice(br#"{"Records":[],"Records":[]}"#).is_err());
        assert!(SingleEvent::from_slice(b"[1]").is_err());
    }

    #[test]
    fn fields_are_read_by_path_tolerantly() {
        let event = RecordsEvent::from_slice(
            br#"{"Records":[{"kinesis":{"data":"YQ==","n":"12","t":1.5},"eventID":"e\"1"}]}"#,
        )
        .expect("valid");
        let record = event.records().get(0).expect("one");
        assert_eq!(
            record.get_str(&["kinesis", "data"]).as_deref(),
            Some("YQ==")
        );
        assert_eq!(record.get_str(&["eventID"]).as_deref(), Some("e\"1"));
        assert_eq!(
            record.get(&["kinesis", "n"]).and_then(|f| f.as_i64()),
            Some(12)
        );
        assert_eq!(
            record.get(&["kinesis", "t"]).and_then(|f| f.as_f64()),
            Some(1.5)
        );
        assert_eq!(
            record.get(&["kinesis", "t"]).and_then(|f| f.as_i64()),
            Some(1)
        );
        assert!(record.get(&["kinesis", "missing"]).is_none());
        assert!(record.get_str(&["kinesis", "t"]).is_none());
        assert!(record.kinesis().is_err(), "the typed view is strict");
    }
}
