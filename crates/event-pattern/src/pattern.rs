//! Parsing a pattern: JSON in, a typed tree out, or an error naming the path and the reason.
//!
//! The grammar, as EventBridge documents it: a pattern is an object; each field is an object
//! (a nested pattern) or an array of matchers, any of which may match; `$or` holds an array of
//! patterns, any of which may match. A matcher is a value (string, number, boolean, `null`) or
//! an object with one operator: `prefix`, `suffix`, `equals-ignore-case`, `wildcard`,
//! `anything-but`, `numeric`, `exists`, `cidr`.

use std::net::IpAddr;

use serde_json::{Map, Value};

use crate::PatternError;

/// How deep a pattern may nest.
pub const MAX_DEPTH: usize = 32;
/// How many matchers a pattern may hold in all.
pub const MAX_MATCHERS: usize = 1_000;

/// A parsed pattern: every field must match (`fields`), and one of each `$or` group.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pub(crate) fields: Vec<(String, Field)>,
    pub(crate) any_of: Vec<Vec<Pattern>>,
}

/// What a pattern says of one field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field {
    /// A nested object pattern.
    Nested(Pattern),
    /// Any of these matchers.
    Matchers(Vec<Matcher>),
}

/// One matcher of a field's list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Matcher {
    /// An exact string.
    String(String),
    /// An exact number (compared as numbers: `3.0` equals `3`).
    Number(f64),
    /// An exact boolean.
    Bool(bool),
    /// `null`.
    Null,
    /// `prefix` (optionally ignoring case).
    Prefix { value: String, ignore_case: bool },
    /// `suffix` (optionally ignoring case).
    Suffix { value: String, ignore_case: bool },
    /// `equals-ignore-case`.
    EqualsIgnoreCase(String),
    /// `wildcard`: `*` any run of characters, `\*` a star.
    Wildcard(Wildcard),
    /// `anything-but`.
    AnythingBut(AnythingBut),
    /// `numeric`: every comparison holds.
    Numeric(Vec<(Comparison, f64)>),
    /// `exists`.
    Exists(bool),
    /// `cidr`.
    Cidr(Cidr),
}

/// What `anything-but` excludes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AnythingBut {
    /// These strings and numbers.
    Values(Vec<Matcher>),
    /// Strings with this prefix.
    Prefix(String),
    /// Strings with this suffix.
    Suffix(String),
    /// These strings, ignoring case.
    EqualsIgnoreCase(Vec<String>),
    /// Strings these wildcards match.
    Wildcard(Vec<Wildcard>),
}

/// A numeric comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Comparison {
    Less,
    LessOrEqual,
    Equal,
    GreaterOrEqual,
    Greater,
}

/// A wildcard, as literal pieces between stars.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Wildcard {
    pub(crate) pieces: Vec<String>,
}

/// An address block.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cidr {
    pub(crate) network: IpAddr,
    pub(crate) bits: u8,
}

struct Budget {
    matchers: usize,
}

