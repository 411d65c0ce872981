//! The two frozen hash tables of a rule set, laid out for the cache (open addressing, one
//! array of 16-byte slots, the slot found from the hash's high bits):
//!
//! - [`StrTable`]: the strings rules name at one path (exact values or prefixes) → their ids,
//!   with a small bit filter in front, so that a lookup that finds nothing (most prefix
//!   lookups) usually costs one read of a hot cache line;
//! - [`IdTable`]: one id or a pair of ids → postings, a single posting kept in the slot itself,
//!   so that finding a rule by a pair of values costs one cache line, not three.

use std::collections::HashMap;

use crate::bytes::{half, same, word};

/// Multiplier of the hashes (the golden ratio's, as Fibonacci hashing).
const K: u64 = 0x9e37_79b9_7f4a_7c15;

/// A hash of `bytes`, eight at a time, with no call and no branch on the length but the
/// loop's (a copy of a variable length would call `memcpy`). The keys are strings from rules,
/// only looked up (never inserted) with event values, so a fast hash without flooding
/// resistance is safe here.
pub(super) fn hash(bytes: &[u8]) -> u64 {
    let mut state = (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        state = (state.rotate_left(23) ^ word(chunk, 0)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        // The last eight bytes when there are eight (overlapping the words before), else
        // what there is, read in overlapping halves: the same bytes always give the same word.
        let last = if bytes.len() >= 8 {
            word(bytes, bytes.len() - 8)
        } else if rest.len() >= 4 {
            u64::from(half(rest, 0)) | (u64::from(half(rest, rest.len() - 4)) << 32)
        } else {
            u64::from(rest[0])
                | (u64::from(rest[rest.len() / 2]) << 8)
                | (u64::from(rest[rest.len() - 1]) << 16)
        };
        state = (state.rotate_left(23) ^ last).wrapping_mul(K);
    }
    // The slot comes from the high bits: fold the low ones (the last word's) into them too.
    state ^ (state << 29)
}

/// The slot count (a power of two, at least twice the keys) and the shift that takes a hash's
/// high bits to a slot.
fn capacity(keys: usize) -> (usize, u32) {
    let slots = (keys * 2).next_power_of_two().max(8);
    (slots, 64 - slots.trailing_zeros())
}

/// Keys up to this long are kept in their slot (most event types and sources), so that an
/// exact lookup reads one cache line.
const INLINE: usize = 20;

#[derive(Debug, Clone, Copy)]
struct StrSlot {
    /// The hash's low half (the high half chose the slot).
    hash: u32,
    /// `EMPTY_ID`: an empty slot.
    id: u32,
    length: u32,
    /// The key when it is at most `INLINE` bytes long; else its start in `bytes`, in the
    /// first four.
    key: [u8; INLINE],
}

const EMPTY_ID: u32 = u32::MAX;

/// Strings → ids, frozen.
#[derive(Debug, Clone)]
pub(super) struct StrTable {
    slots: Vec<StrSlot>,
    shift: u32,
    filter: Vec<u64>,
    /// The keys longer than `INLINE`.
    bytes: Vec<u8>,
}

impl StrTable {
    /// The table of `keys` (each with its id, below `u32::MAX`).
    pub(super) fn new(keys: &HashMap<String, u32>) -> Self {
        let (slots, shift) = capacity(keys.len());
        let filter_bits = (keys.len() * 8).next_power_of_two().max(64);
        let mut table = StrTable {
            slots: vec![
                StrSlot {
                    hash: 0,
                    id: EMPTY_ID,
                    length: 0,
                    key: [0; INLINE],
                };
                slots
            ],
            shift,
            filter: vec![0; filter_bits / 64],
            bytes: Vec::new(),
        };
        // In key order, so that the layout does not depend on the map's iteration order.
        let mut sorted: Vec<(&String, &u32)> = keys.iter().collect();
        sorted.sort();
        for (key, &id) in sorted {
            let hash = hash(key.as_bytes());
            let mut slot = StrSlot {
                hash: hash as u32,
                id,
                length: key.len() as u32,
                key: [0; INLINE],
            };
            if key.len() <= INLINE {
                slot.key[..key.len()].copy_from_slice(key.as_bytes());
            } else {
                slot.key[..4].copy_from_slice(&(table.bytes.len() as u32).to_le_bytes());
                table.bytes.extend_from_slice(key.as_bytes());
            }
            let mask = table.slots.len() - 1;
            let mut at = (hash >> table.shift) as usize;
            while table.slots[at].id != EMPTY_ID {
                at = (at + 1) & mask;
            }
            table.slots[at] = slot;
            let bit = table.filter_bit(hash);
            table.filter[bit / 64] |= 1 << (bit % 64);
        }
        table
    }

    fn filter_bit(&self, hash: u64) -> usize {
        (hash >> 16) as usize & (self.filter.len() * 64 - 1)
    }

    /// The id of `key`, whose [`hash`] is `hash`, asking the filter first: for lookups that
    /// mostly find nothing.
    pub(super) fn get_rare(&self, hash: u64, key: &[u8]) -> Option<u32> {
        let bit = self.filter_bit(hash);
        if self.filter[bit / 64] & (1 << (bit % 64)) == 0 {
            return None;
        }
        self.get(hash, key)
    }

    /// The id of `key`, whose [`hash`] is `hash`.
    pub(super) fn get(&self, hash: u64, key: &[u8]) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let mut at = (hash >> self.shift) as usize;
        loop {
            let slot = &self.slots[at];
            if slot.id == EMPTY_ID {
                return None;
            }
            if slot.hash == hash as u32 && slot.length as usize == key.len() {
                let stored = match slot.key.get(..key.len()) {
                    Some(inline) => inline,
                    None => {
                        let mut start = [0; 4];
                        start.copy_from_slice(&slot.key[..4]);
                        let start = u32::from_le_bytes(start) as usize;
                        &self.bytes[start..start + key.len()]
                    }
                };
                if same(stored, key) {
                    return Some(slot.id);
                }
            }
            at = (at + 1) & mask;
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct IdSlot {
    /// The key; with `RANGE` set when `value` is a range of `postings`; `EMPTY_KEY`: an empty
    /// slot.
    key: u64,
    /// The only posting, or (with `RANGE`) where the postings start (high half) and how many
    /// (low half).
    value: u64,
}

/// Set in a slot's key when its value is a range of postings. Keys never use this bit.
const RANGE: u64 = 1 << 63;
const EMPTY_KEY: u64 = u64::MAX;

/// Ids (one, or a pair as `(first + 1) << 32 | second`, ids below 2^31) → postings, frozen.
#[derive(Debug, Clone)]
pub(super) struct IdTable {
    slots: Vec<IdSlot>,
    shift: u32,
    postings: Vec<u64>,
    /// Every posting, once.
    all: Vec<u64>,
}

impl IdTable {
    /// The table of `keys` (below 2^63 - 1) and their postings.
    pub(super) fn new(keys: HashMap<u64, Vec<u64>>) -> Self {
        let (slots, shift) = capacity(keys.len());
        let mut table = IdTable {
            slots: vec![
                IdSlot {
                    key: EMPTY_KEY,
                    value: 0,
                };
                slots
            ],
            shift,
            postings: Vec::new(),
            all: Vec::new(),
        };
        let mut sorted: Vec<(u64, Vec<u64>)> = keys.into_iter().collect();
        sorted.sort();
        for (key, postings) in sorted {
            if postings.is_empty() {
                continue;
            }
            table.all.extend_from_slice(&postings);
            let slot = match postings.as_slice() {
                [only] => IdSlot { key, value: *only },
                _ => {
                    let start = table.postings.len() as u64;
                    table.postings.extend_from_slice(&postings);
                    IdSlot {
                        key: key | RANGE,
                        value: (start << 32) | postings.len() as u64,
                    }
                }
            };
            let mask = table.slots.len() - 1;
            let mut at = Self::slot_of(key, table.shift);
            while table.slots[at].key != EMPTY_KEY {
                at = (at + 1) & mask;
            }
            table.slots[at] = slot;
        }
        table.all.sort_unstable();
        table.all.dedup();
        table
    }

    fn slot_of(key: u64, shift: u32) -> usize {
        (key.wrapping_mul(K) >> shift) as usize
    }

    /// The postings of `key`.
    pub(super) fn get(&self, key: u64) -> &[u64] {
        let mask = self.slots.len() - 1;
        let mut at = Self::slot_of(key, self.shift);
        loop {
            let slot = &self.slots[at];
            if slot.key == key {
                return std::slice::from_ref(&slot.value);
            }
            if slot.key == key | RANGE {
                let start = (slot.value >> 32) as usize;
                let length = (slot.value & 0xffff_ffff) as usize;
                return &self.postings[start..start + length];
            }
            if slot.key == EMPTY_KEY {
                return &[];
            }
            at = (at + 1) & mask;
        }
    }

    /// Every posting, once.
    pub(super) fn all(&self) -> &[u64] {
        &self.all
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::{IdTable, StrTable, hash};

    #[test]
    fn strings_find_their_ids_and_nothing_else() {
        let keys: HashMap<String, u32> = (0..500).map(|n| (format!("key-{n}"), n)).collect();
        let table = StrTable::new(&keys);
        for (key, id) in &keys {
            assert_eq!(table.get(hash(key.as_bytes()), key.as_bytes()), Some(*id));
            assert_eq!(
                table.get_rare(hash(key.as_bytes()), key.as_bytes()),
                Some(*id)
            );
        }
        for missing in ["key-500", "key-", "", "other", "key-1\0"] {
            assert_eq!(
                table.get(hash(missing.as_bytes()), missing.as_bytes()),
                None
            );
            assert_eq!(
                table.get_rare(hash(missing.as_bytes()), missing.as_bytes()),
                None
            );
        }
        // Keys too long for their slot, and keys of the same length as they are.
        let long = |n: u32| format!("a-key-longer-than-its-slot-{n}");
        let keys: HashMap<String, u32> = (0..50).map(|n| (long(n), n)).collect();
        let table = StrTable::new(&keys);
        for n in 0..50 {
            assert_eq!(
                table.get(hash(long(n).as_bytes()), long(n).as_bytes()),
                Some(n)
            );
        }
        let other = long(99);
        assert_eq!(table.get(hash(other.as_bytes()), other.as_bytes()), None);
        assert_eq!(StrTable::new(&HashMap::new()).get(hash(b"a"), b"a"), None);
        // The empty string is a key like any other.
        let table = StrTable::new(&HashMap::from([(String::new(), 7)]));
        assert_eq!(table.get(hash(b""), b""), Some(7));
    }

    #[test]
    fn ids_find_their_postings_one_or_many() {
        let keys: HashMap<u64, Vec<u64>> = (0..300_u64)
            .map(|n| {
                let postings = if n % 3 == 0 {
                    vec![n << 32]
                } else {
                    vec![n, (1_000 + n) << 32 | 5]
                };
                ((n << 32) | (n * 7), postings)
            })
            .collect();
        let table = IdTable::new(keys.clone());
        for (key, postings) in &keys {
            assert_eq!(table.get(*key), postings.as_slice());
        }
        assert!(table.get(5).is_empty());
        assert!(table.get(1 << 32).is_empty());
        assert_eq!(table.all().len(), 300 + 200);
        assert!(IdTable::new(HashMap::new()).get(0).is_empty());
    }

    #[test]
    fn the_hash_tells_apart_strings_that_differ_in_length_or_tail() {
        let strings = [
            "",
            "\0",
            "\0\0",
            "a",
            "a\0",
            "ab",
            "ba",
            "abcd",
            "abcde",
            "abcdefg",
            "abcdefgh",
            "abcdefgh\0",
            "abcdefghi",
            "abcdefghij",
            "order-created",
            "order-creates",
        ];
        let hashes: std::collections::HashSet<u64> =
            strings.iter().map(|s| hash(s.as_bytes())).collect();
        assert_eq!(hashes.len(), strings.len());
    }
}
