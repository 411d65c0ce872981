//! The event envelope, in the JSON shape `aws-lambda-stream` writes.
//!
//! An envelope read from a record keeps the record's JSON text, shared, and points into it:
//! `id`, `type` and `partitionKey` are spans of that text, and every other value (the entity,
//! the tags, `raw`, `eem`, unknown fields) stays JSON text until a step reads it. Nothing is
//! copied to read it, and an envelope no step changed is written back as it came. Envelopes a
//! step builds own their data ([`EnvelopeBuilder`]).
//!
//! | part | module |
//! |---|---|
//! | the model and its accessors | this one |
//! | building new envelopes | [`builder`] |
//! | tags | [`tags`] |
//! | reading and writing the JSON | `codec` |

use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

pub mod builder;
pub(crate) mod codec;
pub(crate) mod redact;
pub mod tags;
pub(crate) mod text;

pub use builder::EnvelopeBuilder;
pub(crate) use codec::Spans;
pub use tags::{TagValue, Tags};

use tags::TagsWithDefaults;
use text::{Piece, SharedJson, Text};

/// A domain event: `id`, `type`, `timestamp`, `partitionKey`, `tags`, one entity field named
/// after the entity (`thing`, `order`, ...), and optional `raw`, `eem` and `s3`.
///
/// Fields the envelope does not know are kept in order and written back unchanged.
///
/// ```
/// use lambda_stream::Envelope;
///
/// let event = Envelope::from_slice(
///     br#"{"id":"1","type":"thing-created","timestamp":5,"thing":{"name":"n"}}"#,
/// )?;
/// assert_eq!(event.event_type(), "thing-created");
/// let thing: serde_json::Value = event.entity()?;
/// assert_eq!(thing["name"], "n");
/// # Ok::<(), lambda_stream::EnvelopeError>(())
/// ```
#[derive(Clone)]
pub struct Envelope {
    /// The text its spans point into: the JSON it was read from (shared), or the buffer a
    /// builder wrote its pieces into.
    text: Text,
    /// True while the envelope is exactly `text`, so it is written back as it came.
    pristine: bool,
    id: Piece,
    event_type: Piece,
    timestamp: i64,
    partition_key: Option<Piece>,
    tags: Tags,
    raw: Option<Piece>,
    eem: Option<Piece>,
    s3: Option<S3Pointer>,
    fields: Vec<(Piece, Piece)>,
    /// The fields decrypted on the way in (the `eem` is gone, they are still redacted
    /// wherever the event is shown).
    decrypted: Option<Arc<[String]>>,
}

/// Claim-check pointer: where a large event is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Pointer {
    /// The bucket.
    pub bucket: String,
    /// The object key.
    pub key: String,
}

/// Why an envelope or one of its fields could not be read or built.
#[derive(Debug)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The text is not a JSON envelope (bad JSON, wrong shapes, duplicate fields).
    Syntax(serde_json::Error),
    /// The field is not in the envelope.
    MissingField(String),
    /// The field is there but does not have the expected shape.
    InvalidField {
        /// The field's name.
        field: String,
        /// What serde said.
        source: serde_json::Error,
    },
    /// The builder was given something it cannot use.
    Invalid(String),
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax(source) => write!(f, "not a JSON event envelope: {source}"),
            Self::MissingField(name) => write!(f, "the envelope has no field `{name}`"),
            Self::InvalidField { field, source } => {
                write!(f, "the envelope field `{field}` is invalid: {source}")
            }
            Self::Invalid(reason) => write!(f, "invalid envelope: {reason}"),
        }
    }
}

impl std::error::Error for EnvelopeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Syntax(source) | Self::InvalidField { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The names the envelope itself owns; everything else is an entity or unknown field.
pub(crate) const STANDARD_FIELDS: [&str; 8] = [
    "id",
    "type",
    "timestamp",
    "partitionKey",
    "tags",
    "raw",
    "eem",
    "s3",
];

/// What a record says about its event, for the envelope fields a producer left out: `id`
/// defaults to the record's id, `timestamp` to its arrival time. The partition key is the
/// record's own (a Kinesis record's key), used to order and group events that carry none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordFacts {
    /// The record's own id (Kinesis eventID, SQS messageId, ...).
    pub id: Option<String>,
    /// When the record arrived, in epoch milliseconds.
    pub timestamp: Option<i64>,
    /// The record's own partition key or message group.
    pub partition_key: Option<String>,
}

