//! The `tags` object, read lazily: tags read from an event stay JSON text (a span of the
//! event's text) until a step looks at them or changes them.

use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use super::text::SharedJson;

/// A tag's value: tags are strings, numbers or booleans (anything else a producer wrote is
/// kept as it was written).
#[derive(Debug, Clone)]
#[non_exhaustive]
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

    /// Appends the value's JSON to `out`.
    pub(crate) fn write_json(&self, out: &mut String) {
        use std::fmt::Write as _;
        match self {
            Self::String(s) => {
                super::codec::write_str(out, s);
            }
            // Writing into a `String` cannot fail.
            Self::Number(n) => {
                let _ = write!(out, "{n}");
            }
            Self::Bool(true) => out.push_str("true"),
            Self::Bool(false) => out.push_str("false"),
            Self::Null => out.push_str("null"),
            Self::Json(raw) => out.push_str(raw.get()),
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

/// True when a tags object's text has an escape or a number with an exponent or over 300
/// digits: the only ways a JSON object can fail to be tags.
fn could_be_invalid(text: &str) -> bool {
    let bytes = text.as_bytes();
    // memchr's vectorized searches: this runs for every event read.
    if memchr::memchr(b'\\', bytes).is_some() {
        return true;
    }
    let exponent = memchr::memchr2_iter(b'e', b'E', bytes)
        .any(|i| i > 0 && matches!(bytes[i - 1], b'0'..=b'9' | b'.'));
    if exponent {
        return true;
    }
    // Over 300 digits in a row: only possible in a text that long.
    bytes.len() > 300
        && bytes
            .split(|b| !b.is_ascii_digit())
            .any(|run| run.len() > 300)
}

/// The `tags` object: `account`, `region`, `stage`, `source`, `functionname`, `pipeline`,
/// `skip` and any custom tags. Kept in the order read or inserted, so a round trip writes
/// them back as they came.
///
/// Tags read from an event stay JSON text (checked, not copied apart) until they are looked
/// at or changed: most pipelines never touch them, and writing them back unchanged costs
/// one copy.
#[derive(Default, Clone)]
pub struct Tags {
    /// The tags as read, while they are unchanged.
    raw: Option<SharedJson>,
    /// The tags as entries, parsed from `raw` on first use.
    entries: OnceLock<Vec<(String, TagValue)>>,
}

impl Tags {
    /// No tags.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tags that are the JSON object `raw`, checked: an object that is not valid tags (a
    /// number out of range, a lone surrogate escape) is an error, never empty tags that
    /// `publish` would then replace. Only those two can make a JSON object invalid tags, and
    /// both need a backslash or an exponent: tags without either (nearly all) are checked by
    /// one scan and read when first used; the others are read now.
    pub(crate) fn checked(raw: SharedJson) -> Result<Self, serde_json::Error> {
        if !could_be_invalid(raw.get()) {
            return Ok(Self {
                raw: Some(raw),
                entries: OnceLock::new(),
            });
        }
        let entries = serde_json::from_str::<TagEntries>(raw.get())?.0;
        Ok(Self {
            raw: Some(raw),
            entries: OnceLock::from(entries),
        })
    }

    /// The tags' JSON text, while they are as they were read (before any change).
    pub fn raw_json(&self) -> Option<&str> {
        self.raw.as_ref().map(SharedJson::get)
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

    /// Removes a tag, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<TagValue> {
        let entries = self.entries_mut();
        let at = entries.iter().position(|(n, _)| n == name)?;
        Some(entries.remove(at).1)
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
        match (self.entries.get(), &self.raw) {
            (None, Some(raw)) => raw
                .get()
                .trim_start_matches('{')
                .trim_start()
                .starts_with('}'),
            _ => self.entries().is_empty(),
        }
    }

    /// True when every tag of `names` is set.
    pub(crate) fn has_all<'a>(&self, mut names: impl Iterator<Item = &'a str>) -> bool {
        names.all(|name| self.get(name).is_some())
    }

    /// Appends the tags' JSON object to `out`.
    pub(crate) fn write_json(&self, out: &mut String) {
        if let Some(raw) = &self.raw {
            out.push_str(raw.get());
            return;
        }
        write_entries(out, self.iter(), std::iter::empty());
    }

    /// About how long the JSON is.
    pub(crate) fn estimated_json_len(&self) -> usize {
        match &self.raw {
            Some(raw) => raw.get().len(),
            None => 2 + 24 * self.entries().len(),
        }
    }
}

/// Writes a JSON object of `tags` followed by `more`.
fn write_entries<'a>(
    out: &mut String,
    tags: impl Iterator<Item = (&'a str, &'a TagValue)>,
    more: impl Iterator<Item = (&'a str, &'a TagValue)>,
) {
    out.push('{');
    let mut first = true;
    for (name, value) in tags.chain(more) {
        super::codec::write_key(out, name, first);
        first = false;
        value.write_json(out);
    }
    out.push('}');
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
        let entries = self.entries();
        let mut map = serializer.serialize_map(Some(entries.len()))?;
        for (name, value) in entries {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Tags {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        if !raw.get().starts_with('{') {
            return Err(de::Error::custom("`tags` must be an object"));
        }
        let text = Arc::new(raw.get().to_string());
        let len = u32::try_from(text.len()).map_err(|_| de::Error::custom("tags too large"))?;
        let span = super::text::Piece::Span { start: 0, end: len };
        match SharedJson::new(text, &span) {
            Some(shared) => Self::checked(shared).map_err(de::Error::custom),
            None => Err(de::Error::custom("tags could not be kept")),
        }
    }
}

/// Tags written with defaults for the ones missing (what `publish` adds to every event).
pub(crate) struct TagsWithDefaults<'a> {
    pub(crate) tags: &'a Tags,
    pub(crate) defaults: &'a Tags,
    pub(crate) pipeline: &'a str,
}

