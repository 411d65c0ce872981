//! DynamoDB attribute values (`{"S": "a"}`, `{"N": "1.5"}`, ...) to plain JSON text, written
//! straight from the stream record's text:
//!
//! - attribute order is kept as the record has it, strings keep their escapes;
//! - numbers (`N`, `NS`) are written as the digits DynamoDB sent, never through a float, so
//!   38 significant digits and large exponents survive exactly (a number that is not one is
//!   an error, never `null`);
//! - binary values (`B`, `BS`) are the base64 text the stream carries (binary keys too);
//! - `SS`, `NS`, `BS` become arrays, `M` objects, `L` arrays, `NULL` null, `BOOL` booleans.

use std::fmt;

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// How deep maps and lists may nest (DynamoDB allows 32 levels).
const MAX_DEPTH: usize = 64;

/// An object's members in document order, values as raw text.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
                    out.push((key, value));
                }
                Ok(Members(out))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

/// Items of an array, as raw text.
struct Items<'a>(Vec<&'a RawValue>);

impl<'de> serde::Deserialize<'de> for Items<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemsVisitor;
        impl<'de> Visitor<'de> for ItemsVisitor {
            type Value = Items<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Items<'de>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(8));
                while let Some(value) = seq.next_element::<&'de RawValue>()? {
                    out.push(value);
                }
                Ok(Items(out))
            }
        }
        deserializer.deserialize_seq(ItemsVisitor)
    }
}

/// An item (`{"name": {"S": "..."}, ...}`) as plain JSON text.
pub(crate) fn item_to_json(item: &str) -> Result<String, String> {
    let mut out = String::with_capacity(item.len());
    write_map(item, &mut out, 0, "", None)?;
    Ok(out)
}

/// The single-table attributes that are not part of an entity (the Node library's omit list);
/// `aws:rep:*` (global tables) are left out too.
pub(crate) const NOT_ENTITY_ATTRIBUTES: &[&str] =
    &["pk", "sk", "discriminator", "ttl", "latched", "deleted"];

/// An item as its entity's JSON: the [`NOT_ENTITY_ATTRIBUTES`] and `aws:rep:*` left out, and
/// the `key` attribute (`pk`) as `id`.
pub(crate) fn item_to_entity_json(item: &str, key: &str) -> Result<String, String> {
    let mut out = String::with_capacity(item.len());
    write_map(item, &mut out, 0, "", Some(key))?;
    Ok(out)
}

fn write_map(
    text: &str,
    out: &mut String,
    depth: usize,
    path: &str,
    entity_key: Option<&str>,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("`{path}` nests deeper than {MAX_DEPTH} levels"));
    }
    let members: Members<'_> = serde_json::from_str(text)
        .map_err(|e| format!("`{}` is not a map of attributes: {e}", shown(path)))?;
    out.push('{');
    let has_key = entity_key.is_some_and(|key| members.0.iter().any(|(n, _)| n == key));
    let mut first = true;
    for (name, value) in &members.0 {
        let shown_name = match entity_key {
            Some(key) if name == key => "id",
            Some(_) if name == "id" && has_key => continue,
            Some(_)
                if NOT_ENTITY_ATTRIBUTES.contains(&name.as_str())
                    || name.starts_with("aws:rep:") =>
            {
                continue;
            }
            _ => name.as_str(),
        };
        if !first {
            out.push(',');
        }
        first = false;
        push_string(out, shown_name);
        out.push(':');
        let inner = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}.{name}")
        };
        write_attribute(value.get(), out, depth + 1, &inner)?;
    }
    out.push('}');
    Ok(())
}

fn write_attribute(text: &str, out: &mut String, depth: usize, path: &str) -> Result<(), String> {
    let members: Members<'_> = serde_json::from_str(text)
        .map_err(|e| format!("attribute `{path}` is not an attribute value: {e}"))?;
    let [(kind, value)] = members.0.as_slice() else {
        return Err(format!(
            "attribute `{path}` must have exactly one type (S, N, B, BOOL, NULL, M, L, SS, NS, BS)"
        ));
    };
    let value = value.get();
    match kind.as_str() {
        "S" | "B" => {
            expect_string(value, path, kind)?;
            out.push_str(value);
        }
        "N" => write_number(value, out, path)?,
        "BOOL" => match value.trim() {
            v @ ("true" | "false") => out.push_str(v),
            _ => return Err(format!("attribute `{path}`: BOOL must be true or false")),
        },
        "NULL" => out.push_str("null"),
        "M" => write_map(value, out, depth, path, None)?,
        "L" => {
            let items = items(value, path, kind)?;
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_attribute(item.get(), out, depth + 1, &format!("{path}[{i}]"))?;
            }
            out.push(']');
        }
        "SS" | "BS" | "NS" => {
            let items = items(value, path, kind)?;
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if kind == "NS" {
                    write_number(item.get(), out, path)?;
                } else {
                    expect_string(item.get(), path, kind)?;
                    out.push_str(item.get());
                }
            }
            out.push(']');
        }
        other => return Err(format!("attribute `{path}` has unknown type `{other}`")),
    }
    Ok(())
}

