//! DynamoDB streams as change data capture (the Node library's `cdc`), stream view
//! `NEW_AND_OLD_IMAGES`:
//!
//! The events are the Node library's `fromDynamodb`'s, so a trigger ported from Node publishes
//! the same ones:
//!
//! | the change | the event |
//! |---|---|
//! | `INSERT`, `MODIFY`, `REMOVE` of an entity (an item with a `discriminator`, else an `sk`) | `<discriminator, lower-cased>-created`, `-updated`, `-deleted`; the entity field named after the discriminator holds the item without `pk`, `sk`, `discriminator`, `ttl`, `latched`, `deleted`, `aws:rep:*`, with `pk` as `id` (the old image for a delete) |
//! | a soft delete: the new image has `deleted: true` (on any change but a removal) | `<discriminator>-deleted` |
//! | its reversal: the old image had `deleted: true`, the new one does not | `<discriminator>-undeleted` |
//! | a change a global table replicated from another region (the image's `aws:rep:updateregion`, 2017.11.29, or `awsregion`, 2019.11.21, is not this function's `AWS_REGION`) | none: *filtered* (the region that made it publishes it) |
//! | the extra `MODIFY` a global table makes when it adds those attributes (the new image has one, the old does not) | none: *filtered* |
//! | a removal by DynamoDB's TTL (user identity `Service` / `dynamodb.amazonaws.com`) | `<discriminator>-expired` |
//! | a collected event written (`discriminator: EVENT`, see `lambda_stream_aws::event_store`) | the event itself, as it was collected |
//! | the TTL removal of a collected event flagged `expire` | `<its type>-expired`, id `<its id>.expired`, `triggers: [the event]` (the Node library's `expired`) |
//! | an idempotency record (`pk` starting `idempotency#`, see `lambda_stream_aws::Idempotency`), an item with neither a discriminator nor an `sk`, or an event-store row (`CORREL`, `EMITTED`) | none: *filtered*, with the reason at debug level |
//!
//! Every event keeps the images as plain JSON in `raw: {new, old}` (attribute order and every
//! digit kept, binary as base64), its partition key is the table's `pk`, its `id` the stream
//! record's `eventID`, its `region` tag the record's `awsRegion`, and its timestamp the time of
//! the change (`ApproximateCreationDateTime`, in milliseconds), as Node's. Until 0.1 it was the
//! item's own `timestamp` attribute, which made a removal carry the time the item was last
//! written: an only-if-newer view (such as `materialize`) then took the delete for a duplicate
//! and kept the row. Filtered records count as *filtered* in every pipeline, never silently.

use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde_json::value::RawValue;

use super::attribute_json;
use super::{Decoded, RecordsEvent, Source, cmp_sequence_numbers, label, seconds_millis};
use crate::envelope::{Envelope, RecordFacts};
use crate::error::{DecodeError, HandlerError};
use crate::record::{Records, SourceRecord};

/// Reads DynamoDB stream events as change data capture.
///
/// Each change becomes the event the Node library's trigger would publish (see the module
/// documentation); a pipeline usually starts with [`Pipeline::cdc`](crate::Pipeline::cdc).
///
/// ```
/// use lambda_stream::testing::{self, Change};
/// use lambda_stream::{DynamoDbSource, Invocation, Pipeline, StreamHandler};
/// use serde_json::json;
/// use std::sync::{Arc, Mutex};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let types = Arc::clone(&seen);
/// let handler = StreamHandler::new(DynamoDbSource::new().region("us-west-2")).pipeline(
///     Pipeline::new("trigger")
///         .tap(move |uow| types.lock().unwrap().push(uow.event.event_type().to_string()))
///         .delivered(),
/// );
/// let keys = json!({ "pk": "c1", "sk": "customer" });
/// let item = json!({ "pk": "c1", "sk": "customer", "discriminator": "customer", "name": "Ann" });
/// let event = testing::dynamodb_event(&[
///     Change::insert(keys.clone(), item.clone()),
///     Change::remove(keys, item),
/// ]);
/// let report = handler.process(event, Invocation::local()).await;
/// assert!(report.response.is_ok());
/// assert_eq!(*seen.lock().unwrap(), ["customer-created", "customer-deleted"]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct DynamoDbSource {
    discriminator: String,
    sort_key: String,
    type_prefix: Option<String>,
    partition_key: String,
    region: Option<String>,
}

