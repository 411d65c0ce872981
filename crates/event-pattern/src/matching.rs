//! Matching one event against one pattern, as EventBridge does: every field of the pattern
//! must match; a field matches when any of its matchers matches the event's value, or, when
//! the event holds an array there, any of the array's elements.

use serde_json::Value;

use crate::pattern::{AnythingBut, Comparison, Field, Matcher, Pattern};

/// True when `event` matches `pattern`.
pub(crate) fn matches(pattern: &Pattern, event: &Value) -> bool {
    let fields_match = pattern.fields.iter().all(|(key, field)| {
        let value = event.as_object().and_then(|object| object.get(key));
        match field {
            Field::Nested(inner) => match value {
                Some(Value::Object(_)) => value.is_some_and(|v| matches(inner, v)),
                Some(Value::Array(items)) => items.iter().any(|item| matches(inner, item)),
                // A nested pattern of only `exists: false` matches a missing object.
                _ => matches(inner, &Value::Null),
            },
            Field::Matchers(matchers) => matchers.iter().any(|m| field_matches(m, value)),
        }
    });
    fields_match
        && pattern
            .any_of
            .iter()
            .all(|group| group.iter().any(|option| matches(option, event)))
}

fn field_matches(matcher: &Matcher, value: Option<&Value>) -> bool {
    match (matcher, value) {
        (Matcher::Exists(expected), value) => present(value) == *expected,
        (_, None) => false,
        (_, Some(Value::Array(items))) => items.iter().any(|item| value_matches(matcher, item)),
        (_, Some(value)) => value_matches(matcher, value),
    }
}

/// A field exists when the event has it with a value that is not an empty array or object
/// (a leaf, `null` included).
fn present(value: Option<&Value>) -> bool {
    match value {
        None => false,
        Some(Value::Array(items)) => !items.is_empty(),
        Some(Value::Object(map)) => !map.is_empty(),
        Some(_) => true,
    }
}

fn lower(text: &str) -> String {
    text.to_lowercase()
}

fn value_matches(matcher: &Matcher, value: &Value) -> bool {
    match matcher {
        Matcher::String(expected) => value.as_str() == Some(expected.as_str()),
        Matcher::Number(expected) => value.is_number() && value.as_f64() == Some(*expected),
        Matcher::Bool(expected) => value.as_bool() == Some(*expected),
        Matcher::Null => value.is_null(),
        Matcher::Prefix {
            value: prefix,
            ignore_case,
        } => value.as_str().is_some_and(|text| {
            if *ignore_case {
                lower(text).starts_with(&lower(prefix))
            } else {
                text.starts_with(prefix.as_str())
            }
        }),
        Matcher::Suffix {
            value: suffix,
            ignore_case,
        } => value.as_str().is_some_and(|text| {
            if *ignore_case {
                lower(text).ends_with(&lower(suffix))
            } else {
                text.ends_with(suffix.as_str())
            }
        }),
        Matcher::EqualsIgnoreCase(expected) => value
            .as_str()
            .is_some_and(|text| lower(text) == lower(expected)),
        Matcher::Wildcard(wildcard) => value.as_str().is_some_and(|text| wildcard.matches(text)),
        Matcher::AnythingBut(but) => anything_but(but, value),
        Matcher::Numeric(comparisons) => {
            value.is_number()
                && value.as_f64().is_some_and(|n| {
                    comparisons
                        .iter()
                        .all(|(comparison, bound)| match comparison {
                            Comparison::Less => n < *bound,
                            Comparison::LessOrEqual => n <= *bound,
                            Comparison::Equal => n == *bound,
                            Comparison::GreaterOrEqual => n >= *bound,
                            Comparison::Greater => n > *bound,
                        })
                })
        }
        Matcher::Exists(expected) => *expected,
        Matcher::Cidr(cidr) => value.as_str().is_some_and(|text| cidr.contains(text)),
    }
}

/// The string forms (`prefix`, `suffix`, `equals-ignore-case`, `wildcard`) exclude only
/// strings: EventBridge compares them with the value's JSON text, quotes included, so a number,
/// a boolean or `null` is never a string that starts with the prefix, and is not excluded.
fn anything_but(but: &AnythingBut, value: &Value) -> bool {
    let Some(text) = value.as_str() else {
        return match but {
            AnythingBut::Values(excluded) => !excluded.iter().any(|m| value_matches(m, value)),
            _ => true,
        };
    };
    match but {
        AnythingBut::Values(excluded) => !excluded.iter().any(|m| value_matches(m, value)),
        AnythingBut::Prefix(prefix) => !text.starts_with(prefix.as_str()),
        AnythingBut::Suffix(suffix) => !text.ends_with(suffix.as_str()),
        AnythingBut::EqualsIgnoreCase(excluded) => {
            !excluded.iter().any(|e| lower(e) == lower(text))
        }
        AnythingBut::Wildcard(excluded) => !excluded.iter().any(|w| w.matches(text)),
    }
}