fn items<'a>(text: &'a str, path: &str, kind: &str) -> Result<Vec<&'a RawValue>, String> {
    serde_json::from_str::<Items<'a>>(text)
        .map(|items| items.0)
        .map_err(|e| format!("attribute `{path}`: {kind} must be an array: {e}"))
}

fn expect_string(text: &str, path: &str, kind: &str) -> Result<(), String> {
    if text.starts_with('"') {
        Ok(())
    } else {
        Err(format!("attribute `{path}`: {kind} must be a string"))
    }
}

/// A DynamoDB number (a JSON string of digits) written as a JSON number, digit for digit.
fn write_number(text: &str, out: &mut String, path: &str) -> Result<(), String> {
    let digits: String = serde_json::from_str(text)
        .map_err(|_| format!("attribute `{path}`: N must be a string of digits"))?;
    if !is_json_number(&digits) {
        return Err(format!(
            "attribute `{path}`: `{digits}` is not a number DynamoDB writes"
        ));
    }
    out.push_str(&digits);
    Ok(())
}

/// True for the JSON number grammar: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
pub(crate) fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i > start
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == b.len()
}

fn push_string(out: &mut String, s: &str) {
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

fn shown(path: &str) -> &str {
    if path.is_empty() { "the image" } else { path }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_converts_and_numbers_keep_their_digits() {
        let item = r#"{"pk":{"S":"a\"b"},"n":{"N":"123456789012345678901234567890"},"big":{"N":"1e400"},
            "b":{"B":"AAEC"},"bs":{"BS":["AA==","AQ=="]},"ok":{"BOOL":true},"none":{"NULL":true},
            "m":{"M":{"z":{"N":"-0.5"},"a":{"SS":["x","y"]}}},"l":{"L":[{"N":"1"},{"S":"s"}]},"ns":{"NS":["1","2.50"]}}"#;
        let json = item_to_json(item).expect("converts");
        assert_eq!(
            json,
            r#"{"pk":"a\"b","n":123456789012345678901234567890,"big":1e400,"b":"AAEC","bs":["AA==","AQ=="],"ok":true,"none":null,"m":{"z":-0.5,"a":["x","y"]},"l":[1,"s"],"ns":[1,2.50]}"#
        );
    }

    #[test]
    fn an_entity_leaves_the_table_attributes_out_and_takes_its_id_from_the_key() {
        let item = r#"{"pk":{"S":"o1"},"sk":{"S":"order"},"discriminator":{"S":"order"},"id":{"S":"ignored"},
            "status":{"S":"placed"},"ttl":{"N":"1"},"latched":{"BOOL":true},"deleted":{"NULL":true},
            "aws:rep:updateregion":{"S":"us-east-1"},"lines":{"L":[{"M":{"pk":{"S":"kept inside"}}}]}}"#;
        assert_eq!(
            item_to_entity_json(item, "pk").expect("converts"),
            r#"{"id":"o1","status":"placed","lines":[{"pk":"kept inside"}]}"#
        );
    }

    #[test]
    fn bad_attributes_are_errors_naming_the_path() {
        for (item, expected) in [
            (r#"{"a":{"N":"12abc"}}"#, "attribute `a`"),
            (r#"{"a":{"N":12}}"#, "N must be a string"),
            (
                r#"{"a":{"M":{"b":{"X":"1"}}}}"#,
                "`a.b` has unknown type `X`",
            ),
            (r#"{"a":{"S":"x","N":"1"}}"#, "exactly one type"),
            (r#"{"a":{"L":[{"N":"x"}]}}"#, "a[0]"),
            (r#"[1]"#, "not a map"),
        ] {
            let error = item_to_json(item).expect_err(item);
            assert!(error.contains(expected), "{item}: {error}");
        }
    }

    #[test]
    fn the_json_number_grammar() {
        for ok in [
            "0",
            "-0",
            "1",
            "10.25",
            "1e5",
            "1E+5",
            "-2.5e-10",
            "99999999999999999999999999999999999999",
        ] {
            assert!(is_json_number(ok), "{ok}");
        }
        for bad in [
            "", "-", "01", "1.", ".5", "1e", "+1", "NaN", "Infinity", "1 ", "0x10",
        ] {
            assert!(!is_json_number(bad), "{bad}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let mut item = String::from(r#"{"a":{"N":"1"}}"#);
        for _ in 0..100 {
            item = format!(r#"{{"a":{{"M":{item}}}}}"#);
        }
        assert!(item_to_json(&item).is_err());
    }
}
