//! DynamoDB streams as change data capture: each record (stream view `NEW_AND_OLD_IMAGES`)
//! becomes `<discriminator>-created | -updated | -deleted`, with the images as plain JSON in
//! `raw: {new, old}` and the partition key from the table's key.

use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Decoded, RecordsEvent, Source, cmp_sequence_numbers, label, seconds_millis};
use crate::envelope::{Envelope, RecordFacts};
use crate::error::{DecodeError, HandlerError};
use crate::record::{Records, SourceRecord};

/// Reads DynamoDB stream events as change data capture.
#[derive(Debug, Clone)]
pub struct DynamoDbSource {
    discriminator: String,
    type_prefix: Option<String>,
    partition_key: String,
}

impl Default for DynamoDbSource {
    fn default() -> Self {
        Self {
            discriminator: "discriminator".into(),
            type_prefix: None,
            partition_key: "pk".into(),
        }
    }
}

/// The parts of a stream record change data capture reads; anything else is ignored, and
/// anything missing is reported only if it is needed.
#[derive(Deserialize)]
struct ChangeRecord {
    #[serde(rename = "eventID", default)]
    event_id: Option<String>,
    #[serde(rename = "eventName", default)]
    event_name: Option<String>,
    #[serde(rename = "awsRegion", default)]
    aws_region: Option<String>,
    #[serde(default)]
    dynamodb: Option<StreamRecord>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StreamRecord {
    #[serde(default)]
    keys: Option<serde_dynamo::Item>,
    #[serde(default)]
    new_image: Option<serde_dynamo::Item>,
    #[serde(default)]
    old_image: Option<serde_dynamo::Item>,
}

impl DynamoDbSource {
    /// The type prefix comes from each image's `discriminator` attribute; the partition key
    /// from the `pk` key attribute.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the type prefix from another attribute.
    #[must_use]
    pub fn discriminator(mut self, attribute: impl Into<String>) -> Self {
        self.discriminator = attribute.into();
        self
    }

    /// Uses one type prefix for every record (a table holding one kind of entity).
    #[must_use]
    pub fn type_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.type_prefix = Some(prefix.into());
        self
    }

    /// Reads the partition key from another key attribute.
    #[must_use]
    pub fn partition_key(mut self, attribute: impl Into<String>) -> Self {
        self.partition_key = attribute.into();
        self
    }

    fn change(&self, record: SourceRecord<'_>) -> Result<Envelope, DecodeError> {
        let facts = self.facts(record);
        let id = label(&facts).to_string();
        let fail = |reason: String| DecodeError::new(format!("record {id}: {reason}"));
        let change: ChangeRecord = record
            .typed()
            .map_err(|e| fail(format!("not a DynamoDB stream record: {e}")))?;
        let suffix = match change.event_name.as_deref() {
            Some("INSERT") => "created",
            Some("MODIFY") => "updated",
            Some("REMOVE") => "deleted",
            Some(other) => return Err(fail(format!("unknown eventName `{other}`"))),
            None => return Err(fail("no `eventName`".into())),
        };
        let stream = change
            .dynamodb
            .ok_or_else(|| fail("no `dynamodb` change".into()))?;
        let image =
            |item: Option<serde_dynamo::Item>, which: &str| -> Result<Option<Value>, DecodeError> {
                match item {
                    Some(item) if !item.is_empty() => serde_dynamo::from_item::<_, Value>(item)
                        .map(Some)
                        .map_err(|e| fail(format!("the {which} image cannot be read: {e}"))),
                    _ => Ok(None),
                }
            };
        let new = image(stream.new_image, "new")?;
        let old = image(stream.old_image, "old")?;
        let keys = image(stream.keys, "keys")?.unwrap_or(Value::Null);
        let prefix = match &self.type_prefix {
            Some(prefix) => prefix.clone(),
            None => new
                .as_ref()
                .or(old.as_ref())
                .and_then(|i| i.get(&self.discriminator))
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    fail(format!(
                        "no `{}` attribute in the images to name the event type \
                         (stream view NEW_AND_OLD_IMAGES needed, or set a type prefix)",
                        self.discriminator
                    ))
                })?,
        };
        let partition_key = match keys.get(&self.partition_key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(fail(format!("no `{}` key attribute", self.partition_key))),
        };
        let mut raw = Map::new();
        if let Some(new) = new {
            raw.insert("new".into(), new);
        }
        if let Some(old) = old {
            raw.insert("old".into(), old);
        }
        let mut builder = Envelope::builder(format!("{prefix}-{suffix}"))
            .id(change.event_id.unwrap_or(id.clone()))
            .timestamp(facts.timestamp.unwrap_or_else(crate::envelope::now_millis))
            .partition_key(partition_key)
            .raw(&raw);
        if let Some(region) = change.aws_region {
            builder = builder.tag("region", region);
        }
        builder.build().map_err(|e| fail(e.to_string()))
    }
}

impl Source for DynamoDbSource {
    type Event = RecordsEvent;
    type Response = DynamoDbEventResponse;

    fn name(&self) -> &'static str {
        "dynamodb"
    }

    fn records(&self, event: RecordsEvent) -> Records {
        event.into_records()
    }

    fn decode(&self, record: SourceRecord<'_>) -> Result<Decoded, DecodeError> {
        self.change(record).map(Decoded::Envelope)
    }

    fn facts(&self, record: SourceRecord<'_>) -> RecordFacts {
        RecordFacts::new(record.get_str(&["eventID"]).map(Into::into)).timestamp(
            record
                .get(&["dynamodb", "ApproximateCreationDateTime"])
                .and_then(|t| t.as_f64())
                .and_then(seconds_millis),
        )
    }

    fn respond(&self, retry: &[SourceRecord<'_>]) -> Result<DynamoDbEventResponse, HandlerError> {
        // One shard per invocation: Lambda restarts at the lowest failed sequence number.
        let sequences: Vec<_> = retry
            .iter()
            .map(|r| r.get_str(&["dynamodb", "SequenceNumber"]))
            .collect();
        if sequences.iter().any(Option::is_none) {
            // Lambda cannot be pointed at a record without a sequence number: retry all.
            return Err(HandlerError::RetryInvocation {
                records: retry.len(),
            });
        }
        let lowest = sequences
            .into_iter()
            .flatten()
            .min_by(|a, b| cmp_sequence_numbers(a, b));
        let mut response = DynamoDbEventResponse::default();
        if let Some(sequence) = lowest {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(sequence.into_owned());
            response.batch_item_failures.push(failure);
        }
        Ok(response)
    }
}
