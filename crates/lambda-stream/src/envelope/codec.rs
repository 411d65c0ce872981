//! Reading and writing envelope JSON.
//!
//! Reading makes one pass over the text with serde_json (which checks all of it), keeping the
//! standard fields as spans of the text and every other value as its JSON text, unparsed.
//! Writing appends the pieces to one buffer: unchanged values are copied, never re-encoded.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::text::Piece;
use super::{EnvelopeError, S3Pointer};

/// An envelope's fields as read, before the source fills in what the producer left out.
#[derive(Debug, Default)]
pub(crate) struct Index {
    pub(crate) id: Option<Piece>,
    pub(crate) event_type: Option<Piece>,
    pub(crate) timestamp: Option<i64>,
    pub(crate) partition_key: Option<Piece>,
    pub(crate) tags: Option<Piece>,
    pub(crate) raw: Option<Piece>,
    pub(crate) eem: Option<Piece>,
    pub(crate) s3: Option<S3Pointer>,
    pub(crate) fields: Vec<(Piece, Piece)>,
}

/// Reads `text` as an envelope object.
pub(crate) fn index(text: &str) -> Result<Index, EnvelopeError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let index = IndexSeed { text }
        .deserialize(&mut de)
        .map_err(EnvelopeError::Syntax)?;
    de.end().map_err(EnvelopeError::Syntax)?;
    Ok(index)
}

/// The value of the top-level `type` field, read without looking at the rest of the text
/// when `type` comes early (as every producer writes it). `None` when the text has no such
/// string field or is not JSON: the full read then says why.
pub(crate) fn peek_type(text: &str) -> Option<std::borrow::Cow<'_, str>> {
    crate::json::get_str(text, &["type"])
}

struct IndexSeed<'t> {
    text: &'t str,
}

impl<'de> DeserializeSeed<'de> for IndexSeed<'de> {
    type Value = Index;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Index, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for IndexSeed<'de> {
    type Value = Index;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event envelope (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Index, A::Error> {
        let text = self.text;
        let piece = |s: Text<'de>| match s {
            Text::Borrowed(s) => Piece::span_of(text, s),
            Text::Owned(s) => Piece::from(s),
        };
        let raw = |r: &'de RawValue| Piece::span_of(text, r.get());
        let mut index = Index::default();
        while let Some(key) = map.next_key::<Text<'de>>()? {
            match key.as_str() {
                "id" => set_once(&mut index.id, "id", piece(map.next_value()?))?,
                "type" => set_once(&mut index.event_type, "type", piece(map.next_value()?))?,
                "timestamp" => {
                    set_once(
                        &mut index.timestamp,
                        "timestamp",
                        map.next_value::<Millis>()?.0,
                    )?;
                }
                "partitionKey" => {
                    // Node producers sometimes write `partitionKey: null`; treat as unset.
                    if let Some(k) = map.next_value::<Option<Text<'de>>>()? {
                        set_once(&mut index.partition_key, "partitionKey", piece(k))?;
                    }
                }
                "tags" => {
                    let value: &'de RawValue = map.next_value()?;
                    match value.get().as_bytes().first() {
                        Some(b'{') => set_once(&mut index.tags, "tags", raw(value))?,
                        Some(b'n') => {}
                        _ => return Err(de::Error::custom("`tags` must be an object")),
                    }
                }
                // Kept as written, `null` included, so a round trip keeps it.
                "raw" => set_once(&mut index.raw, "raw", raw(map.next_value()?))?,
                "eem" => set_once(&mut index.eem, "eem", raw(map.next_value()?))?,
                "s3" => {
                    if let Some(pointer) = map.next_value::<Option<S3Pointer>>()? {
                        set_once(&mut index.s3, "s3", pointer)?;
                    }
                }
                _ => {
                    let value: &'de RawValue = map.next_value()?;
                    let name = piece(key);
                    if index
                        .fields
                        .iter()
                        .any(|(n, _)| n.get(text) == name.get(text))
                    {
                        return Err(de::Error::custom(format_args!(
                            "duplicate field `{}`",
                            name.get(text)
                        )));
                    }
                    index.fields.push((name, raw(value)));
                }
            }
        }
        Ok(index)
    }
}

fn set_once<T, E: de::Error>(slot: &mut Option<T>, name: &str, value: T) -> Result<(), E> {
    if slot.is_some() {
        return Err(E::custom(format_args!("duplicate field `{name}`")));
    }
    *slot = Some(value);
    Ok(())
}

/// A string as the parser gives it: lent from the text, or unescaped into its own buffer.
enum Text<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Text<'_> {
    fn as_str(&self) -> &str {
        match self {
            Self::Borrowed(s) => s,
            Self::Owned(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text::Owned(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text::Owned(v))
            }
        }
        deserializer.deserialize_str(TextVisitor)
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

/// Appends `s` as a JSON string. Most strings need no escaping and are copied as they are;
/// the others are escaped by serde_json, so the output is exactly serde_json's.
///
/// Returns where `s` itself is in `out` when it was copied as it is.
pub(crate) fn write_str(out: &mut String, s: &str) -> Option<(usize, usize)> {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        let start = out.len();
        out.push_str(s);
        let end = out.len();
        out.push('"');
        Some((start, end))
    } else {
        // Serializing a string cannot fail.
        out.push_str(serde_json::to_string(s).as_deref().unwrap_or("\"\""));
        None
    }
}

/// Appends `"name":`.
pub(crate) fn write_key(out: &mut String, name: &str, first: bool) {
    if !first {
        out.push(',');
    }
    write_str(out, name);
    out.push(':');
}

/// Where the standard strings were written in an envelope's JSON (when they needed no
/// escaping), so a publish entry can point at them instead of copying them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Spans {
    pub(crate) id: Option<(usize, usize)>,
    pub(crate) event_type: Option<(usize, usize)>,
    pub(crate) partition_key: Option<(usize, usize)>,
}
