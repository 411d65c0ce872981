//! The event envelope, in the JSON shape `aws-lambda-stream` writes.
//!
//! Decoding is lazy: the standard fields are parsed, every other field (the entity, `raw`,
//! `eem`, anything unknown) is kept as raw JSON text until a step asks for it, and written back
//! byte for byte. That keeps unknown fields on a round trip and keeps the codec cost close to
//! the cost of scanning the JSON once.

use std::fmt;
use std::sync::OnceLock;

use serde::de::{self, DeserializeOwned, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// A domain event: `id`, `type`, `timestamp`, `partitionKey`, `tags`, one entity field named
/// after the entity (`thing`, `order`, ...), and optional `raw`, `eem` and `s3`.
///
/// Fields the envelope does not know are kept in order and written back unchanged.
#[derive(Clone)]
pub struct Envelope {
    /// Unique id of the event.
    pub id: String,
    /// The event type, e.g. `thing-created` (`type` in JSON).
    pub event_type: String,
    /// When the event happened, in epoch milliseconds.
    pub timestamp: i64,
    /// Usually the entity id or a correlation id; keeps related events in order.
    pub partition_key: Option<String>,
    /// Standard and custom tags.
    pub tags: Tags,
    /// The source-native payload (DynamoDB gives `{new, old}`).
    pub raw: Option<Box<RawValue>>,
    /// Field-level encryption metadata.
    pub eem: Option<Box<RawValue>>,
    /// Claim-check pointer for events stored in S3.
    pub s3: Option<S3Pointer>,
    fields: Vec<(String, Box<RawValue>)>,
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
pub enum EnvelopeError {
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
            Self::InvalidField { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The names the envelope itself owns; everything else is an entity or unknown field.
const STANDARD_FIELDS: [&str; 8] = [
    "id",
    "type",
    "timestamp",
    "partitionKey",
    "tags",
    "raw",
    "eem",
    "s3",
];

impl Envelope {
    /// Starts building an event of the given type.
    pub fn builder(event_type: impl Into<String>) -> EnvelopeBuilder {
        EnvelopeBuilder {
            event_type: event_type.into(),
            id: None,
            timestamp: None,
            partition_key: None,
            tags: Tags::default(),
            raw: None,
            fields: Vec::new(),
            error: None,
        }
    }

    /// Parses an envelope from JSON bytes. `id`, `type` and `timestamp` are required.
    pub fn from_slice(json: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(json)
    }

    /// Serializes the envelope to JSON.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(self.estimated_json_len());
        // Serializing an envelope cannot fail: every field is a string, a number, a map of
        // tags or already-valid raw JSON.
        if serde_json::to_writer(&mut out, self).is_err() {
            return unreachable_json();
        }
        String::from_utf8(out).unwrap_or_else(|_| unreachable_json())
    }

    /// About how long the JSON will be, so it is written into one allocation.
    fn estimated_json_len(&self) -> usize {
        fn raw_len(raw: Option<&RawValue>) -> usize {
            raw.map_or(0, |r| r.get().len() + 8)
        }
        96 + self.id.len()
            + self.event_type.len()
            + self.partition_key.as_ref().map_or(0, String::len)
            + self
                .tags
                .raw
                .as_deref()
                .map_or(16 * self.tags.len(), |r| r.get().len())
            + self
                .fields
                .iter()
                .map(|(n, v)| n.len() + v.get().len() + 4)
                .sum::<usize>()
            + raw_len(self.raw.as_deref())
            + raw_len(self.eem.as_deref())
    }

    /// The name of the entity field: the field named after the first segment of the type
    /// (`order` for `order-placed`) if present, otherwise the only non-standard field.
    pub fn entity_name(&self) -> Option<&str> {
        let prefix = self.event_type.split('-').next().unwrap_or_default();
        if let Some((name, _)) = self.fields.iter().find(|(name, _)| name == prefix) {
            return Some(name);
        }
        match self.fields.as_slice() {
            [(name, _)] => Some(name),
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
            .ok_or_else(|| EnvelopeError::MissingField(entity_hint(&self.event_type)))?;
        self.field_ref(name)
    }

    /// Reads a non-standard field as a `T` that may borrow from the envelope.
    pub fn field_ref<'a, T: Deserialize<'a>>(&'a self, name: &str) -> Result<T, EnvelopeError> {
        let raw = self
            .field_raw(name)
            .ok_or_else(|| EnvelopeError::MissingField(name.to_string()))?;
        serde_json::from_str(raw.get()).map_err(|source| EnvelopeError::InvalidField {
            field: name.to_string(),
            source,
        })
    }

    /// Reads a non-standard field (an entity such as `order`, or any unknown field) as a `T`.
    pub fn field<T: DeserializeOwned>(&self, name: &str) -> Result<T, EnvelopeError> {
        self.field_ref(name)
    }

    /// A non-standard field as raw JSON.
    pub fn field_raw(&self, name: &str) -> Option<&RawValue> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
    }

    /// Every non-standard field, in the order they were read or set.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &RawValue)> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_ref()))
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
        let raw = serde_json::value::to_raw_value(value).map_err(|source| {
            EnvelopeError::InvalidField {
                field: name.to_string(),
                source,
            }
        })?;
        match self.fields.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = raw,
            None => self.fields.push((name.to_string(), raw)),
        }
        Ok(())
    }

    /// Removes a non-standard field, returning its raw JSON.
    pub fn remove_field(&mut self, name: &str) -> Option<Box<RawValue>> {
        let at = self.fields.iter().position(|(n, _)| n == name)?;
        Some(self.fields.remove(at).1)
    }

    /// Reads `raw` as a `T`.
    pub fn raw_as<T: DeserializeOwned>(&self) -> Result<T, EnvelopeError> {
        let raw = self
            .raw
            .as_ref()
            .ok_or_else(|| EnvelopeError::MissingField("raw".into()))?;
        serde_json::from_str(raw.get()).map_err(|source| EnvelopeError::InvalidField {
            field: "raw".into(),
            source,
        })
    }

    /// True when the event was made by a test (`tags.skip: true`); sources drop these unless
    /// told otherwise.
    pub fn is_skipped(&self) -> bool {
        self.tags.is_skip()
    }

    /// The field names listed as encrypted in `eem.fields`, which fault events redact.
    pub fn encrypted_fields(&self) -> Vec<String> {
        #[derive(Deserialize)]
        struct Eem {
            #[serde(default)]
            fields: Vec<String>,
        }
        self.eem
            .as_ref()
            .and_then(|raw| serde_json::from_str::<Eem>(raw.get()).ok())
            .map(|eem| eem.fields)
            .unwrap_or_default()
    }
}

fn entity_hint(event_type: &str) -> String {
    event_type
        .split('-')
        .next()
        .unwrap_or(event_type)
        .to_string()
}

#[cold]
fn unreachable_json() -> String {
    String::from("{}")
}

impl PartialEq for Envelope {
    /// Equal when every field is equal, raw JSON fields compared as text.
    fn eq(&self, other: &Self) -> bool {
        fn raw_eq(a: &Option<Box<RawValue>>, b: &Option<Box<RawValue>>) -> bool {
            a.as_ref().map(|r| r.get()) == b.as_ref().map(|r| r.get())
        }
        self.id == other.id
            && self.event_type == other.event_type
            && self.timestamp == other.timestamp
            && self.partition_key == other.partition_key
            && self.tags == other.tags
            && raw_eq(&self.raw, &other.raw)
            && raw_eq(&self.eem, &other.eem)
            && self.s3 == other.s3
            && self.fields.len() == other.fields.len()
            && self
                .fields
                .iter()
                .zip(&other.fields)
                .all(|((a, x), (b, y))| a == b && x.get() == y.get())
    }
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json())
    }
}

