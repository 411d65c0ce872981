//! A frozen hash table from byte keys to postings, laid out for the cache: one array of
//! 24-byte slots (open addressing), the keys in one byte arena, the postings in one array, and
//! a small bit filter in front, so that a lookup that finds nothing (most prefix lookups)
//! usually costs one read of a hot cache line.

use std::collections::HashMap;

/// FNV-1a over `bytes`, continuing from `state`. The keys are short strings from rules, only
/// looked up (never inserted) with event values, so a fast hash without flooding resistance
/// is safe here.
pub(super) fn fnv(mut state: u64, bytes: &[u8]) -> u64 {
    for byte in bytes {
        state = (state ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
    }
    state
}

/// FNV-1a's starting state.
pub(super) const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// Keys → postings, while rules are being compiled.
#[derive(Debug, Default)]
pub(super) struct TableBuilder(HashMap<Vec<u8>, Vec<usize>>);

impl TableBuilder {
    /// Adds `posting` under `key` (once).
    pub(super) fn add(&mut self, key: Vec<u8>, posting: usize) {
        let postings = self.0.entry(key).or_default();
        if !postings.contains(&posting) {
            postings.push(posting);
        }
    }

    /// The frozen table.
    pub(super) fn build(self) -> KeyTable {
        let capacity = (self.0.len() * 2).next_power_of_two().max(8);
        let filter_bits = (self.0.len() * 8).next_power_of_two().max(64);
        let mut table = KeyTable {
            slots: vec![Slot::EMPTY; capacity],
            filter: vec![0; filter_bits / 64],
            bytes: Vec::new(),
            postings: Vec::new(),
        };
        // In key order, so that the layout does not depend on the map's iteration order.
        let mut entries: Vec<(Vec<u8>, Vec<usize>)> = self.0.into_iter().collect();
        entries.sort();
        for (key, postings) in entries {
            let hash = fnv(FNV_START, &key);
            let slot = Slot {
                hash,
                key: (table.bytes.len() as u32, key.len() as u32),
                postings: (table.postings.len() as u32, postings.len() as u32),
            };
            table.bytes.extend_from_slice(&key);
            table.postings.extend_from_slice(&postings);
            let mask = table.slots.len() - 1;
            let mut at = hash as usize & mask;
            while !table.slots[at].is_empty() {
                at = (at + 1) & mask;
            }
            table.slots[at] = slot;
            let bit = table.filter_bit(hash);
            table.filter[bit / 64] |= 1 << (bit % 64);
        }
        table
    }
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    hash: u64,
    /// (start, length) in `bytes`.
    key: (u32, u32),
    /// (start, length) in `postings`; length 0: an empty slot.
    postings: (u32, u32),
}

impl Slot {
    const EMPTY: Slot = Slot {
        hash: 0,
        key: (0, 0),
        postings: (0, 0),
    };

    fn is_empty(&self) -> bool {
        self.postings.1 == 0
    }
}

/// Byte keys → postings, frozen.
#[derive(Debug, Clone)]
pub(super) struct KeyTable {
    slots: Vec<Slot>,
    filter: Vec<u64>,
    bytes: Vec<u8>,
    postings: Vec<usize>,
}

impl KeyTable {
    fn filter_bit(&self, hash: u64) -> usize {
        (hash >> 40) as usize & (self.filter.len() * 64 - 1)
    }

    /// True when the table holds nothing.
    pub(super) fn is_empty(&self) -> bool {
        self.postings.is_empty()
    }

    /// The postings of the key whose bytes are `parts` joined and whose FNV hash is `hash`.
    pub(super) fn get(&self, hash: u64, parts: &[&[u8]]) -> &[usize] {
        let bit = self.filter_bit(hash);
        if self.filter[bit / 64] & (1 << (bit % 64)) == 0 {
            return &[];
        }
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        loop {
            let slot = &self.slots[at];
            if slot.is_empty() {
                return &[];
            }
            if slot.hash == hash && self.key_is(slot, parts) {
                let (start, length) = (slot.postings.0 as usize, slot.postings.1 as usize);
                return &self.postings[start..start + length];
            }
            at = (at + 1) & mask;
        }
    }

    fn key_is(&self, slot: &Slot, parts: &[&[u8]]) -> bool {
        let (start, length) = (slot.key.0 as usize, slot.key.1 as usize);
        if parts.iter().map(|p| p.len()).sum::<usize>() != length {
            return false;
        }
        let mut key = &self.bytes[start..start + length];
        parts.iter().all(|part| {
            let (head, rest) = key.split_at(part.len());
            key = rest;
            head == *part
        })
    }

    /// Every posting.
    pub(super) fn all(&self) -> &[usize] {
        &self.postings
    }
}

#[cfg(test)]
mod tests {
    use super::{FNV_START, TableBuilder, fnv};

    #[test]
    fn finds_what_was_added_and_nothing_else() {
        let mut builder = TableBuilder::default();
        for n in 0..500 {
            builder.add(format!("key-{n}").into_bytes(), n);
            builder.add(format!("key-{n}").into_bytes(), n);
            builder.add(format!("key-{n}").into_bytes(), n + 1_000);
        }
        let table = builder.build();
        for n in 0..500 {
            let key = format!("key-{n}");
            let hash = fnv(FNV_START, key.as_bytes());
            assert_eq!(table.get(hash, &[key.as_bytes()]), &[n, n + 1_000]);
            // The same bytes given in parts.
            let (a, b) = key.as_bytes().split_at(2);
            assert_eq!(table.get(hash, &[a, b]), &[n, n + 1_000]);
        }
        for missing in ["key-500", "key-", "", "other"] {
            let hash = fnv(FNV_START, missing.as_bytes());
            assert!(
                table.get(hash, &[missing.as_bytes()]).is_empty(),
                "{missing}"
            );
        }
        assert_eq!(table.all().len(), 1_000);
        assert!(TableBuilder::default().build().is_empty());
    }
}