impl Pattern {
    /// Parses a pattern from its JSON text.
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| PatternError::new("", format!("not JSON: {e}")))?;
        Self::from_value(&value)
    }

    /// Parses a pattern from JSON already read (a template's `EventPattern`).
    pub fn from_value(value: &Value) -> Result<Self, PatternError> {
        let Value::Object(map) = value else {
            return Err(PatternError::new("", "a pattern must be a JSON object"));
        };
        let mut budget = Budget { matchers: 0 };
        parse_object(map, "", 1, &mut budget)
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn parse_object(
    map: &Map<String, Value>,
    path: &str,
    depth: usize,
    budget: &mut Budget,
) -> Result<Pattern, PatternError> {
    if depth > MAX_DEPTH {
        return Err(PatternError::new(
            path,
            format!("nests deeper than {MAX_DEPTH} levels"),
        ));
    }
    if map.is_empty() && depth > 1 {
        return Err(PatternError::new(path, "an empty object matches nothing"));
    }
    let mut pattern = Pattern {
        fields: Vec::new(),
        any_of: Vec::new(),
    };
    for (key, value) in map {
        let here = join(path, key);
        if key == "$or" {
            let Value::Array(options) = value else {
                return Err(PatternError::new(&here, "`$or` takes an array of patterns"));
            };
            if options.len() < 2 {
                return Err(PatternError::new(
                    &here,
                    "`$or` needs at least two patterns",
                ));
            }
            let mut group = Vec::with_capacity(options.len());
            for (i, option) in options.iter().enumerate() {
                let at = format!("{here}[{i}]");
                let Value::Object(option) = option else {
                    return Err(PatternError::new(
                        &at,
                        "each `$or` option must be an object",
                    ));
                };
                if option.is_empty() {
                    return Err(PatternError::new(&at, "an empty `$or` option"));
                }
                group.push(parse_object(option, path, depth + 1, budget)?);
            }
            pattern.any_of.push(group);
            continue;
        }
        let field = match value {
            Value::Object(nested) => Field::Nested(parse_object(nested, &here, depth + 1, budget)?),
            Value::Array(items) => {
                if items.is_empty() {
                    return Err(PatternError::new(&here, "an empty array matches nothing"));
                }
                let mut matchers = Vec::with_capacity(items.len());
                for item in items {
                    budget.matchers += 1;
                    if budget.matchers > MAX_MATCHERS {
                        return Err(PatternError::new(
                            &here,
                            format!("the pattern has more than {MAX_MATCHERS} matchers"),
                        ));
                    }
                    matchers.push(parse_matcher(item, &here)?);
                }
                Field::Matchers(matchers)
            }
            other => {
                return Err(PatternError::new(
                    &here,
                    format!("a field's matchers must be in an array, not `{other}`"),
                ));
            }
        };
        pattern.fields.push((key.clone(), field));
    }
    Ok(pattern)
}

fn number(value: &Value, path: &str, what: &str) -> Result<f64, PatternError> {
    value
        .as_f64()
        .filter(|n| n.is_finite())
        .ok_or_else(|| PatternError::new(path, format!("{what} takes a number, not `{value}`")))
}

fn string<'a>(value: &'a Value, path: &str, what: &str) -> Result<&'a str, PatternError> {
    value
        .as_str()
        .ok_or_else(|| PatternError::new(path, format!("{what} takes a string, not `{value}`")))
}

fn parse_matcher(value: &Value, path: &str) -> Result<Matcher, PatternError> {
    match value {
        Value::String(s) => Ok(Matcher::String(s.clone())),
        Value::Number(_) => Ok(Matcher::Number(number(value, path, "a number")?)),
        Value::Bool(b) => Ok(Matcher::Bool(*b)),
        Value::Null => Ok(Matcher::Null),
        Value::Array(_) => Err(PatternError::new(path, "a matcher cannot be an array")),
        Value::Object(map) => {
            let mut entries = map.iter();
            let (Some((operator, operand)), None) = (entries.next(), entries.next()) else {
                return Err(PatternError::new(
                    path,
                    "a matcher object holds exactly one operator",
                ));
            };
            parse_operator(operator, operand, path)
        }
    }
}