impl TagsWithDefaults<'_> {
    /// True when writing them would add nothing to `tags`.
    pub(crate) fn adds_nothing(&self) -> bool {
        let standard = self.defaults.iter().map(|(n, _)| n);
        self.tags.has_all(standard) && self.tags.get("pipeline").is_some()
    }

    /// Appends the JSON object to `out`.
    pub(crate) fn write_json(&self, out: &mut String) {
        if self.adds_nothing() {
            self.tags.write_json(out);
            return;
        }
        let pipeline = TagValue::String(self.pipeline.to_string());
        let add_pipeline =
            self.tags.get("pipeline").is_none() && self.defaults.get("pipeline").is_none();
        let defaults = self
            .defaults
            .iter()
            .filter(|(name, _)| self.tags.get(name).is_none());
        let extra = add_pipeline.then_some(("pipeline", &pipeline));
        write_entries(out, self.tags.iter(), defaults.chain(extra));
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

#[cfg(test)]
mod check_tests {
    use super::could_be_invalid;

    #[test]
    fn only_escapes_exponents_and_huge_numbers_need_the_full_check() {
        assert!(!could_be_invalid(
            r#"{"account":"dev","stage":"test","n":12,"skip":true}"#
        ));
        // Conservative: a digit before an `e` inside a string takes the full check too.
        assert!(could_be_invalid(r#"{"stage":"e2e"}"#));
        assert!(could_be_invalid(r#"{"s":"\uD800"}"#));
        assert!(could_be_invalid(r#"{"n":1e400}"#));
        assert!(could_be_invalid(r#"{"n":1.5E3}"#));
        assert!(could_be_invalid(&format!(r#"{{"n":{}}}"#, "9".repeat(301))));
        assert!(!could_be_invalid(&format!(
            r#"{{"n":{}}}"#,
            "9".repeat(300)
        )));
    }
}