impl RecordFacts {
    /// Facts with the record's id.
    pub fn new(id: Option<String>) -> Self {
        Self {
            id,
            ..Self::default()
        }
    }

    /// Sets the arrival time.
    #[must_use]
    pub fn timestamp(mut self, epoch_millis: Option<i64>) -> Self {
        self.timestamp = epoch_millis;
        self
    }

    /// Sets the record's own partition key.
    #[must_use]
    pub fn partition_key(mut self, key: Option<String>) -> Self {
        self.partition_key = key;
        self
    }
}

impl Envelope {
    /// Starts building an event of the given type.
    pub fn builder(event_type: impl AsRef<str>) -> EnvelopeBuilder {
        EnvelopeBuilder::new(event_type.as_ref())
    }

    /// Parses an envelope from JSON bytes. `id`, `type` and `timestamp` are required.
    pub fn from_slice(json: &[u8]) -> Result<Self, EnvelopeError> {
        let text = std::str::from_utf8(json)
            .map_err(|e| EnvelopeError::Invalid(format!("the envelope is not UTF-8 text: {e}")))?;
        Self::parse(text)
    }

    /// Parses an envelope from JSON text, which it keeps and points into.
    pub fn parse(text: impl Into<String>) -> Result<Self, EnvelopeError> {
        Self::parse_with(text.into(), &RecordFacts::default)
    }

    /// Parses an envelope, taking `id` and `timestamp` from `facts` when the producer left
    /// them out (`facts` is called only then). `type` is always required.
    pub fn parse_with(
        text: String,
        facts: &dyn Fn() -> RecordFacts,
    ) -> Result<Self, EnvelopeError> {
        let index = codec::index(&text)?;
        let text = Arc::new(text);
        let mut pristine = true;
        let event_type = match index.event_type {
            Some(t) if t.len() > 0 => t,
            Some(_) => {
                return Err(EnvelopeError::Invalid(
                    "the envelope's `type` is empty".into(),
                ));
            }
            None => return Err(EnvelopeError::MissingField("type".into())),
        };
        let mut known = None;
        let mut facts = || known.get_or_insert_with(facts).clone();
        let id = match index.id {
            Some(id) => id,
            None => {
                pristine = false;
                Piece::from(
                    facts()
                        .id
                        .ok_or_else(|| EnvelopeError::MissingField("id".into()))?,
                )
            }
        };
        let timestamp = match index.timestamp {
            Some(ts) => ts,
            None => {
                pristine = false;
                facts()
                    .timestamp
                    .ok_or_else(|| EnvelopeError::MissingField("timestamp".into()))?
            }
        };
        let tags = match index.tags {
            Some(span) => SharedJson::new(Arc::clone(&text), &span)
                .ok_or_else(|| EnvelopeError::Invalid("`tags` could not be kept".into()))
                .and_then(|raw| {
                    Tags::checked(raw).map_err(|source| EnvelopeError::InvalidField {
                        field: "tags".into(),
                        source,
                    })
                })?,
            None => Tags::new(),
        };
        if let Some(eem) = &index.eem {
            check_eem(eem.get(&text))?;
        }
        Ok(Self {
            text: Text::Shared(text),
            pristine,
            id,
            event_type,
            timestamp,
            partition_key: index.partition_key,
            tags,
            raw: index.raw,
            eem: index.eem,
            s3: index.s3,
            fields: index.fields,
            decrypted: None,
        })
    }

    fn text(&self) -> &str {
        self.text.get()
    }

    fn changed(&mut self) {
        self.pristine = false;
    }

    // -- the standard fields

    /// Unique id of the event.
    pub fn id(&self) -> &str {
        self.id.get(self.text())
    }

