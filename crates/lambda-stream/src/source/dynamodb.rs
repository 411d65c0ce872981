//! DynamoDB streams as change data capture: each record (stream view `NEW_AND_OLD_IMAGES`)
//! becomes `<discriminator>-created | -updated | -deleted`, with the images as plain JSON in
//! `raw: {new, old}` and the partition key from the table's key.

use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde_json::value::RawValue;

use super::attribute_json;
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
        let suffix = match record.get_str(&["eventName"]).as_deref() {
            Some("INSERT") => "created",
            Some("MODIFY") => "updated",
            Some("REMOVE") => "deleted",
            Some(other) => return Err(fail(format!("unknown eventName `{other}`"))),
            None => return Err(fail("no `eventName`".into())),
        };
        if record.get(&["dynamodb"]).is_none() {
            return Err(fail("no `dynamodb` change".into()));
        }
        // Each image straight from the record's text: attribute order, string escapes and
        // every digit of every number are kept.
        let image = |which: &str, name: &str| -> Result<Option<String>, DecodeError> {
            match record.get(&["dynamodb", which]) {
                Some(field) if !matches!(field.json().trim(), "null" | "{}") => {
                    attribute_json::item_to_json(field.json())
                        .map(Some)
                        .map_err(|e| fail(format!("the {name} image cannot be read: {e}")))
                }
                _ => Ok(None),
            }
        };
        let new = image("NewImage", "new")?;
        let old = image("OldImage", "old")?;
        let keys = image("Keys", "keys")?;
        let prefix = match &self.type_prefix {
            Some(prefix) => prefix.clone(),
            None => new
                .as_deref()
                .or(old.as_deref())
                .and_then(|image| crate::json::get_str(image, &[self.discriminator.as_str()]))
                .map(|s| s.into_owned())
                .ok_or_else(|| {
                    fail(format!(
                        "no `{}` attribute in the images to name the event type \
                         (stream view NEW_AND_OLD_IMAGES needed, or set a type prefix)",
                        self.discriminator
                    ))
                })?,
        };
        let key_attribute = keys
            .as_deref()
            .and_then(|keys| crate::json::get(keys, &[self.partition_key.as_str()]));
        let partition_key = match key_attribute {
            // A string or binary key (base64), or a number's digits as sent.
            Some(value) => match value.as_str() {
                Some(s) => s.into_owned(),
                None if attribute_json::is_json_number(value.raw()) => value.raw().to_string(),
                None => {
                    return Err(fail(format!(
                        "the `{}` key attribute is not a string, number or binary",
                        self.partition_key
                    )));
                }
            },
            None => return Err(fail(format!("no `{}` key attribute", self.partition_key))),
        };
        let mut raw = String::with_capacity(
            new.as_ref().map_or(0, String::len) + old.as_ref().map_or(0, String::len) + 16,
        );
        raw.push('{');
        if let Some(new) = &new {
            raw.push_str("\"new\":");
            raw.push_str(new);
        }
        if let Some(old) = &old {
            if new.is_some() {
                raw.push(',');
            }
            raw.push_str("\"old\":");
            raw.push_str(old);
        }
        raw.push('}');
        let raw = RawValue::from_string(raw).map_err(|e| fail(format!("the images: {e}")))?;
        let event_id = record
            .get_str(&["eventID"])
            .map_or_else(|| id.clone(), |s| s.into_owned());
        let mut builder = Envelope::builder(format!("{prefix}-{suffix}"))
            .id(event_id)
            .timestamp(facts.timestamp.unwrap_or_else(crate::envelope::now_millis))
            .partition_key(partition_key)
            .raw_json(&raw);
        if let Some(region) = record.get_str(&["awsRegion"]) {
            builder = builder.tag("region", region.into_owned());
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
