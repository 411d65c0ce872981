//! The indexes of a rule set: the strings rules name at each indexed path, each with an id
//! ([`PathKeys`]); an event's ids at those paths, each of its values hashed once whatever
//! the number of indexes ([`EventKeys`]); and the rules found by one path's ids, or by two
//! paths' ids together ([`Index`]).

use std::collections::HashMap;

use serde_json::Value;

use super::checked_whole;
use super::table::{IdTable, StrTable, hash};

/// The strings rules name at one path, while rules are being compiled.
#[derive(Debug, Default)]
pub(super) struct PathKeysBuilder {
    exact: HashMap<String, u32>,
    prefixes: HashMap<String, u32>,
}

impl PathKeysBuilder {
    /// The id of `value` at this path, as an exact value or a prefix (one id space for both).
    /// Ids count a path's distinct strings, so they stay below 2^31 (two billion strings would
    /// not fit in memory), which the index keys rely on.
    pub(super) fn id(&mut self, value: &str, prefix: bool) -> u32 {
        let next = (self.exact.len() + self.prefixes.len()) as u32;
        let keys = if prefix {
            &mut self.prefixes
        } else {
            &mut self.exact
        };
        *keys.entry(value.to_string()).or_insert(next)
    }

    pub(super) fn build(self) -> PathKeys {
        let mut prefix_lengths: Vec<usize> = self.prefixes.keys().map(String::len).collect();
        prefix_lengths.sort_unstable();
        prefix_lengths.dedup();
        let lengths_by_first_byte = (prefix_lengths.len() <= 64).then(|| {
            let mut masks = Box::new([0; 256]);
            for prefix in self.prefixes.keys() {
                let Ok(at) = prefix_lengths.binary_search(&prefix.len()) else {
                    continue;
                };
                match prefix.as_bytes().first() {
                    Some(&byte) => masks[usize::from(byte)] |= 1 << at,
                    // The empty prefix: every value has it.
                    None => masks.iter_mut().for_each(|mask| *mask |= 1 << at),
                }
            }
            masks
        });
        PathKeys {
            exact: StrTable::new(&self.exact),
            prefixes: StrTable::new(&self.prefixes),
            prefix_lengths,
            lengths_by_first_byte,
        }
    }
}

/// The strings rules name at one path, with their ids.
#[derive(Debug, Clone)]
pub(super) struct PathKeys {
    exact: StrTable,
    prefixes: StrTable,
    /// The distinct prefix lengths (bytes), ascending: where to look up a value's prefixes.
    prefix_lengths: Vec<usize>,
    /// For each first byte, the lengths (bits: positions in `prefix_lengths`) of the prefixes
    /// that start with it, so that a value is looked up only at those (when there are at most
    /// 64 lengths; else at every length).
    lengths_by_first_byte: Option<Box<[u64; 256]>>,
}

impl PathKeys {
    /// Adds to `ids` the ids of the prefixes of `value`.
    fn prefix_ids(&self, value: &[u8], ids: &mut Vec<u32>) {
        let mut look_up = |length: usize| {
            let Some(prefix) = value.get(..length) else {
                return false;
            };
            if let Some(id) = self.prefixes.get_rare(hash(prefix), prefix) {
                ids.push(id);
            }
            true
        };
        match (&self.lengths_by_first_byte, value.first()) {
            (Some(masks), first) => {
                let mut lengths = match first {
                    Some(&byte) => masks[usize::from(byte)],
                    None => u64::from(self.prefix_lengths.first() == Some(&0)),
                };
                while lengths != 0 {
                    let at = lengths.trailing_zeros() as usize;
                    lengths &= lengths - 1;
                    if !look_up(self.prefix_lengths[at]) {
                        break;
                    }
                }
            }
            (None, _) => {
                for &length in &self.prefix_lengths {
                    if !look_up(length) {
                        break;
                    }
                }
            }
        }
    }
}

/// An event's ids at one indexed path: `ids[start..end]`, the exact values' before
/// `exact_end`; or, when an array of objects is on the way, every rule indexed by the path
/// is a candidate.
#[derive(Debug, Clone, Copy)]
enum Span {
    Ids {
        start: u32,
        exact_end: u32,
        end: u32,
    },
    Everything,
}