    /// The event type, e.g. `thing-created` (`type` in JSON).
    pub fn event_type(&self) -> &str {
        self.event_type.get(self.text())
    }

    /// When the event happened, in epoch milliseconds.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// Usually the entity id or a correlation id; keeps related events in order.
    pub fn partition_key(&self) -> Option<&str> {
        self.partition_key.as_ref().map(|k| k.get(self.text()))
    }

    /// Standard and custom tags.
    pub fn tags(&self) -> &Tags {
        &self.tags
    }

    /// The tags, to change them.
    pub fn tags_mut(&mut self) -> &mut Tags {
        self.changed();
        &mut self.tags
    }

    /// `raw`, the source-native payload (DynamoDB gives `{new, old}`), as JSON text.
    pub fn raw_json(&self) -> Option<&str> {
        self.raw.as_ref().map(|r| r.get(self.text()))
    }

    /// `eem`, the field-level encryption metadata, as JSON text.
    pub fn eem_json(&self) -> Option<&str> {
        self.eem.as_ref().map(|r| r.get(self.text()))
    }

    /// The claim-check pointer, for events stored in S3.
    pub fn s3(&self) -> Option<&S3Pointer> {
        self.s3.as_ref()
    }

    /// Sets the id.
    pub fn set_id(&mut self, id: impl Into<String>) {
        self.changed();
        self.id = Piece::from(id.into());
    }

    /// Sets the type; an empty type is refused.
    pub fn set_event_type(&mut self, event_type: impl Into<String>) -> Result<(), EnvelopeError> {
        let event_type = event_type.into();
        if event_type.is_empty() {
            return Err(EnvelopeError::Invalid("the event type is empty".into()));
        }
        self.changed();
        self.event_type = Piece::from(event_type);
        Ok(())
    }

    /// Sets the timestamp in epoch milliseconds.
    pub fn set_timestamp(&mut self, epoch_millis: i64) {
        self.changed();
        self.timestamp = epoch_millis;
    }

    /// Sets or clears the partition key.
    pub fn set_partition_key(&mut self, key: Option<String>) {
        self.changed();
        self.partition_key = key.map(Piece::from);
    }

    /// Sets `raw`.
    pub fn set_raw<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EnvelopeError> {
        self.raw = Some(to_piece("raw", value)?);
        self.changed();
        Ok(())
    }

    /// Removes `raw`.
    pub fn remove_raw(&mut self) {
        self.changed();
        self.raw = None;
    }

    /// Sets `eem`.
    pub fn set_eem<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EnvelopeError> {
        self.eem = Some(to_piece("eem", value)?);
        self.changed();
        Ok(())
    }

    /// Removes `eem`.
    pub fn remove_eem(&mut self) {
        self.changed();
        self.eem = None;
    }

    /// Sets or clears the claim-check pointer.
    pub fn set_s3(&mut self, pointer: Option<S3Pointer>) {
        self.changed();
        self.s3 = pointer;
    }

    // -- the entity and the other fields

    /// The name of the entity field: the field named after the first segment of the type
    /// (`order` for `order-placed`) if present, otherwise the only non-standard field.
    pub fn entity_name(&self) -> Option<&str> {
        let text = self.text();
        let prefix = self.event_type().split('-').next().unwrap_or_default();
        if let Some((name, _)) = self
            .fields
            .iter()
            .find(|(name, _)| name.get(text) == prefix)
        {
            return Some(name.get(text));
        }
        match self.fields.as_slice() {
            [(name, _)] => Some(name.get(text)),
            _ => None,
        }
    }

    /// Reads the entity (see [`Envelope::entity_name`]) as a `T`.
    pub fn entity<T: DeserializeOwned>(&self) -> Result<T, EnvelopeError> {
        self.entity_ref()
    }

    /// Reads the entity as a `T` that may borrow from the envelope (`&str` fields, or
    /// `Cow<str>` with `#[serde(borrow)]`), which saves copying its strings.
    pub fn entity_ref<'a, T: Deserialize<'a>>(&'a self) -> Result<T, EnvelopeError> {
        let name = self
            .entity_name()
            .ok_or_else(|| EnvelopeError::MissingField(entity_hint(self.event_type())))?;
        self.field_ref(name)
    }