/// Builds an [`Envelope`]; see [`Envelope::builder`].
#[derive(Debug)]
pub struct EnvelopeBuilder {
    event_type: String,
    id: Option<String>,
    timestamp: Option<i64>,
    partition_key: Option<String>,
    tags: Tags,
    raw: Option<Box<RawValue>>,
    fields: Vec<(String, Box<RawValue>)>,
    error: Option<EnvelopeError>,
}

impl EnvelopeBuilder {
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

    /// Sets the entity field, e.g. `.entity("order", &order)`.
    pub fn entity<T: Serialize + ?Sized>(mut self, name: &str, value: &T) -> Self {
        if STANDARD_FIELDS.contains(&name) {
            self.error.get_or_insert(EnvelopeError::Invalid(format!(
                "`{name}` is a standard envelope field, not an entity"
            )));
            return self;
        }
        match serde_json::value::to_raw_value(value) {
            Ok(raw) => {
                self.fields.retain(|(n, _)| n != name);
                self.fields.push((name.to_string(), raw));
            }
            Err(source) => {
                self.error.get_or_insert(EnvelopeError::InvalidField {
                    field: name.to_string(),
                    source,
                });
            }
        }
        self
    }

    /// Sets `raw`, the source-native payload.
    pub fn raw<T: Serialize + ?Sized>(mut self, value: &T) -> Self {
        match serde_json::value::to_raw_value(value) {
            Ok(raw) => self.raw = Some(raw),
            Err(source) => {
                self.error.get_or_insert(EnvelopeError::InvalidField {
                    field: "raw".into(),
                    source,
                });
            }
        }
        self
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
            id: self.id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            event_type: self.event_type,
            timestamp: self.timestamp.unwrap_or_else(now_millis),
            partition_key: self.partition_key,
            tags: self.tags,
            raw: self.raw,
            eem: None,
            s3: None,
            fields: self.fields,
        })
    }
}