impl Default for DynamoDbSource {
    /// [`DynamoDbSource::new`] without the region: replicated changes are all filtered.
    fn default() -> Self {
        Self {
            discriminator: "discriminator".into(),
            sort_key: "sk".into(),
            type_prefix: None,
            partition_key: "pk".into(),
            region: None,
        }
    }
}

impl DynamoDbSource {
    /// The type prefix comes from each image's `discriminator` attribute (else its `sk`); the
    /// partition key from the `pk` key attribute; the function's region, which tells a global
    /// table's own changes from replicated ones, from `AWS_REGION` (read here, once).
    pub fn new() -> Self {
        Self::default().region_from(|name| std::env::var(name).ok())
    }

    /// The function's region from `AWS_REGION` through `lookup`.
    #[must_use]
    pub fn region_from(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        self.region = lookup("AWS_REGION").filter(|r| !r.trim().is_empty());
        self
    }

    /// The source for a function configured by `config`: its region from there
    /// ([`Config::region`](crate::Config::region)), the defaults otherwise.
    pub fn for_config(config: &crate::Config) -> Self {
        match config.region() {
            Some(region) => Self::default().region(region),
            None => Self::default(),
        }
    }

    /// The region this function runs in: changes a global table replicated from another
    /// region are filtered.
    #[must_use]
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
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