    /// Reads a non-standard field as a `T` that may borrow from the envelope.
    pub fn field_ref<'a, T: Deserialize<'a>>(&'a self, name: &str) -> Result<T, EnvelopeError> {
        let json = self
            .field_json(name)
            .ok_or_else(|| EnvelopeError::MissingField(name.to_string()))?;
        serde_json::from_str(json).map_err(|source| EnvelopeError::InvalidField {
            field: name.to_string(),
            source,
        })
    }

    /// Reads a non-standard field (an entity such as `order`, or any unknown field) as a `T`.
    pub fn field<T: DeserializeOwned>(&self, name: &str) -> Result<T, EnvelopeError> {
        self.field_ref(name)
    }

    /// A non-standard field as JSON text.
    pub fn field_json(&self, name: &str) -> Option<&str> {
        let text = self.text();
        self.fields
            .iter()
            .find(|(n, _)| n.get(text) == name)
            .map(|(_, v)| v.get(text))
    }

    /// Every non-standard field and its JSON text, in the order they were read or set.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        let text = self.text();
        self.fields
            .iter()
            .map(move |(n, v)| (n.get(text), v.get(text)))
    }

    /// Sets a non-standard field (replacing one of the same name).
    pub fn set_field<T: Serialize + ?Sized>(
        &mut self,
        name: &str,
        value: &T,
    ) -> Result<(), EnvelopeError> {
        if STANDARD_FIELDS.contains(&name) {
            return Err(EnvelopeError::Invalid(format!(
                "`{name}` is a standard envelope field, not an entity"
            )));
        }
        let json = to_piece(name, value)?;
        self.changed();
        let text = self.text.get();
        match self.fields.iter_mut().find(|(n, _)| n.get(text) == name) {
            Some(slot) => slot.1 = json,
            None => self.fields.push((Piece::from(name), json)),
        }
        Ok(())
    }

    /// Removes a non-standard field, returning its JSON text.
    pub fn remove_field(&mut self, name: &str) -> Option<String> {
        let text = self.text();
        let at = self.fields.iter().position(|(n, _)| n.get(text) == name)?;
        let json = self.fields[at].1.get(text).to_string();
        self.changed();
        self.fields.remove(at);
        Some(json)
    }

    /// Reads `raw` as a `T`.
    pub fn raw_as<T: DeserializeOwned>(&self) -> Result<T, EnvelopeError> {
        let raw = self
            .raw_json()
            .ok_or_else(|| EnvelopeError::MissingField("raw".into()))?;
        serde_json::from_str(raw).map_err(|source| EnvelopeError::InvalidField {
            field: "raw".into(),
            source,
        })
    }

    /// True when the event was made by a test (`tags.skip: true`); sources drop these unless
    /// told otherwise.
    pub fn is_skipped(&self) -> bool {
        self.tags.is_skip()
    }

    /// The field names listed as encrypted in `eem.fields`, and those decrypted on the way in:
    /// what fault events and `Debug` redact.
    pub fn encrypted_fields(&self) -> Vec<String> {
        let mut fields = self.eem_fields().unwrap_or_default();
        if let Some(decrypted) = &self.decrypted {
            fields.extend(decrypted.iter().cloned());
        }
        fields
    }

    /// True when the fields of this event were decrypted on the way in: it holds plaintext
    /// that must not leave the service unencrypted.
    pub fn was_decrypted(&self) -> bool {
        self.decrypted.is_some()
    }

    /// Marks the fields decrypted on the way in.
    pub(crate) fn set_decrypted_fields(&mut self, fields: Vec<String>) {
        self.decrypted = Some(fields.into());
    }

    /// The fields the `eem` names; `Err` when there is an `eem` that cannot be read (so
    /// redaction must assume it names everything).
    pub(crate) fn eem_fields(&self) -> Result<Vec<String>, EnvelopeError> {
        #[derive(Deserialize)]
        struct Eem {
            #[serde(default)]
            fields: Option<Vec<String>>,
        }
        match self.eem_json() {
            None => Ok(Vec::new()),
            Some(raw) if raw.trim() == "null" => Ok(Vec::new()),
            Some(raw) if !raw.trim_start().starts_with('{') => Err(EnvelopeError::Invalid(
                "`eem` must be an object naming the encrypted `fields`".into(),
            )),
            Some(raw) => serde_json::from_str::<Eem>(raw)
                .map(|eem| eem.fields.unwrap_or_default())
                .map_err(|source| EnvelopeError::InvalidField {
                    field: "eem".into(),
                    source,
                }),
        }
    }

    // -- writing

    /// Serializes the envelope to JSON: an envelope read and not changed since is its text
    /// as it came; otherwise the fields in the order `id`, `type`, `timestamp`,
    /// `partitionKey`, `tags`, the other fields, `raw`, `eem`, `s3`.
    pub fn to_json(&self) -> String {
        if self.pristine {
            return self.text().trim().to_string();
        }
        let mut out = String::with_capacity(self.estimated_json_len());
        self.write_json(&mut out, |out| self.tags.write_json(out));
        out
    }

    /// [`Envelope::to_json`], and where the id, type and key are in it.
    pub(crate) fn to_json_with_spans(&self) -> (String, Spans) {
        if self.pristine {
            return (self.to_json(), Spans::default());
        }
        let mut out = String::with_capacity(self.estimated_json_len());
        let spans = self.write_json(&mut out, |out| self.tags.write_json(out));
        (out, spans)
    }

    /// The envelope as JSON with the standard tags it lacks (and `pipeline`) added; its own
    /// tags win. This is what `publish` writes, without copying the envelope.
    pub fn to_json_with_tags(&self, defaults: &Tags, pipeline: &str) -> String {
        self.to_json_with_tags_and_spans(defaults, pipeline).0
    }

    /// [`Envelope::to_json_with_tags`], and where the id, type and key are in it.
    pub(crate) fn to_json_with_tags_and_spans(
        &self,
        defaults: &Tags,
        pipeline: &str,
    ) -> (String, Spans) {
        let tags = TagsWithDefaults {
            tags: &self.tags,
            defaults,
            pipeline,
        };
        if tags.adds_nothing() {
            return self.to_json_with_spans();
        }
        let extra = 16 * defaults.len() + pipeline.len() + 16;
        let mut out = String::with_capacity(self.estimated_json_len() + extra);
        let spans = self.write_json(&mut out, |out| tags.write_json(out));
        (out, spans)
    }

    /// The envelope as JSON with `tags` (an already-written tags object) in place of its own,
    /// and where the id, type and key are in it.
    pub(crate) fn to_json_with_raw_tags(&self, tags: &str) -> (String, Spans) {
        let mut out = String::with_capacity(self.estimated_json_len() + tags.len());
        let spans = self.write_json(&mut out, |out| out.push_str(tags));
        (out, spans)
    }

    fn write_json(&self, out: &mut String, write_tags: impl FnOnce(&mut String)) -> Spans {
        use std::fmt::Write as _;
        let text = self.text();
        let mut spans = Spans::default();
        out.push('{');
        codec::write_key(out, "id", true);
        spans.id = codec::write_str(out, self.id.get(text));
        codec::write_key(out, "type", false);
        spans.event_type = codec::write_str(out, self.event_type.get(text));
        codec::write_key(out, "timestamp", false);
        // Writing into a `String` cannot fail.
        let _ = write!(out, "{}", self.timestamp);
        if let Some(key) = &self.partition_key {
            codec::write_key(out, "partitionKey", false);
            spans.partition_key = codec::write_str(out, key.get(text));
        }
        codec::write_key(out, "tags", false);
        write_tags(out);
        for (name, value) in &self.fields {
            codec::write_key(out, name.get(text), false);
            out.push_str(value.get(text));
        }
        if let Some(raw) = &self.raw {
            codec::write_key(out, "raw", false);
            out.push_str(raw.get(text));
        }
        if let Some(eem) = &self.eem {
            codec::write_key(out, "eem", false);
            out.push_str(eem.get(text));
        }
        if let Some(s3) = &self.s3 {
            codec::write_key(out, "s3", false);
            out.push_str(serde_json::to_string(s3).as_deref().unwrap_or("null"));
        }
        out.push('}');
        spans
    }

    /// About how long the JSON will be, so it is written into one allocation.
    fn estimated_json_len(&self) -> usize {
        let piece_len = |p: &Option<Piece>| p.as_ref().map_or(0, |p| p.len() + 16);
        64 + self.id.len()
            + self.event_type.len()
            + piece_len(&self.partition_key)
            + self.tags.estimated_json_len()
            + self
                .fields
                .iter()
                .map(|(n, v)| n.len() + v.len() + 4)
                .sum::<usize>()
            + piece_len(&self.raw)
            + piece_len(&self.eem)
            + self
                .s3
                .as_ref()
                .map_or(0, |s| s.bucket.len() + s.key.len() + 32)
    }
}