/// The current time in epoch milliseconds.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

// ---------------------------------------------------------------------------------------------
// Tags

/// A tag's value: tags are strings, numbers or booleans (anything else a producer wrote is
/// kept as it was written).
#[derive(Debug, Clone)]
pub enum TagValue {
    /// A string.
    String(String),
    /// A number.
    Number(serde_json::Number),
    /// A boolean.
    Bool(bool),
    /// `null`.
    Null,
    /// Any other JSON (an object or array some producer put in a tag), kept as written.
    Json(Box<RawValue>),
}

impl From<&str> for TagValue {
    fn from(s: &str) -> Self {
        Self::String(s.to_string())
    }
}

impl From<String> for TagValue {
    fn from(s: String) -> Self {
        Self::String(s)
    }
}

impl From<bool> for TagValue {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

impl From<i64> for TagValue {
    fn from(n: i64) -> Self {
        Self::Number(n.into())
    }
}

impl PartialEq for TagValue {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::String(a), Self::String(b)) => a == b,
            (Self::Number(a), Self::Number(b)) => a == b,
            (Self::Bool(a), Self::Bool(b)) => a == b,
            (Self::Null, Self::Null) => true,
            (Self::Json(a), Self::Json(b)) => a.get() == b.get(),
            _ => false,
        }
    }
}

impl TagValue {
    /// The value as a string slice, if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }
}

impl Serialize for TagValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::String(s) => serializer.serialize_str(s),
            Self::Number(n) => n.serialize(serializer),
            Self::Bool(b) => serializer.serialize_bool(*b),
            Self::Null => serializer.serialize_unit(),
            Self::Json(raw) => raw.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for TagValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        let text = raw.get();
        let parsed = match text.as_bytes().first() {
            Some(b'"') => serde_json::from_str(text).map(TagValue::String),
            Some(b't' | b'f') => serde_json::from_str(text).map(TagValue::Bool),
            Some(b'n') => Ok(TagValue::Null),
            Some(b'{' | b'[') => return Ok(TagValue::Json(raw)),
            _ => serde_json::from_str(text).map(TagValue::Number),
        };
        parsed.map_err(de::Error::custom)
    }
}

/// The `tags` object: `account`, `region`, `stage`, `source`, `functionname`, `pipeline`,
/// `skip` and any custom tags. Kept in the order read or inserted, so a round trip writes
/// them back as they came.
///
/// Tags read from an event stay raw JSON (checked, not copied apart) until they are looked
/// at or changed: most pipelines never touch them, and writing them back unchanged costs
/// one copy.
#[derive(Default, Clone)]
pub struct Tags {
    /// The tags as read, while they are unchanged.
    raw: Option<Box<RawValue>>,
    /// The tags as entries, parsed from `raw` on first use.
    entries: OnceLock<Vec<(String, TagValue)>>,
}

impl Tags {
    /// No tags.
    pub fn new() -> Self {
        Self::default()
    }

    fn entries(&self) -> &[(String, TagValue)] {
        self.entries.get_or_init(|| {
            self.raw
                .as_ref()
                .and_then(|raw| serde_json::from_str::<TagEntries>(raw.get()).ok())
                .map(|t| t.0)
                .unwrap_or_default()
        })
    }

    fn entries_mut(&mut self) -> &mut Vec<(String, TagValue)> {
        self.entries();
        // Changed tags are written from the entries from now on.
        self.raw = None;
        match self.entries.get_mut() {
            Some(entries) => entries,
            None => unreachable!("initialized just above"),
        }
    }