fn parse_operator(operator: &str, operand: &Value, path: &str) -> Result<Matcher, PatternError> {
    match operator {
        "prefix" | "suffix" => {
            let (value, ignore_case) = match operand {
                Value::String(s) => (s.clone(), false),
                Value::Object(inner) => match inner.get("equals-ignore-case") {
                    Some(Value::String(s)) if inner.len() == 1 => (s.clone(), true),
                    _ => {
                        return Err(PatternError::new(
                            path,
                            format!(
                                "`{operator}` takes a string or {{\"equals-ignore-case\": string}}"
                            ),
                        ));
                    }
                },
                other => {
                    return Err(PatternError::new(
                        path,
                        format!("`{operator}` takes a string, not `{other}`"),
                    ));
                }
            };
            if operator == "prefix" {
                Ok(Matcher::Prefix { value, ignore_case })
            } else {
                Ok(Matcher::Suffix { value, ignore_case })
            }
        }
        "equals-ignore-case" => Ok(Matcher::EqualsIgnoreCase(
            string(operand, path, "`equals-ignore-case`")?.to_string(),
        )),
        "wildcard" => Ok(Matcher::Wildcard(Wildcard::parse(
            string(operand, path, "`wildcard`")?,
            path,
        )?)),
        "exists" => match operand {
            Value::Bool(b) => Ok(Matcher::Exists(*b)),
            other => Err(PatternError::new(
                path,
                format!("`exists` takes true or false, not `{other}`"),
            )),
        },
        "cidr" => Ok(Matcher::Cidr(Cidr::parse(
            string(operand, path, "`cidr`")?,
            path,
        )?)),
        "numeric" => parse_numeric(operand, path),
        "anything-but" => parse_anything_but(operand, path),
        other => Err(PatternError::new(
            path,
            format!("unknown operator `{other}`"),
        )),
    }
}

fn parse_numeric(operand: &Value, path: &str) -> Result<Matcher, PatternError> {
    let Value::Array(items) = operand else {
        return Err(PatternError::new(
            path,
            "`numeric` takes an array such as [\">\", 0, \"<=\", 5]",
        ));
    };
    if items.is_empty() || items.len() % 2 != 0 || items.len() > 4 {
        return Err(PatternError::new(
            path,
            "`numeric` takes one or two comparisons",
        ));
    }
    let mut comparisons = Vec::with_capacity(items.len() / 2);
    for pair in items.chunks(2) {
        let comparison = match pair[0].as_str() {
            Some("<") => Comparison::Less,
            Some("<=") => Comparison::LessOrEqual,
            Some("=") => Comparison::Equal,
            Some(">=") => Comparison::GreaterOrEqual,
            Some(">") => Comparison::Greater,
            _ => {
                return Err(PatternError::new(
                    path,
                    format!("`numeric`: `{}` is not one of <, <=, =, >=, >", pair[0]),
                ));
            }
        };
        comparisons.push((comparison, number(&pair[1], path, "`numeric`")?));
    }
    if comparisons.len() == 2 {
        let lower = |c: Comparison| matches!(c, Comparison::Greater | Comparison::GreaterOrEqual);
        let upper = |c: Comparison| matches!(c, Comparison::Less | Comparison::LessOrEqual);
        let (a, b) = (comparisons[0].0, comparisons[1].0);
        if !((lower(a) && upper(b)) || (upper(a) && lower(b))) {
            return Err(PatternError::new(
                path,
                "`numeric` with two comparisons needs a lower and an upper bound",
            ));
        }
    }
    Ok(Matcher::Numeric(comparisons))
}

