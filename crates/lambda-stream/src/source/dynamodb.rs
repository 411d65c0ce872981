//! DynamoDB streams as change data capture: each record (stream view `NEW_AND_OLD_IMAGES`)
//! becomes `<discriminator>-created | -updated | -deleted`, with the images as plain JSON in
//! `raw: {new, old}` and the partition key from the table's key.

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use serde_json::{Map, Value};

use super::{Source, cmp_sequence_numbers};
use crate::envelope::Envelope;
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

    fn change(&self, record: &EventRecord) -> Result<Envelope, DecodeError> {
        let id = record.event_id.as_str();
        let fail = |reason: String| DecodeError::new(format!("record {id}: {reason}"));
        let suffix = match record.event_name.as_str() {
            "INSERT" => "created",
            "MODIFY" => "updated",
            "REMOVE" => "deleted",
            other => return Err(fail(format!("unknown eventName `{other}`"))),
        };
        let image =
            |item: &serde_dynamo::Item, which: &str| -> Result<Option<Value>, DecodeError> {
                if item.is_empty() {
                    return Ok(None);
                }
                serde_dynamo::from_item::<_, Value>(item.clone())
                    .map(Some)
                    .map_err(|e| fail(format!("the {which} image cannot be read: {e}")))
            };
        let new = image(&record.change.new_image, "new")?;
        let old = image(&record.change.old_image, "old")?;
        let keys = image(&record.change.keys, "keys")?.unwrap_or(Value::Null);
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
        Envelope::builder(format!("{prefix}-{suffix}"))
            .id(id)
            .timestamp(
                record
                    .change
                    .approximate_creation_date_time
                    .timestamp_millis(),
            )
            .partition_key(partition_key)
            .tag("region", record.aws_region.as_str())
            .raw(&raw)
            .build()
            .map_err(|e| fail(e.to_string()))
    }
}

impl Source for DynamoDbSource {
    type Event = Event;
    type Response = DynamoDbEventResponse;

    fn name(&self) -> &'static str {
        "dynamodb"
    }

    fn records(&self, event: Event) -> Records {
        Records::DynamoDb(event.records)
    }

    fn decode(&self, record: SourceRecord<'_>) -> Result<Envelope, DecodeError> {
        match record {
            SourceRecord::DynamoDb(record) => self.change(record),
            _ => Err(DecodeError::new("not a DynamoDB stream record")),
        }
    }

    fn respond(&self, retry: &[SourceRecord<'_>]) -> Result<DynamoDbEventResponse, HandlerError> {
        // One shard per invocation: Lambda restarts at the lowest failed sequence number.
        let lowest = retry
            .iter()
            .filter_map(|r| r.as_dynamodb())
            .filter_map(|r| r.change.sequence_number.as_deref())
            .min_by(|a, b| cmp_sequence_numbers(a, b));
        let mut response = DynamoDbEventResponse::default();
        match lowest {
            Some(sequence) => {
                let mut failure =
                    aws_lambda_events::event::streams::DynamoDbBatchItemFailure::default();
                failure.item_identifier = Some(sequence.to_string());
                response.batch_item_failures.push(failure);
            }
            None if !retry.is_empty() => {
                return Err(HandlerError::RetryInvocation {
                    records: retry.len(),
                });
            }
            None => {}
        }
        Ok(response)
    }
}
