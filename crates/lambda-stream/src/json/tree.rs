//! Rewriting a JSON document as text: its values are visited top down with their paths, members
//! in order, and only the values a visitor replaces are written anew; everything else is copied
//! byte for byte. Decompression, compression and field-level encryption are such rewrites (a
//! few values deep inside an event change, the rest must come out as it went in).
//!
//! Written here rather than through `serde_json::Value` because `Value` (without
//! `preserve_order`) sorts object members and re-formats numbers, and an event must keep both.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// Where a value is in its document: `restaurant.menu[3].name` (empty at the top).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Path(Vec<Segment>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

impl Path {
    /// The member's name, if the value is an object member (the last segment).
    pub(crate) fn key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Segment::Key(key)) => Some(key),
            _ => None,
        }
    }

    /// The array index as Node's `JSON.stringify` replacer sees it (`"3"`), or the key.
    pub(crate) fn name(&self) -> Option<Cow<'_, str>> {
        match self.0.last() {
            Some(Segment::Key(key)) => Some(Cow::Borrowed(key)),
            Some(Segment::Index(i)) => Some(Cow::Owned(i.to_string())),
            None => None,
        }
    }

    /// How deep the value is (0 for the document itself, 1 for a top-level member).
    pub(crate) fn depth(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(the document)");
        }
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// What a visitor decides for one value.
pub(crate) enum Visit {
    /// Keep it as it is, without looking inside.
    Keep,
    /// Write this JSON text in its place.
    Replace(String),
    /// Look inside (for an object or array; the same as `Keep` for anything else).
    Descend,
}

/// What a rewrite can fail with: the document is not JSON, or the visitor said no.
#[derive(Debug)]
pub(crate) enum RewriteError<E> {
    /// The text is not JSON.
    Syntax(serde_json::Error),
    /// The visitor's error.
    Visitor(E),
}

/// Rewrites `text`: `visit` is called for every value reached (the document itself first),
/// with its path. Returns `None` when nothing was replaced, so a caller can keep the text it
/// has.
pub(crate) fn rewrite<E>(
    text: &str,
    visit: &mut dyn FnMut(&Path, &RawValue) -> Result<Visit, E>,
) -> Result<Option<String>, RewriteError<E>> {
    let root: &RawValue = serde_json::from_str(text).map_err(RewriteError::Syntax)?;
    let mut path = Path::default();
    rewrite_value(root, &mut path, visit)
}

fn rewrite_value<E>(
    value: &RawValue,
    path: &mut Path,
    visit: &mut dyn FnMut(&Path, &RawValue) -> Result<Visit, E>,
) -> Result<Option<String>, RewriteError<E>> {
    match visit(path, value).map_err(RewriteError::Visitor)? {
        Visit::Keep => Ok(None),
        Visit::Replace(text) => Ok(Some(text)),
        Visit::Descend => match first_byte(value) {
            b'{' => {
                let members: Members<'_> =
                    serde_json::from_str(value.get()).map_err(RewriteError::Syntax)?;
                let mut changed: Vec<Option<String>> = Vec::with_capacity(members.0.len());
                for (key, member) in &members.0 {
                    path.0.push(Segment::Key(key.to_string()));
                    let result = rewrite_value(member, path, visit);
                    path.0.pop();
                    changed.push(result?);
                }
                if changed.iter().all(Option::is_none) {
                    return Ok(None);
                }
                let mut out = String::with_capacity(value.get().len());
                out.push('{');
                for (i, ((key, member), new)) in members.0.iter().zip(&changed).enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_key(&mut out, key);
                    out.push_str(new.as_deref().unwrap_or_else(|| member.get()));
                }
                out.push('}');
                Ok(Some(out))
            }
            b'[' => {
                let items: Vec<&RawValue> =
                    serde_json::from_str(value.get()).map_err(RewriteError::Syntax)?;
                let mut changed: Vec<Option<String>> = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    path.0.push(Segment::Index(index));
                    let result = rewrite_value(item, path, visit);
                    path.0.pop();
                    changed.push(result?);
                }
                if changed.iter().all(Option::is_none) {
                    return Ok(None);
                }
                let mut out = String::with_capacity(value.get().len());
                out.push('[');
                for (i, (item, new)) in items.iter().zip(&changed).enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(new.as_deref().unwrap_or_else(|| item.get()));
                }
                out.push(']');
                Ok(Some(out))
            }
            _ => Ok(None),
        },
    }
}

/// The first byte of a value's text (`{`, `[`, `"`, a digit, ...).
pub(crate) fn first_byte(value: &RawValue) -> u8 {
    value
        .get()
        .trim_start()
        .as_bytes()
        .first()
        .copied()
        .unwrap_or(b' ')
}

