//! Building envelopes: what a step does to publish a new event.

use serde::Serialize;
use serde_json::value::RawValue;

use super::text::Piece;
use super::{Envelope, EnvelopeError, S3Pointer, STANDARD_FIELDS, TagValue, Tags, now_millis};

/// Builds an [`Envelope`]; see [`Envelope::builder`].
#[derive(Debug)]
pub struct EnvelopeBuilder {
    event_type: String,
    id: Option<String>,
    timestamp: Option<i64>,
    partition_key: Option<String>,
    tags: Tags,
    raw: Option<Box<str>>,
    eem: Option<Box<str>>,
    s3: Option<S3Pointer>,
    fields: Vec<(Piece, Piece)>,
    error: Option<EnvelopeError>,
}

impl EnvelopeBuilder {
    pub(super) fn new(event_type: String) -> Self {
        Self {
            event_type,
            id: None,
            timestamp: None,
            partition_key: None,
            tags: Tags::default(),
            raw: None,
            eem: None,
            s3: None,
            fields: Vec::new(),
            error: None,
        }
    }

    /// Sets the id (default: a random UUID).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the timestamp in epoch milliseconds (default: now).
    pub fn timestamp(mut self, epoch_millis: i64) -> Self {
        self.timestamp = Some(epoch_millis);
        self
    }

    /// Sets the partition key.
    pub fn partition_key(mut self, key: impl Into<String>) -> Self {
        self.partition_key = Some(key.into());
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, name: impl Into<String>, value: impl Into<TagValue>) -> Self {
        self.tags.insert(name, value);
        self
    }

    /// Sets all tags.
    pub fn tags(mut self, tags: Tags) -> Self {
        self.tags = tags;
        self
    }

    /// Sets the entity field, e.g. `.entity("order", &order)`, or any other non-standard field.
    pub fn entity<T: Serialize + ?Sized>(mut self, name: &str, value: &T) -> Self {
        if STANDARD_FIELDS.contains(&name) {
            self.fail(EnvelopeError::Invalid(format!(
                "`{name}` is a standard envelope field, not an entity"
            )));
            return self;
        }
        match serde_json::to_string(value) {
            Ok(json) => {
                self.fields.retain(|(n, _)| n.get("") != name);
                self.fields.push((Piece::from(name), Piece::from(json)));
            }
            Err(source) => self.fail(EnvelopeError::InvalidField {
                field: name.to_string(),
                source,
            }),
        }
        self
    }

    /// Sets a non-standard field to JSON text already written.
    pub fn entity_json(mut self, name: &str, json: Box<RawValue>) -> Self {
        if STANDARD_FIELDS.contains(&name) {
            self.fail(EnvelopeError::Invalid(format!(
                "`{name}` is a standard envelope field, not an entity"
            )));
            return self;
        }
        self.fields.retain(|(n, _)| n.get("") != name);
        self.fields
            .push((Piece::from(name), Piece::Owned(Box::<str>::from(json))));
        self
    }

    /// Sets `raw`, the source-native payload.
    pub fn raw<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_string(value) {
            Ok(json) => self.raw = Some(json.into_boxed_str()),
            Err(source) => self.fail(EnvelopeError::InvalidField {
                field: "raw".into(),
                source,
            }),
        }
        self
    }

    /// Sets `raw` to JSON text already written.
    pub fn raw_json(mut self, json: Box<RawValue>) -> Self {
        self.raw = Some(json.into());
        self
    }

    /// Sets `eem`, the field-level encryption metadata.
    pub fn eem<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::to_string(value) {
            Ok(json) => self.eem = Some(json.into_boxed_str()),
            Err(source) => self.fail(EnvelopeError::InvalidField {
                field: "eem".into(),
                source,
            }),
        }
        self
    }

    /// Sets the claim-check pointer.
    pub fn s3(mut self, pointer: S3Pointer) -> Self {
        self.s3 = Some(pointer);
        self
    }

    fn fail(&mut self, error: EnvelopeError) {
        self.error.get_or_insert(error);
    }

    /// Builds the envelope; fails if the type is empty or a field could not be serialized.
    pub fn build(self) -> Result<Envelope, EnvelopeError> {
        if let Some(err) = self.error {
            return Err(err);
        }
        if self.event_type.is_empty() {
            return Err(EnvelopeError::Invalid("the event type is empty".into()));
        }
        Ok(Envelope {
            text: None,
            pristine: false,
            id: Piece::from(self.id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string())),
            event_type: Piece::from(self.event_type),
            timestamp: self.timestamp.unwrap_or_else(now_millis),
            partition_key: self.partition_key.map(Piece::from),
            tags: self.tags,
            raw: self.raw.map(Piece::Owned),
            eem: self.eem.map(Piece::Owned),
            s3: self.s3,
            fields: self.fields,
        })
    }
}