fn parse_anything_but(operand: &Value, path: &str) -> Result<Matcher, PatternError> {
    let value_matcher = |value: &Value| match value {
        Value::String(s) => Ok(Matcher::String(s.clone())),
        Value::Number(_) => Ok(Matcher::Number(number(value, path, "`anything-but`")?)),
        other => Err(PatternError::new(
            path,
            format!("`anything-but` takes strings or numbers, not `{other}`"),
        )),
    };
    let strings = |value: &Value, what: &str| -> Result<Vec<String>, PatternError> {
        match value {
            Value::String(s) => Ok(vec![s.clone()]),
            Value::Array(items) if !items.is_empty() => items
                .iter()
                .map(|v| string(v, path, what).map(str::to_string))
                .collect(),
            other => Err(PatternError::new(
                path,
                format!("{what} takes a string or a list of strings, not `{other}`"),
            )),
        }
    };
    let but = match operand {
        Value::String(_) | Value::Number(_) => AnythingBut::Values(vec![value_matcher(operand)?]),
        Value::Array(items) if !items.is_empty() => {
            AnythingBut::Values(items.iter().map(value_matcher).collect::<Result<_, _>>()?)
        }
        Value::Object(map) if map.len() == 1 => {
            let Some((operator, inner)) = map.iter().next() else {
                return Err(PatternError::new(path, "`anything-but` takes one operator"));
            };
            match operator.as_str() {
                "prefix" => {
                    AnythingBut::Prefix(string(inner, path, "`anything-but` `prefix`")?.to_string())
                }
                "suffix" => {
                    AnythingBut::Suffix(string(inner, path, "`anything-but` `suffix`")?.to_string())
                }
                "equals-ignore-case" => AnythingBut::EqualsIgnoreCase(strings(
                    inner,
                    "`anything-but` `equals-ignore-case`",
                )?),
                "wildcard" => AnythingBut::Wildcard(
                    strings(inner, "`anything-but` `wildcard`")?
                        .iter()
                        .map(|w| Wildcard::parse(w, path))
                        .collect::<Result<_, _>>()?,
                ),
                other => {
                    return Err(PatternError::new(
                        path,
                        format!("`anything-but` cannot take `{other}`"),
                    ));
                }
            }
        }
        other => {
            return Err(PatternError::new(
                path,
                format!(
                    "`anything-but` takes a value, a list, or one of prefix, suffix, equals-ignore-case, wildcard, not `{other}`"
                ),
            ));
        }
    };
    Ok(Matcher::AnythingBut(but))
}

impl Wildcard {
    fn parse(text: &str, path: &str) -> Result<Self, PatternError> {
        let mut pieces = vec![String::new()];
        let mut chars = text.chars().peekable();
        let mut previous_star = false;
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(escaped @ ('*' | '\\')) => {
                        if let Some(last) = pieces.last_mut() {
                            last.push(escaped);
                        }
                        previous_star = false;
                    }
                    _ => {
                        return Err(PatternError::new(
                            path,
                            "`wildcard`: `\\` escapes only `*` and `\\`",
                        ));
                    }
                },
                '*' => {
                    if previous_star {
                        return Err(PatternError::new(
                            path,
                            "`wildcard`: consecutive `*` are not allowed",
                        ));
                    }
                    pieces.push(String::new());
                    previous_star = true;
                }
                other => {
                    if let Some(last) = pieces.last_mut() {
                        last.push(other);
                    }
                    previous_star = false;
                }
            }
        }
        Ok(Self { pieces })
    }

    /// True when `text` matches: the first piece starts it, the last ends it, the others
    /// appear in order between.
    pub(crate) fn matches(&self, text: &str) -> bool {
        let [first, middle @ .., last] = self.pieces.as_slice() else {
            return self.pieces.first().is_some_and(|only| only == text);
        };
        if !text.starts_with(first.as_str()) {
            return false;
        }
        let mut rest = &text[first.len()..];
        if rest.len() < last.len() {
            return false;
        }
        let end = rest.len() - last.len();
        if !rest.is_char_boundary(end) || &rest[end..] != last.as_str() {
            return false;
        }
        rest = &rest[..end];
        for piece in middle {
            match rest.find(piece.as_str()) {
                Some(at) => rest = &rest[at + piece.len()..],
                None => return false,
            }
        }
        true
    }
}

impl Cidr {
    fn parse(text: &str, path: &str) -> Result<Self, PatternError> {
        let bad = || {
            PatternError::new(
                path,
                format!("`cidr`: `{text}` is not an address block like 10.0.0.0/24"),
            )
        };
        let (address, bits) = text.split_once('/').ok_or_else(bad)?;
        let network: IpAddr = address.parse().map_err(|_| bad())?;
        let bits: u8 = bits.parse().map_err(|_| bad())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        if bits > max {
            return Err(bad());
        }
        Ok(Self { network, bits })
    }

    pub(crate) fn contains(&self, text: &str) -> bool {
        let Ok(address) = text.parse::<IpAddr>() else {
            return false;
        };
        match (self.network, address) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.bits))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}