/// The string a value holds, unescaped (`None` when it is not a string).
pub(crate) fn as_str(value: &RawValue) -> Option<Cow<'_, str>> {
    if first_byte(value) != b'"' {
        return None;
    }
    let text = value.get().trim();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if !inner.contains('\\') {
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(text).ok().map(Cow::Owned)
}

/// The length of a value's JSON text with the whitespace between tokens left out: the bytes
/// `JSON.stringify` writes for it, for text written the way it writes (as serde_json does).
pub(crate) fn minified_len(text: &str) -> usize {
    let mut len = 0;
    let mut in_string = false;
    let mut escaped = false;
    for &byte in text.as_bytes() {
        if in_string {
            len += 1;
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
        } else if !matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
            len += 1;
            in_string = byte == b'"';
        }
    }
    len
}

/// `text` with the whitespace between tokens left out.
pub(crate) fn minified(text: &str) -> Cow<'_, str> {
    if minified_len(text) == text.len() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for ch in text.chars() {
        if in_string {
            out.push(ch);
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == '"' {
                in_string = false;
            }
        } else if !matches!(ch, ' ' | '\t' | '\n' | '\r') {
            out.push(ch);
            in_string = ch == '"';
        }
    }
    Cow::Owned(out)
}

/// A JSON string literal for `s`.
pub(crate) fn string_literal(s: &str) -> String {
    // Serializing a `str` cannot fail.
    serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\""))
}

fn write_key(out: &mut String, key: &str) {
    out.push_str(&string_literal(key));
    out.push(':');
}

/// An object's members in order, values as raw text.
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> de::Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for MembersVisitor<'a> {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(Key(key)) = map.next_key::<Key<'a>>()? {
                    let value: &'a RawValue = map.next_value()?;
                    members.push((key, value));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor(std::marker::PhantomData))
    }
}

/// A member name, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> de::Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for KeyVisitor<'a> {
            type Value = Key<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upper_strings(text: &str) -> Option<String> {
        rewrite::<()>(text, &mut |_, value| {
            Ok(match as_str(value) {
                Some(s) if s.starts_with('x') => Visit::Replace(string_literal(&s.to_uppercase())),
                _ => Visit::Descend,
            })
        })
        .expect("json")
    }

    #[test]
    fn only_replaced_values_are_written_anew() {
        let text = r#"{"b": 1.50, "a":{"z":"xy","n":[ "q", "xq" ]},"e":"\u00e9"}"#;
        assert_eq!(
            upper_strings(text).as_deref(),
            Some(r#"{"b":1.50,"a":{"z":"XY","n":["q","XQ"]},"e":"\u00e9"}"#),
            "member order, number text and untouched values kept"
        );
        assert_eq!(upper_strings(r#"{"a":"q"}"#), None, "nothing replaced");
    }

    #[test]
    fn paths_name_members_and_items() {
        let mut seen = Vec::new();
        rewrite::<()>(r#"{"a":[{"b":1}],"c\"d":2}"#, &mut |path, _| {
            seen.push((
                path.to_string(),
                path.depth(),
                path.name().map(Cow::into_owned),
            ));
            Ok(Visit::Descend)
        })
        .expect("json");
        assert_eq!(
            seen,
            vec![
                ("(the document)".into(), 0, None),
                ("a".into(), 1, Some("a".into())),
                ("a[0]".into(), 2, Some("0".into())),
                ("a[0].b".into(), 3, Some("b".into())),
                ("c\"d".into(), 1, Some("c\"d".into())),
            ]
        );
    }

    #[test]
    fn escaped_keys_are_written_back_escaped() {
        let out = rewrite::<()>(r#"{"k\n":"x"}"#, &mut |_, value| {
            Ok(match as_str(value) {
                Some(_) => Visit::Replace("1".into()),
                None => Visit::Descend,
            })
        })
        .expect("json");
        assert_eq!(out.as_deref(), Some(r#"{"k\n":1}"#));
    }

    #[test]
    fn a_visitor_error_and_bad_json_are_errors() {
        assert!(matches!(
            rewrite::<&str>(r#"{"a":1}"#, &mut |path, _| if path.depth() == 1 {
                Err("no")
            } else {
                Ok(Visit::Descend)
            }),
            Err(RewriteError::Visitor("no"))
        ));
        assert!(matches!(
            rewrite::<()>("{", &mut |_, _| Ok(Visit::Descend)),
            Err(RewriteError::Syntax(_))
        ));
    }

    #[test]
    fn minified_lengths_skip_whitespace_between_tokens_only() {
        assert_eq!(minified_len(r#"{ "a" : [1, 2] }"#), r#"{"a":[1,2]}"#.len());
        assert_eq!(
            minified_len(r#"{"a b":"c \" d"}"#),
            r#"{"a b":"c \" d"}"#.len()
        );
        assert_eq!(minified(r#"{ "a" : "x y" }"#), r#"{"a":"x y"}"#);
        assert!(matches!(minified(r#"{"a":1}"#), Cow::Borrowed(_)));
    }
}