/// The standard tags and `pipeline` as a JSON object, written once and reused for every event
/// that has no tags of its own.
pub(crate) fn standard_tags_json(defaults: &Tags, pipeline: &str) -> String {
    let empty = Tags::new();
    let tags = TagsWithDefaults {
        tags: &empty,
        defaults,
        pipeline,
    };
    let mut out = String::with_capacity(256);
    tags.write_json(&mut out);
    out
}

fn to_piece<T: Serialize + ?Sized>(field: &str, value: &T) -> Result<Piece, EnvelopeError> {
    serde_json::to_string(value)
        .map(Piece::from)
        .map_err(|source| EnvelopeError::InvalidField {
            field: field.to_string(),
            source,
        })
}

fn entity_hint(event_type: &str) -> String {
    event_type
        .split('-')
        .next()
        .unwrap_or(event_type)
        .to_string()
}

/// The current time in epoch milliseconds.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl PartialEq for Envelope {
    /// Equal when every field is equal, JSON values compared as text.
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.text(), other.text());
        let piece_eq = |x: &Option<Piece>, y: &Option<Piece>| {
            x.as_ref().map(|p| p.get(a)) == y.as_ref().map(|p| p.get(b))
        };
        self.id() == other.id()
            && self.event_type() == other.event_type()
            && self.timestamp == other.timestamp
            && self.partition_key() == other.partition_key()
            && self.tags == other.tags
            && piece_eq(&self.raw, &other.raw)
            && piece_eq(&self.eem, &other.eem)
            && self.s3 == other.s3
            && self.fields().eq(other.fields())
    }
}

