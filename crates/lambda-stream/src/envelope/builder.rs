//! Building envelopes: what a step does to publish a new event. Every string and JSON value
//! the builder is given is written into one buffer, which the envelope keeps and points into:
//! one allocation for the whole event instead of one per field.

use serde::Serialize;
use serde_json::value::RawValue;

use super::text::{Piece, Text};
use super::{Envelope, EnvelopeError, S3Pointer, STANDARD_FIELDS, TagValue, Tags, now_millis};

/// A span of the builder's buffer.
type Span = (u32, u32);

/// Builds an [`Envelope`]; see [`Envelope::builder`].
#[derive(Debug)]
pub struct EnvelopeBuilder {
    buffer: Vec<u8>,
    event_type: Span,
    id: Option<Span>,
    timestamp: Option<i64>,
    partition_key: Option<Span>,
    tags: Tags,
    raw: Option<Span>,
    eem: Option<Span>,
    s3: Option<S3Pointer>,
    fields: Vec<(Piece, Piece)>,
    error: Option<EnvelopeError>,
}

impl EnvelopeBuilder {
    pub(super) fn new(event_type: &str) -> Self {
        let mut builder = Self {
            buffer: Vec::with_capacity(256),
            event_type: (0, 0),
            id: None,
            timestamp: None,
            partition_key: None,
            tags: Tags::default(),
            raw: None,
            eem: None,
            s3: None,
            fields: Vec::new(),
            error: None,
        };
        builder.event_type = builder.push(event_type);
        builder
    }

    /// Writes `text` into the buffer; returns its span.
    fn push(&mut self, text: &str) -> Span {
        let start = self.buffer.len();
        self.buffer.extend_from_slice(text.as_bytes());
        self.span_from(start)
    }

    /// Serializes `value` into the buffer; returns its span, or the error (the buffer is left
    /// as it was).
    fn push_json<T: Serialize + ?Sized>(
        &mut self,
        field: &str,
        value: &T,
    ) -> Result<Span, EnvelopeError> {
        let start = self.buffer.len();
        match serde_json::to_writer(&mut self.buffer, value) {
            Ok(()) => Ok(self.span_from(start)),
            Err(source) => {
                self.buffer.truncate(start);
                Err(EnvelopeError::InvalidField {
                    field: field.to_string(),
                    source,
                })
            }
        }
    }

    fn span_from(&mut self, start: usize) -> Span {
        match (u32::try_from(start), u32::try_from(self.buffer.len())) {
            (Ok(start), Ok(end)) => (start, end),
            _ => {
                self.fail(EnvelopeError::Invalid(
                    "the envelope is larger than 4 GiB".into(),
                ));
                (0, 0)
            }
        }
    }

    fn name<'a>(&'a self, piece: &'a Piece) -> &'a [u8] {
        match piece {
            Piece::Span { start, end } => self
                .buffer
                .get(*start as usize..*end as usize)
                .unwrap_or_default(),
            Piece::Owned(name) => name.as_bytes(),
        }
    }

    /// Sets the id (default: a random UUID).
    pub fn id(mut self, id: impl AsRef<str>) -> Self {
        self.id = Some(self.push(id.as_ref()));
        self
    }

    /// Sets the timestamp in epoch milliseconds (default: now).
    pub fn timestamp(mut self, epoch_millis: i64) -> Self {
        self.timestamp = Some(epoch_millis);
        self
    }

    /// Sets the partition key.
    pub fn partition_key(mut self, key: impl AsRef<str>) -> Self {
        self.partition_key = Some(self.push(key.as_ref()));
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
        if !self.accepts_field(name) {
            return self;
        }
        match self.push_json(name, value) {
            Ok(value) => self.set_field(name, value),
            Err(error) => self.fail(error),
        }
        self
    }

    /// Sets a non-standard field to JSON text already written.
    pub fn entity_json(mut self, name: &str, json: &RawValue) -> Self {
        if self.accepts_field(name) {
            let value = self.push(json.get());
            self.set_field(name, value);
        }
        self
    }

    fn accepts_field(&mut self, name: &str) -> bool {
        if STANDARD_FIELDS.contains(&name) {
            self.fail(EnvelopeError::Invalid(format!(
                "`{name}` is a standard envelope field, not an entity"
            )));
            return false;
        }
        true
    }

    fn set_field(&mut self, name: &str, value: Span) {
        let existing = self
            .fields
            .iter()
            .position(|(n, _)| self.name(n) == name.as_bytes());
        let value = Piece::Span {
            start: value.0,
            end: value.1,
        };
        match existing {
            Some(at) => self.fields[at].1 = value,
            None => {
                let (start, end) = self.push(name);
                self.fields.push((Piece::Span { start, end }, value));
            }
        }
    }

    /// Sets `raw`, the source-native payload.
    pub fn raw<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        match self.push_json("raw", value) {
            Ok(span) => self.raw = Some(span),
            Err(error) => self.fail(error),
        }
        self
    }

    /// Sets `raw` to JSON text already written.
    pub fn raw_json(mut self, json: &RawValue) -> Self {
        self.raw = Some(self.push(json.get()));
        self
    }

    /// Sets `eem`, the field-level encryption metadata.
    pub fn eem<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        match self.push_json("eem", value) {
            Ok(span) => self.eem = Some(span),
            Err(error) => self.fail(error),
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
    pub fn build(mut self) -> Result<Envelope, EnvelopeError> {
        if let Some(err) = self.error {
            return Err(err);
        }
        if self.event_type.0 == self.event_type.1 {
            return Err(EnvelopeError::Invalid("the event type is empty".into()));
        }
        let id = match self.id {
            Some(id) => id,
            None => self.push(&uuid::Uuid::new_v4().to_string()),
        };
        // Everything written is a `&str` or serde_json's output: UTF-8 text.
        let text = String::from_utf8(self.buffer)
            .map_err(|e| EnvelopeError::Invalid(format!("the envelope is not UTF-8 text: {e}")))?;
        let span = |(start, end): Span| Piece::Span { start, end };
        Ok(Envelope {
            text: Text::Own(text),
            pristine: false,
            id: span(id),
            event_type: span(self.event_type),
            timestamp: self.timestamp.unwrap_or_else(now_millis),
            partition_key: self.partition_key.map(span),
            tags: self.tags,
            raw: self.raw.map(span),
            eem: self.eem.map(span),
            s3: self.s3,
            fields: self.fields,
            decrypted: None,
        })
    }
}
