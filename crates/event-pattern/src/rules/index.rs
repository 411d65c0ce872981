//! One index of a rule set: the rules found by one field's values (exact or prefix), or by
//! two fields' values together (the first exact, the second exact or prefix), and an event's
//! values at the indexed paths.

use serde_json::Value;

use super::table::{FNV_START, KeyTable, TableBuilder, fnv};

/// Between the two values of a pair key: 0xff never occurs in UTF-8, so no two pairs make
/// the same key.
const SEPARATOR: &[u8] = &[0xff];

/// An index while rules are being compiled.
#[derive(Debug, Default)]
pub(super) struct IndexBuilder {
    exact: TableBuilder,
    prefixes: TableBuilder,
    prefix_lengths: Vec<usize>,
}

impl IndexBuilder {
    /// Adds `posting` under (`first`, `value`), `value` exact or a prefix.
    pub(super) fn add(&mut self, first: Option<&str>, value: &str, prefix: bool, posting: usize) {
        let mut key = Vec::new();
        if let Some(first) = first {
            key.extend_from_slice(first.as_bytes());
            key.extend_from_slice(SEPARATOR);
        }
        key.extend_from_slice(value.as_bytes());
        if prefix {
            if let Err(at) = self.prefix_lengths.binary_search(&value.len()) {
                self.prefix_lengths.insert(at, value.len());
            }
            self.prefixes.add(key, posting);
        } else {
            self.exact.add(key, posting);
        }
    }

    pub(super) fn build(self, fields: (Option<usize>, usize)) -> Index {
        Index {
            fields,
            exact: self.exact.build(),
            prefixes: self.prefixes.build(),
            prefix_lengths: self.prefix_lengths,
        }
    }
}

/// The rules found by one field, or by two together.
#[derive(Debug, Clone)]
pub(super) struct Index {
    /// The paths (positions in the rule set's paths): the exact first one of a pair, if a
    /// pair, and the field whose values are exact or prefixes.
    pub(super) fields: (Option<usize>, usize),
    exact: KeyTable,
    prefixes: KeyTable,
    /// The distinct prefix lengths (bytes), ascending: where to look up a value's prefixes.
    prefix_lengths: Vec<usize>,
}

impl Index {
    /// Adds to `found` the postings of the rules `event`'s values (`values`, by path) find.
    pub(super) fn look_up(&self, values: &[Found<'_>], found: &mut Vec<usize>) {
        let second = values[self.fields.1];
        let first = self.fields.0.map(|at| values[at]);
        if matches!(second, Found::Everything) || matches!(first, Some(Found::Everything)) {
            // Found through an array of objects: every rule here, each to be checked whole.
            let all = self.exact.all().iter().chain(self.prefixes.all());
            found.extend(all.map(|posting| posting | 1));
            return;
        }
        match first {
            None => second.for_each(|value| self.look_up_value(None, value, found)),
            Some(first) => first.for_each(|one| {
                second.for_each(|value| self.look_up_value(Some(one), value, found))
            }),
        }
    }

    fn look_up_value(&self, first: Option<&str>, value: &str, found: &mut Vec<usize>) {
        let (state, head): (u64, [&[u8]; 2]) = match first {
            Some(first) => (
                fnv(fnv(FNV_START, first.as_bytes()), SEPARATOR),
                [first.as_bytes(), SEPARATOR],
            ),
            None => (FNV_START, [&[], &[]]),
        };
        let bytes = value.as_bytes();
        if !self.exact.is_empty() {
            let hash = fnv(state, bytes);
            found.extend_from_slice(self.exact.get(hash, &[head[0], head[1], bytes]));
        }
        // The value is hashed once, byte by byte, and looked up at each prefix length.
        let (mut hashed, mut state) = (0, state);
        for &length in &self.prefix_lengths {
            if length > bytes.len() {
                break;
            }
            state = fnv(state, &bytes[hashed..length]);
            hashed = length;
            let prefix = &bytes[..length];
            found.extend_from_slice(self.prefixes.get(state, &[head[0], head[1], prefix]));
        }
    }
}

/// An event's value at an indexed path.
#[derive(Debug, Clone, Copy)]
pub(super) enum Found<'a> {
    /// Not there (or not a string or an array).
    Missing,
    /// A string.
    One(&'a str),
    /// An array: its strings count.
    Many(&'a [Value]),
    /// An array of objects on the way: any element may match, so every rule indexed by the
    /// path is a candidate.
    Everything,
}

impl<'a> Found<'a> {
    /// The value at `path` in `event`.
    pub(super) fn at(event: &'a Value, path: &[String]) -> Self {
        let mut at = event;
        for key in path {
            match at {
                Value::Array(_) => return Found::Everything,
                _ => match at.get(key) {
                    Some(next) => at = next,
                    None => return Found::Missing,
                },
            }
        }
        match at {
            Value::String(text) => Found::One(text),
            Value::Array(items) => Found::Many(items),
            _ => Found::Missing,
        }
    }

    fn for_each(self, mut each: impl FnMut(&'a str)) {
        match self {
            Found::One(text) => each(text),
            Found::Many(items) => items.iter().filter_map(Value::as_str).for_each(each),
            Found::Missing | Found::Everything => {}
        }
    }
}