    fn change(&self, record: SourceRecord<'_>) -> Result<Decoded, DecodeError> {
        let facts = self.facts(record);
        let id = label(&facts).to_string();
        let fail = |reason: String| DecodeError::new(format!("record {id}: {reason}"));
        let event_name = record.get_str(&["eventName"]);
        let removed_by_ttl = event_name.as_deref() == Some("REMOVE") && removed_by_ttl(record);
        let mut suffix = match event_name.as_deref() {
            Some("INSERT") => "created",
            Some("MODIFY") => "updated",
            Some("REMOVE") if removed_by_ttl => "expired",
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
        if let Some(reason) = self.replicated(new.as_deref(), old.as_deref()) {
            return Ok(Decoded::NotAnEvent(format!("record {id}: {reason}")));
        }
        if suffix != "deleted" && suffix != "expired" {
            suffix = soft_delete(new.as_deref(), old.as_deref()).unwrap_or(suffix);
        }
        // The image that describes the entity: the new one, or the old one for a removal.
        let (current, current_field) = match (&new, &old) {
            (Some(new), _) => (Some(new.as_str()), "NewImage"),
            (None, Some(old)) => (Some(old.as_str()), "OldImage"),
            (None, None) => (None, "NewImage"),
        };
        let discriminator =
            current.and_then(|image| crate::json::get_str(image, &[self.discriminator.as_str()]));
        if current
            .and_then(|image| crate::json::get_str(image, &[self.partition_key.as_str()]))
            .is_some_and(|pk| pk.starts_with(IDEMPOTENCY_PREFIX))
        {
            return Ok(Decoded::NotAnEvent(format!(
                "record {id}: an idempotency record, not a domain entity"
            )));
        }
        if discriminator.as_deref() == Some(COLLECTED) {
            return match (event_name.as_deref(), &new, &old) {
                (Some("REMOVE"), _, Some(old)) if removed_by_ttl => expired_event(old, &facts),
                // A collected event reaches the trigger as itself, once: when it is first
                // written (a replay overwrites the row and is not an event again).
                (Some("INSERT"), Some(new), _) => collected_event(new),
                _ => Ok(Decoded::NotAnEvent(format!(
                    "record {id}: an event store row rewritten or removed"
                ))),
            }
            .map_err(fail);
        }
        let prefix = match (&self.type_prefix, discriminator.as_deref()) {
            (Some(prefix), _) => prefix.clone(),
            (None, Some(COLLECTED | CORRELATED | EMITTED)) => {
                return Ok(Decoded::NotAnEvent(format!(
                    "record {id}: an event store row, not a domain entity"
                )));
            }
            (None, Some(kind)) => kind.to_lowercase(),
            // Node's `fromDynamodb` falls back to the sort key.
            (None, None) => match current
                .and_then(|image| crate::json::get_str(image, &[self.sort_key.as_str()]))
            {
                Some(sk) => sk.to_lowercase(),
                None => {
                    return Ok(Decoded::NotAnEvent(format!(
                        "record {id}: no `{}` or `{}` attribute, so not a domain entity (stream view NEW_AND_OLD_IMAGES, or set a type prefix)",
                        self.discriminator, self.sort_key
                    )));
                }
            },
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
        let entity = match record.get(&["dynamodb", current_field]) {
            Some(field) if current.is_some() => Some(
                attribute_json::item_to_entity_json(field.json(), &self.partition_key)
                    .map_err(|e| fail(format!("the entity cannot be read: {e}")))?,
            ),
            _ => None,
        };
        let raw = raw_images(new.as_deref(), old.as_deref()).map_err(|e| fail(e.to_string()))?;
        let event_id = record
            .get_str(&["eventID"])
            .map_or_else(|| id.clone(), |s| s.into_owned());
        // The change's time, as Node's: a removal is later than the item's last write.
        let timestamp = facts.timestamp.unwrap_or_else(crate::envelope::now_millis);
        let mut builder = Envelope::builder(format!("{prefix}-{suffix}"))
            .id(event_id)
            .timestamp(timestamp)
            .partition_key(partition_key)
            .raw_json(&raw);
        if let Some(entity) = entity {
            let entity = RawValue::from_string(entity).map_err(|e| fail(e.to_string()))?;
            builder = builder.entity_json(&prefix, &entity);
        }
        if let Some(region) = record.get_str(&["awsRegion"]) {
            builder = builder.tag("region", region.into_owned());
        }
        builder
            .build()
            .map(Decoded::Envelope)
            .map_err(|e| fail(e.to_string()))
    }
}

/// The discriminator of the events a micro event store collects.
pub const COLLECTED: &str = "EVENT";
/// The discriminator of a micro event store's correlation rows.
pub const CORRELATED: &str = "CORREL";
/// The discriminator of the rows that record a higher-order event as emitted.
pub const EMITTED: &str = "EMITTED";

/// The partition keys of the library's idempotency records (`lambda_stream_aws::Idempotency`),
/// which are bookkeeping, not entities.
const IDEMPOTENCY_PREFIX: &str = "idempotency#";

/// Global tables mark each item with the region that last wrote it: `aws:rep:updateregion`
/// (version 2017.11.29) or `awsregion` (2019.11.21, where this library's own writes put it).
const REPLICA_REGION_ATTRIBUTES: [&str; 2] = ["aws:rep:updateregion", "awsregion"];

impl DynamoDbSource {
    /// Why a record is a global table's echo rather than a change of this region (Node's
    /// `outReplicas` and `outGlobalTableExtraModify`), if it is.
    fn replicated(&self, new: Option<&str>, old: Option<&str>) -> Option<String> {
        let image = new.or(old)?;
        for attribute in REPLICA_REGION_ATTRIBUTES {
            if let Some(region) = crate::json::get_str(image, &[attribute]) {
                if self.region.as_deref() == Some(region.as_ref()) {
                    break;
                }
                return Some(match &self.region {
                    Some(own) => format!(
                        "a change replicated from {region} ({attribute}), not made in {own}"
                    ),
                    None => format!(
                        "a global table's change ({attribute} {region}) and the function's region is unknown (AWS_REGION)"
                    ),
                });
            }
        }
        let (new, old) = (new?, old?);
        REPLICA_REGION_ATTRIBUTES
            .iter()
            .find(|a| {
                crate::json::get(new, &[a]).is_some() && crate::json::get(old, &[a]).is_none()
            })
            .map(|a| format!("the extra MODIFY a global table makes when it adds `{a}`"))
    }
}

/// A soft delete (`deleted: true` in the new image) is `deleted`, its reversal (the old image
/// had it, the new one does not) `undeleted`, as Node's `fromDynamodb` names them.
fn soft_delete(new: Option<&str>, old: Option<&str>) -> Option<&'static str> {
    let deleted = |image: Option<&str>| {
        image
            .and_then(|i| crate::json::get(i, &["deleted"]))
            .is_some_and(|v| v.raw() == "true")
    };
    if deleted(new) {
        Some("deleted")
    } else if deleted(old) {
        Some("undeleted")
    } else {
        None
    }
}

/// True when DynamoDB's TTL removed the item (the service principal in the user identity).
fn removed_by_ttl(record: SourceRecord<'_>) -> bool {
    record.get_str(&["userIdentity", "type"]).as_deref() == Some("Service")
        && record.get_str(&["userIdentity", "principalId"]).as_deref()
            == Some("dynamodb.amazonaws.com")
}

/// `{"new": ..., "old": ...}` from the images there are.
fn raw_images(new: Option<&str>, old: Option<&str>) -> Result<Box<RawValue>, serde_json::Error> {
    let mut raw = String::with_capacity(new.map_or(0, str::len) + old.map_or(0, str::len) + 16);
    raw.push('{');
    if let Some(new) = new {
        raw.push_str("\"new\":");
        raw.push_str(new);
    }
    if let Some(old) = old {
        if new.is_some() {
            raw.push(',');
        }
        raw.push_str("\"old\":");
        raw.push_str(old);
    }
    raw.push('}');
    RawValue::from_string(raw)
}

/// A collected event, as it was collected.
fn collected_event(new: &str) -> Result<Decoded, String> {
    let Some(event) = crate::json::get(new, &["event"]) else {
        return Ok(Decoded::NotAnEvent(
            "an event store row without its event".into(),
        ));
    };
    Envelope::parse(event.raw().to_string())
        .map(Decoded::Envelope)
        .map_err(|e| format!("the collected event cannot be read: {e}"))
}

/// The `<type>-expired` event for a collected event that expired unanswered (flagged
/// `expire`); a collected event not flagged is not an event.
fn expired_event(old: &str, facts: &RecordFacts) -> Result<Decoded, String> {
    let flagged = crate::json::get(old, &["expire"]).is_some_and(|v| v.raw() == "true");
    let Some(event) = crate::json::get(old, &["event"]) else {
        return Ok(Decoded::NotAnEvent(
            "an expired event store row without its event".into(),
        ));
    };
    if !flagged {
        return Ok(Decoded::NotAnEvent(
            "an expired event store row not flagged `expire`".into(),
        ));
    }
    let expired = Envelope::parse(event.raw().to_string())
        .map_err(|e| format!("the expired row's event cannot be read: {e}"))?;
    let triggers =
        RawValue::from_string(format!("[{}]", event.raw())).map_err(|e| e.to_string())?;
    let mut builder = Envelope::builder(format!("{}-expired", expired.event_type()))
        .id(format!("{}.expired", expired.id()))
        .timestamp(facts.timestamp.unwrap_or_else(crate::envelope::now_millis))
        .entity_json("triggers", &triggers);
    let key = expired
        .partition_key()
        .map(str::to_string)
        .or_else(|| crate::json::get_str(old, &["data"]).map(|d| d.into_owned()));
    if let Some(key) = key {
        builder = builder.partition_key(key);
    }
    builder
        .build()
        .map(Decoded::Envelope)
        .map_err(|e| e.to_string())
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
        self.change(record)
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