    /// Sets a tag (replacing one of the same name in place).
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<TagValue>) {
        let name = name.into();
        let value = value.into();
        let entries = self.entries_mut();
        match entries.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => entries.push((name, value)),
        }
    }

    /// A tag's value.
    pub fn get(&self, name: &str) -> Option<&TagValue> {
        self.entries()
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// A tag's value when it is a string.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(TagValue::as_str)
    }

    /// Adds every tag of `defaults` that is not set here (the event's own tags win).
    pub fn merge_defaults(&mut self, defaults: &Tags) {
        let missing: Vec<(String, TagValue)> = defaults
            .iter()
            .filter(|(name, _)| self.get(name).is_none())
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect();
        if !missing.is_empty() {
            self.entries_mut().extend(missing);
        }
    }

    /// True for `skip: true` (or the string `"true"`, as some producers write it).
    pub fn is_skip(&self) -> bool {
        // Most events have no `skip` tag: answer without parsing them.
        if let (None, Some(raw)) = (self.entries.get(), &self.raw)
            && !raw.get().contains("skip")
        {
            return false;
        }
        match self.get("skip") {
            Some(TagValue::Bool(b)) => *b,
            Some(TagValue::String(s)) => s == "true",
            _ => false,
        }
    }

    /// Iterates over the tags in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &TagValue)> {
        self.entries().iter().map(|(k, v)| (k.as_str(), v))
    }

    /// How many tags there are.
    pub fn len(&self) -> usize {
        self.entries().len()
    }

    /// True when there are no tags.
    pub fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }

    /// True when every tag of `names` is set.
    pub(crate) fn has_all<'a>(&self, mut names: impl Iterator<Item = &'a str>) -> bool {
        names.all(|name| self.get(name).is_some())
    }
}

impl PartialEq for Tags {
    fn eq(&self, other: &Self) -> bool {
        self.entries() == other.entries()
    }
}

impl fmt::Debug for Tags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Tags {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Some(raw) = &self.raw {
            return raw.serialize(serializer);
        }
        let entries = self.entries();
        let mut map = serializer.serialize_map(Some(entries.len()))?;
        for (name, value) in entries {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// Tags written with defaults for the ones missing (what `publish` adds to every event).
pub(crate) struct TagsWithDefaults<'a> {
    pub(crate) tags: &'a Tags,
    pub(crate) defaults: &'a Tags,
    pub(crate) pipeline: &'a str,
}

impl Serialize for TagsWithDefaults<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in self.tags.iter() {
            map.serialize_entry(name, value)?;
        }
        for (name, value) in self.defaults.iter() {
            if self.tags.get(name).is_none() {
                map.serialize_entry(name, value)?;
            }
        }
        if self.tags.get("pipeline").is_none() && self.defaults.get("pipeline").is_none() {
            map.serialize_entry("pipeline", self.pipeline)?;
        }
        map.end()
    }
}

/// The tags as entries (parsing raw tags on first use).
struct TagEntries(Vec<(String, TagValue)>);