/// An event's ids at every indexed path.
#[derive(Debug)]
pub(super) struct EventKeys {
    ids: Vec<u32>,
    spans: Vec<Span>,
}

impl EventKeys {
    /// The ids of `event`'s values at `paths`.
    pub(super) fn of(event: &Value, paths: &[(Vec<String>, PathKeys)]) -> Self {
        let mut keys = EventKeys {
            ids: Vec::with_capacity(2 * paths.len()),
            spans: Vec::with_capacity(paths.len()),
        };
        for (path, path_keys) in paths {
            let span = match Found::at(event, path) {
                Found::Everything => Span::Everything,
                found => {
                    let start = keys.ids.len() as u32;
                    found.for_each(|value| {
                        let bytes = value.as_bytes();
                        if let Some(id) = path_keys.exact.get(hash(bytes), bytes) {
                            keys.ids.push(id);
                        }
                    });
                    let exact_end = keys.ids.len() as u32;
                    if !path_keys.prefix_lengths.is_empty() {
                        found.for_each(|value| {
                            path_keys.prefix_ids(value.as_bytes(), &mut keys.ids);
                        });
                    }
                    Span::Ids {
                        start,
                        exact_end,
                        end: keys.ids.len() as u32,
                    }
                }
            };
            keys.spans.push(span);
        }
        keys
    }
}

/// An index while rules are being compiled.
#[derive(Debug, Default)]
pub(super) struct IndexBuilder(HashMap<u64, Vec<u64>>);

impl IndexBuilder {
    /// Adds `posting` under the second field's id `second`, with the first's (of a pair).
    pub(super) fn add(&mut self, first: Option<u32>, second: u32, posting: u64) {
        let postings = self.0.entry(key(first, second)).or_default();
        if !postings.contains(&posting) {
            postings.push(posting);
        }
    }

    pub(super) fn build(self, fields: (Option<usize>, usize)) -> Index {
        Index {
            fields,
            table: IdTable::new(self.0),
        }
    }
}

/// The key of one id, or of a pair: a pair's is never a single id's (its high half is at least
/// 1), and with ids below 2^31 no key uses the top bit, which the table keeps for itself.
fn key(first: Option<u32>, second: u32) -> u64 {
    match first {
        Some(first) => ((u64::from(first) + 1) << 32) | u64::from(second),
        None => u64::from(second),
    }
}

/// The rules found by one field, or by two together.
#[derive(Debug, Clone)]
pub(super) struct Index {
    /// The paths (positions in the rule set's paths): the exact first one of a pair, if a
    /// pair, and the field whose values are exact or prefixes.
    pub(super) fields: (Option<usize>, usize),
    table: IdTable,
}

impl Index {
    /// Adds to `found` the postings of the rules `event`'s ids (`keys`) find.
    pub(super) fn look_up(&self, keys: &EventKeys, found: &mut Vec<u64>) {
        let second = keys.spans[self.fields.1];
        let first = self.fields.0.map(|at| keys.spans[at]);
        let (second, first) = match (second, first) {
            (Span::Ids { start, end, .. }, None) => (&keys.ids[start as usize..end as usize], None),
            (
                Span::Ids { start, end, .. },
                Some(Span::Ids {
                    start: first_start,
                    exact_end,
                    ..
                }),
            ) => (
                &keys.ids[start as usize..end as usize],
                Some(&keys.ids[first_start as usize..exact_end as usize]),
            ),
            _ => {
                // Found through an array of objects: every rule here, each to be checked whole.
                found.extend(
                    self.table
                        .all()
                        .iter()
                        .map(|&posting| checked_whole(posting)),
                );
                return;
            }
        };
        match first {
            None => {
                for &id in second {
                    found.extend_from_slice(self.table.get(key(None, id)));
                }
            }
            Some(firsts) => {
                for &one in firsts {
                    for &id in second {
                        found.extend_from_slice(self.table.get(key(Some(one), id)));
                    }
                }
            }
        }
    }
}

/// An event's value at an indexed path.
#[derive(Debug, Clone, Copy)]
enum Found<'a> {
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
    fn at(event: &'a Value, path: &[String]) -> Self {
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
