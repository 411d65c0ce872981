//! The JSON reader the fast path uses to pick fields out of records and envelopes without
//! parsing the rest: sonic-rs, chosen by measurement (see docs/performance.md) and
//! kept behind these few functions so it can be swapped.

use std::borrow::Cow;

pub(crate) mod tree;

/// A JSON value as text, borrowed from the document it was found in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Value<'a> {
    raw: &'a str,
}

/// The value at `path` (object keys from the top) in the JSON `text`; `None` when it is not
/// there or the text is not JSON up to it.
pub(crate) fn get<'a>(text: &'a str, path: &[&str]) -> Option<Value<'a>> {
    let found = sonic_rs::get_from_str(text, path.iter().copied()).ok()?;
    let raw = found.as_raw_str();
    // The value is a slice of `text`; take it from `text` so it keeps that lifetime.
    let start = (raw.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    let raw = text.get(start..start + raw.len())?;
    Some(Value { raw })
}

/// The string at `path`, unescaped; borrowed from `text` when it has no escapes. The reader
/// already knows whether it met an escape, so the string is not scanned twice.
pub(crate) fn get_str<'a>(text: &'a str, path: &[&str]) -> Option<Cow<'a, str>> {
    use sonic_rs::JsonValueTrait;
    let found = sonic_rs::get_from_str(text, path.iter().copied()).ok()?;
    let value = found.as_str()?;
    let start = (value.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
    match text.get(start..start.wrapping_add(value.len())) {
        Some(borrowed) if borrowed.as_ptr() == value.as_ptr() => Some(Cow::Borrowed(borrowed)),
        _ => Some(Cow::Owned(value.to_string())),
    }
}

impl<'a> Value<'a> {
    /// The JSON text.
    pub(crate) fn raw(&self) -> &'a str {
        self.raw
    }

    /// The string, unescaped, if the value is one.
    pub(crate) fn as_str(&self) -> Option<Cow<'a, str>> {
        let inner = self.raw.strip_prefix('"')?.strip_suffix('"')?;
        if !inner.contains('\\') {
            return Some(Cow::Borrowed(inner));
        }
        serde_json::from_str::<String>(self.raw)
            .ok()
            .map(Cow::Owned)
    }

    /// The number, or a string of one.
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self.as_str() {
            Some(s) => s.trim().parse().ok(),
            None => self.raw.parse().ok(),
        }
        .filter(|n: &f64| n.is_finite())
    }

    /// The number as an integer (fractions truncated), or a string of one.
    pub(crate) fn as_i64(&self) -> Option<i64> {
        let text = match self.as_str() {
            Some(s) => s,
            None => Cow::Borrowed(self.raw),
        };
        if let Ok(n) = text.trim().parse::<i64>() {
            return Some(n);
        }
        let n: f64 = text.trim().parse().ok()?;
        if n.is_finite() && n.abs() < 9.0e18 {
            #[allow(clippy::cast_possible_truncation)]
            Some(n.trunc() as i64)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_found_by_path_and_read() {
        let text = r#"{"a":{"b":"x\ny","n":12.75,"s":" 7 "},"c":[1],"d":null}"#;
        assert_eq!(
            get(text, &["a", "b"]).and_then(|v| v.as_str()).as_deref(),
            Some("x\ny")
        );
        assert_eq!(get(text, &["a", "n"]).and_then(|v| v.as_f64()), Some(12.75));
        assert_eq!(get(text, &["a", "n"]).and_then(|v| v.as_i64()), Some(12));
        assert_eq!(get(text, &["a", "s"]).and_then(|v| v.as_i64()), Some(7));
        assert_eq!(get(text, &["c"]).map(|v| v.raw()), Some("[1]"));
        assert!(get(text, &["c"]).and_then(|v| v.as_str()).is_none());
        assert!(get(text, &["d"]).and_then(|v| v.as_f64()).is_none());
        assert!(get(text, &["a", "zz"]).is_none());
        assert!(get("not json", &["a"]).is_none());
        assert!(get("", &["a"]).is_none());
        assert!(matches!(
            get_str(text, &["a", "s"]),
            Some(Cow::Borrowed(" 7 "))
        ));
        assert!(matches!(get_str(text, &["a", "b"]), Some(Cow::Owned(s)) if s == "x\ny"));
        assert!(get_str(text, &["c"]).is_none());
    }
}