impl<'de> Deserialize<'de> for TagEntries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = TagEntries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of tags")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TagEntries, A::Error> {
                let mut entries: Vec<(String, TagValue)> =
                    Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((name, value)) = map.next_entry::<String, TagValue>()? {
                    match entries.iter_mut().find(|(n, _)| *n == name) {
                        Some(slot) => slot.1 = value,
                        None => entries.push((name, value)),
                    }
                }
                Ok(TagEntries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

impl<'de> Deserialize<'de> for Tags {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Kept raw: checked only to be an object (its JSON is valid already); the entries are
        // read when a step looks at them.
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        if !raw.get().starts_with('{') {
            return Err(de::Error::custom("`tags` must be an object"));
        }
        Ok(Self {
            raw: Some(raw),
            entries: OnceLock::new(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Serde

impl Serialize for Envelope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.serialize_with_tags(serializer, &self.tags)
    }
}

impl Envelope {
    /// Serializes the envelope with `tags` in place of its own.
    fn serialize_with_tags<S: Serializer, T: Serialize + ?Sized>(
        &self,
        serializer: S,
        tags: &T,
    ) -> Result<S::Ok, S::Error> {
        let len = 4
            + usize::from(self.partition_key.is_some())
            + self.fields.len()
            + usize::from(self.raw.is_some())
            + usize::from(self.eem.is_some())
            + usize::from(self.s3.is_some());
        let mut map = serializer.serialize_map(Some(len))?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("type", &self.event_type)?;
        map.serialize_entry("timestamp", &self.timestamp)?;
        if let Some(key) = &self.partition_key {
            map.serialize_entry("partitionKey", key)?;
        }
        map.serialize_entry("tags", tags)?;
        for (name, value) in &self.fields {
            map.serialize_entry(name, value)?;
        }
        if let Some(raw) = &self.raw {
            map.serialize_entry("raw", raw)?;
        }
        if let Some(eem) = &self.eem {
            map.serialize_entry("eem", eem)?;
        }
        if let Some(s3) = &self.s3 {
            map.serialize_entry("s3", s3)?;
        }
        map.end()
    }

    /// The envelope as JSON with the standard tags it lacks (and `pipeline`) added; its own
    /// tags win. This is what `publish` writes, without copying the envelope.
    pub fn to_json_with_tags(&self, defaults: &Tags, pipeline: &str) -> String {
        let standard = defaults.iter().map(|(n, _)| n);
        if self.tags.has_all(standard) && self.tags.get("pipeline").is_some() {
            return self.to_json();
        }
        let tags = TagsWithDefaults {
            tags: &self.tags,
            defaults,
            pipeline,
        };
        let extra: usize = defaults
            .iter()
            .map(|(n, v)| n.len() + v.as_str().map_or(8, str::len) + 6)
            .sum();
        let mut out = Vec::with_capacity(self.estimated_json_len() + extra + pipeline.len() + 16);
        let mut serializer = serde_json::Serializer::new(&mut out);
        if self.serialize_with_tags(&mut serializer, &tags).is_err() {
            return self.to_json();
        }
        String::from_utf8(out).unwrap_or_else(|_| self.to_json())
    }

    /// The envelope as JSON with `tags` (an already-written tags object) in place of its own.
    pub(crate) fn to_json_with_raw_tags(&self, tags: &RawValue) -> String {
        let mut out = Vec::with_capacity(self.estimated_json_len() + tags.get().len());
        let mut serializer = serde_json::Serializer::new(&mut out);
        if self.serialize_with_tags(&mut serializer, tags).is_err() {
            return self.to_json();
        }
        String::from_utf8(out).unwrap_or_else(|_| self.to_json())
    }
}

/// The standard tags and `pipeline` as a JSON object, written once and reused for every event
/// that has no tags of its own.
pub(crate) fn standard_tags_json(defaults: &Tags, pipeline: &str) -> Option<Box<RawValue>> {
    let empty = Tags::new();
    let tags = TagsWithDefaults {
        tags: &empty,
        defaults,
        pipeline,
    };
    serde_json::value::to_raw_value(&tags).ok()
}

/// An envelope as read, before the source fills in what the producer left out (Kinesis
/// defaults `id` to the record's eventID, for example).
#[derive(Debug)]
pub(crate) struct PartialEnvelope {
    pub(crate) id: Option<String>,
    pub(crate) event_type: Option<String>,
    pub(crate) timestamp: Option<i64>,
    envelope: Envelope,
}

impl PartialEnvelope {
    /// Completes the envelope with defaults for `id` and `timestamp`; `type` is required.
    pub(crate) fn complete(
        self,
        default_id: impl FnOnce() -> Option<String>,
        default_timestamp: impl FnOnce() -> Option<i64>,
    ) -> Result<Envelope, String> {
        let mut envelope = self.envelope;
        envelope.event_type = match self.event_type {
            Some(t) if !t.is_empty() => t,
            Some(_) => return Err("the envelope's `type` is empty".into()),
            None => return Err("the envelope has no `type`".into()),
        };
        envelope.id = match self.id.or_else(default_id) {
            Some(id) => id,
            None => return Err("the envelope has no `id`".into()),
        };
        envelope.timestamp = match self.timestamp.or_else(default_timestamp) {
            Some(ts) => ts,
            None => return Err("the envelope has no `timestamp`".into()),
        };
        Ok(envelope)
    }
}

#[allow(clippy::enum_variant_names)] // named after the JSON keys
enum Key {
    Id,
    Type,
    Timestamp,
    PartitionKey,
    Tags,
    Raw,
    Eem,
    S3,
    Other(String),
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "id" => Key::Id,
                    "type" => Key::Type,
                    "timestamp" => Key::Timestamp,
                    "partitionKey" => Key::PartitionKey,
                    "tags" => Key::Tags,
                    "raw" => Key::Raw,
                    "eem" => Key::Eem,
                    "s3" => Key::S3,
                    other => Key::Other(other.to_string()),
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

/// Epoch milliseconds: an integer, or a float (truncated) as some producers write.
struct Millis(i64);

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MillisVisitor;
        impl Visitor<'_> for MillisVisitor {
            type Value = Millis;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a timestamp in epoch milliseconds")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Millis, E> {
                Ok(Millis(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Millis, E> {
                i64::try_from(v)
                    .map(Millis)
                    .map_err(|_| E::custom("timestamp out of range"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Millis, E> {
                if v.is_finite() && v.abs() < 9.0e15 {
                    #[allow(clippy::cast_possible_truncation)]
                    Ok(Millis(v.trunc() as i64))
                } else {
                    Err(E::custom("timestamp out of range"))
                }
            }
        }
        deserializer.deserialize_any(MillisVisitor)
    }
}

impl<'de> Deserialize<'de> for PartialEnvelope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EnvelopeVisitor;
        impl<'de> Visitor<'de> for EnvelopeVisitor {
            type Value = PartialEnvelope;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an event envelope (a JSON object)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PartialEnvelope, A::Error> {
                let mut id = None;
                let mut event_type = None;
                let mut timestamp = None;
                let mut partition_key = None;
                let mut tags = None;
                let mut raw = None;
                let mut eem = None;
                let mut s3 = None;
                let mut fields: Vec<(String, Box<RawValue>)> = Vec::new();
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Id => set_once(&mut id, "id", map.next_value::<String>()?)?,
                        Key::Type => {
                            set_once(&mut event_type, "type", map.next_value::<String>()?)?;
                        }
                        Key::Timestamp => {
                            set_once(&mut timestamp, "timestamp", map.next_value::<Millis>()?.0)?;
                        }
                        Key::PartitionKey => {
                            // Node producers sometimes write `partitionKey: null`; treat as unset.
                            if let Some(k) = map.next_value::<Option<String>>()? {
                                set_once(&mut partition_key, "partitionKey", k)?;
                            }
                        }
                        Key::Tags => {
                            if let Some(t) = map.next_value::<Option<Tags>>()? {
                                set_once(&mut tags, "tags", t)?;
                            }
                        }
                        // Kept as written, `null` included, so a round trip keeps it.
                        Key::Raw => raw = Some(map.next_value::<Box<RawValue>>()?),
                        Key::Eem => eem = Some(map.next_value::<Box<RawValue>>()?),
                        Key::S3 => s3 = map.next_value::<Option<S3Pointer>>()?,
                        Key::Other(name) => {
                            let value = map.next_value::<Box<RawValue>>()?;
                            if fields.iter().any(|(n, _)| *n == name) {
                                return Err(de::Error::custom(format_args!(
                                    "duplicate field `{name}`"
                                )));
                            }
                            fields.push((name, value));
                        }
                    }
                }
                Ok(PartialEnvelope {
                    id,
                    event_type,
                    timestamp,
                    envelope: Envelope {
                        id: String::new(),
                        event_type: String::new(),
                        timestamp: 0,
                        partition_key,
                        tags: tags.unwrap_or_default(),
                        raw,
                        eem,
                        s3,
                        fields,
                    },
                })
            }
        }
        deserializer.deserialize_map(EnvelopeVisitor)
    }
}

fn set_once<T, E: de::Error>(slot: &mut Option<T>, name: &str, value: T) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::custom(format_args!("duplicate field `{name}`")));
    }
    *slot = Some(value);
    Ok(())
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        PartialEnvelope::deserialize(deserializer)?
            .complete(|| None, || None)
            .map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Thing {
        id: String,
        name: String,
    }

    fn sample() -> &'static str {
        r#"{"id":"1","type":"thing-created","timestamp":1600000000000,"partitionKey":"t1","tags":{"account":"dev","skip":false,"retries":2},"thing":{"id":"t1","name":"Thing One"},"custom":[1,2,{"deep":null}],"raw":{"new":{"a":1},"old":null},"eem":{"fields":["name"]},"s3":{"bucket":"b","key":"k"}}"#
    }

    #[test]
    fn round_trip_is_byte_for_byte_in_canonical_order() {
        let envelope = Envelope::from_slice(sample().as_bytes()).expect("valid");
        assert_eq!(envelope.to_json(), sample());
    }

    #[test]
    fn unknown_fields_survive_and_are_readable() {
        let envelope = Envelope::from_slice(sample().as_bytes()).expect("valid");
        let custom: serde_json::Value = envelope.field("custom").expect("present");
        assert_eq!(custom, json!([1, 2, {"deep": null}]));
        assert_eq!(envelope.fields().count(), 2);
    }

    #[test]
    fn entity_is_found_by_type_prefix_and_typed() {
        let envelope = Envelope::from_slice(sample().as_bytes()).expect("valid");
        assert_eq!(envelope.entity_name(), Some("thing"));
        let thing: Thing = envelope.entity().expect("typed");
        assert_eq!(thing.name, "Thing One");
    }

    #[test]
    fn entities_can_be_borrowed() {
        #[derive(Deserialize)]
        struct ThingRef<'a> {
            name: &'a str,
            #[serde(borrow)]
            id: std::borrow::Cow<'a, str>,
        }
        let envelope = Envelope::from_slice(sample().as_bytes()).expect("valid");
        let thing: ThingRef<'_> = envelope.entity_ref().expect("borrowed");
        assert_eq!((thing.name, thing.id.as_ref()), ("Thing One", "t1"));
        assert!(envelope.field_ref::<ThingRef<'_>>("custom").is_err());
        assert!(matches!(
            envelope.field_ref::<ThingRef<'_>>("nope"),
            Err(EnvelopeError::MissingField(_))
        ));
    }

    #[test]
    fn chaine_variant_with_event_and_metadata_round_trips() {
        let json = r#"{"id":"e1","type":"order-placed","timestamp":1,"tags":{"source":"svc"},"event":{"orderId":"o1"},"metadata":{"version":2}}"#;
        let envelope = Envelope::from_slice(json.as_bytes()).expect("valid");
        assert_eq!(envelope.to_json(), json);
        // Two non-standard fields and none named `order`: no single entity.
        assert_eq!(envelope.entity_name(), None);
        let event: serde_json::Value = envelope.field("event").expect("present");
        assert_eq!(event["orderId"], "o1");
        let meta: serde_json::Value = envelope.field("metadata").expect("present");
        assert_eq!(meta["version"], 2);
    }

    #[test]
    fn missing_type_is_a_clear_error() {
        let err = Envelope::from_slice(br#"{"id":"1","timestamp":1}"#).expect_err("no type");
        assert!(err.to_string().contains("no `type`"), "{err}");
    }

    #[test]
    fn missing_id_and_timestamp_are_errors_for_plain_parsing() {
        let err = Envelope::from_slice(br#"{"type":"x","timestamp":1}"#).expect_err("no id");
        assert!(err.to_string().contains("no `id`"), "{err}");
        let err = Envelope::from_slice(br#"{"type":"x","id":"1"}"#).expect_err("no ts");
        assert!(err.to_string().contains("no `timestamp`"), "{err}");
    }

    #[test]
    fn duplicate_fields_are_rejected() {
        let err = Envelope::from_slice(br#"{"id":"1","id":"2","type":"x","timestamp":1}"#)
            .expect_err("duplicate");
        assert!(err.to_string().contains("duplicate field `id`"), "{err}");
        let err = Envelope::from_slice(br#"{"id":"1","type":"x","timestamp":1,"a":1,"a":2}"#)
            .expect_err("duplicate");
        assert!(err.to_string().contains("duplicate field `a`"), "{err}");
    }

    #[test]
    fn wrong_shapes_are_errors_not_panics() {
        for bad in [
            &b"[]"[..],
            b"\"x\"",
            b"{\"id\":1,\"type\":\"x\",\"timestamp\":1}",
            b"{\"id\":\"1\",\"type\":\"x\",\"timestamp\":\"yesterday\"}",
            b"{\"id\":\"1\",\"type\":\"x\",\"timestamp\":1,\"tags\":[1]}",
            b"{\"id\":\"1\",\"type\":\"x\",\"timestamp\":1",
            b"",
        ] {
            assert!(
                Envelope::from_slice(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn float_timestamps_are_truncated_and_null_optionals_are_unset() {
        let envelope = Envelope::from_slice(
            br#"{"id":"1","type":"x","timestamp":1600000000000.7,"partitionKey":null,"tags":null,"raw":null}"#,
        )
        .expect("valid");
        assert_eq!(envelope.timestamp, 1_600_000_000_000);
        assert_eq!(envelope.partition_key, None);
        assert!(envelope.tags.is_empty());
        // `raw: null` is kept as written, so it survives a round trip.
        assert_eq!(envelope.raw.as_ref().map(|r| r.get()), Some("null"));
        assert!(envelope.to_json().ends_with(r#""raw":null}"#));
    }

    #[test]
    fn escaped_keys_are_matched() {
        let envelope =
            Envelope::from_slice(br#"{"\u0069d":"1","type":"x","timestamp":1}"#).expect("valid");
        assert_eq!(envelope.id, "1");
    }

    #[test]
    fn builder_sets_fields_and_rejects_standard_names() {
        let thing = Thing {
            id: "t1".into(),
            name: "n".into(),
        };
        let envelope = Envelope::builder("thing-updated")
            .id("e1")
            .timestamp(5)
            .partition_key("t1")
            .tag("source", "test")
            .entity("thing", &thing)
            .build()
            .expect("valid");
        assert_eq!(
            envelope.to_json(),
            r#"{"id":"e1","type":"thing-updated","timestamp":5,"partitionKey":"t1","tags":{"source":"test"},"thing":{"id":"t1","name":"n"}}"#
        );
        assert_eq!(envelope.entity::<Thing>().expect("typed"), thing);
        assert!(Envelope::builder("x").entity("tags", &1).build().is_err());
        assert!(Envelope::builder("").build().is_err());
        let generated = Envelope::builder("x").build().expect("valid");
        assert_eq!(generated.id.len(), 36);
        assert!(generated.timestamp > 1_600_000_000_000);
    }

    #[test]
    fn set_and_remove_fields() {
        let mut envelope = Envelope::builder("a-b")
            .id("1")
            .timestamp(1)
            .build()
            .expect("ok");
        envelope.set_field("a", &json!({"x": 1})).expect("ok");
        envelope.set_field("a", &json!({"x": 2})).expect("ok");
        assert_eq!(envelope.field::<serde_json::Value>("a").expect("a")["x"], 2);
        assert!(envelope.set_field("id", &1).is_err());
        assert!(envelope.remove_field("a").is_some());
        assert!(matches!(
            envelope.field::<u8>("a"),
            Err(EnvelopeError::MissingField(_))
        ));
        envelope.set_field("n", &"text").expect("ok");
        assert!(matches!(
            envelope.field::<u8>("n"),
            Err(EnvelopeError::InvalidField { .. })
        ));
    }

    #[test]
    fn skip_tag_and_encrypted_fields() {
        let envelope = Envelope::from_slice(
            br#"{"id":"1","type":"x","timestamp":1,"tags":{"skip":true},"eem":{"fields":["ssn","card"]}}"#,
        )
        .expect("valid");
        assert!(envelope.is_skipped());
        assert_eq!(envelope.encrypted_fields(), vec!["ssn", "card"]);
        let mut tags = Tags::new();
        tags.insert("skip", "true");
        assert!(tags.is_skip());
        tags.insert("skip", false);
        assert!(!tags.is_skip());
    }

    #[test]
    fn tags_stay_raw_until_read_and_odd_values_survive() {
        let json = r#"{"id":"1","type":"x","timestamp":1,"tags":{"b":2.5,"a":"s","n":null,"o":{"k":[1]},"t":true}}"#;
        let envelope = Envelope::from_slice(json.as_bytes()).expect("valid");
        assert_eq!(envelope.to_json(), json);
        assert_eq!(envelope.tags.get_str("a"), Some("s"));
        assert_eq!(envelope.tags.get("t"), Some(&TagValue::Bool(true)));
        assert_eq!(envelope.tags.get("n"), Some(&TagValue::Null));
        assert!(matches!(envelope.tags.get("b"), Some(TagValue::Number(_))));
        assert!(
            matches!(envelope.tags.get("o"), Some(TagValue::Json(raw)) if raw.get() == r#"{"k":[1]}"#)
        );
        let mut changed = envelope.clone();
        changed.tags.insert("a", "changed");
        assert!(changed.to_json().contains(r#""o":{"k":[1]},"t":true}"#));
        assert!(changed.to_json().contains(r#""a":"changed""#));
        assert_ne!(changed, envelope);
    }

    #[test]
    fn merge_defaults_keeps_event_tags() {
        let mut tags = Tags::new();
        tags.insert("source", "producer");
        let mut defaults = Tags::new();
        defaults.insert("source", "me");
        defaults.insert("stage", "dev");
        tags.merge_defaults(&defaults);
        assert_eq!(tags.get_str("source"), Some("producer"));
        assert_eq!(tags.get_str("stage"), Some("dev"));
        assert_eq!(tags.len(), 2);
    }
}