/// An `eem` must name its encrypted fields readably, or redaction could not find them: fail
/// closed with a decode error rather than publish a fault with the fields in clear.
fn check_eem(eem: &str) -> Result<(), EnvelopeError> {
    #[derive(Deserialize)]
    struct Eem {
        #[serde(default)]
        #[allow(dead_code)]
        fields: Option<Vec<String>>,
    }
    let eem = eem.trim();
    if eem == "null" {
        return Ok(());
    }
    if !eem.starts_with('{') {
        return Err(EnvelopeError::Invalid(
            "`eem` must be an object naming the encrypted `fields`".into(),
        ));
    }
    serde_json::from_str::<Eem>(eem)
        .map(|_| ())
        .map_err(|source| EnvelopeError::InvalidField {
            field: "eem".into(),
            source,
        })
}

/// The event as JSON with the fields its `eem` names redacted, as fault events show it: a
/// `Debug` print in a log must not leak what a fault would hide.
impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.eem.is_none() && self.decrypted.is_none() {
            return f.write_str(&self.to_json());
        }
        write!(f, "{}", redact::redacted_event(self))
    }
}

impl Serialize for Envelope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The JSON is already valid; handing it over as raw JSON keeps it as written.
        let json = RawValue::from_string(self.to_json()).map_err(serde::ser::Error::custom)?;
        json.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = Box::<RawValue>::deserialize(deserializer)?;
        Self::parse(json.get()).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
