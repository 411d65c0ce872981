//! Many rules matched together, compiled into one index. A rule is found by two of the fields
//! it matches by exact strings or case-sensitive prefixes, together (an exact one with an exact
//! one or a prefix, the ones the fewest other rules share: `source` and `detail-type`,
//! typically, each shared by many rules of a large hub, the pair by one or two), or by its
//! only such field. A rule with `$or` is found by each option's fields (with the
//! rule's own). Every string a rule names at an indexed path gets an id; an event's value at
//! each indexed path is hashed once and looked up among them (prefixes only at the lengths of
//! those that start with its first byte), whatever the number of indexes, and the rules are
//! found by one id or a pair of ids. Only the rules found are checked, beside the few with no
//! indexable field; a rule found by all the fields it has needs no check at all. So the work
//! per event follows the paths rules use and the rules that match it, not the number of
//! rules: with rules as selective as a hub's, about the same with 10 rules or 1,000.

mod index;
mod table;

use std::collections::HashMap;

use serde_json::Value;

use crate::pattern::{Field, Matcher, Pattern};
use index::{EventKeys, Index, IndexBuilder, PathKeys, PathKeysBuilder};

/// One indexable value of a field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Exact(String),
    Prefix(String),
}

/// A field a rule can be found by, and the values it matches there.
type Anchor = (Vec<String>, Vec<Key>);

/// Rules, each a name and a pattern, ready to match events.
#[derive(Debug, Clone)]
pub struct RuleSet {
    names: Vec<String>,
    patterns: Vec<Pattern>,
    /// The indexed paths, each with the strings rules name there.
    paths: Vec<(Vec<String>, PathKeys)>,
    /// The indexes, by one field or two, to postings.
    indexes: Vec<Index>,
    /// The remaining checks, each once: rules asking the same share it, which stays in the
    /// cache (as event-ruler shares the states of equal conditions).
    checks: Vec<Pattern>,
    /// The postings of rules with no indexable field, always checked.
    unindexed: Vec<u64>,
}

/// A way of finding a rule, as an index holds it: the rule (high half) and what is left to
/// check once found (low half), so that a rule found needs no other lookup before its check:
/// `NOTHING` (the index's fields are all the rule has), `WHOLE` (the whole rule: not indexed,
/// or found through an array of objects), or the position in `checks` plus `REST` of the
/// rule's other fields (with a `$or` option's, for a rule found by that option).
fn posting(rule: u32, check: u32) -> u64 {
    (u64::from(rule) << 32) | u64::from(check)
}

const NOTHING: u32 = 0;
const WHOLE: u32 = 1;
const REST: u32 = 2;

/// `posting` with the whole rule to check.
fn checked_whole(posting: u64) -> u64 {
    (posting & !0xffff_ffff) | u64::from(WHOLE)
}

/// A pair of fields is indexed only when their values make at most this many pairs.
const MAX_PAIRS: usize = 16;

/// The indexed paths while compiling, each with the strings rules name there.
#[derive(Default)]
struct Paths(Vec<(Vec<String>, PathKeysBuilder)>);

impl Paths {
    /// The position of `path`, added if new.
    fn at(&mut self, path: &[String]) -> usize {
        match self.0.iter().position(|(p, _)| p == path) {
            Some(at) => at,
            None => {
                self.0.push((path.to_vec(), PathKeysBuilder::default()));
                self.0.len() - 1
            }
        }
    }

    /// The id of `key` at path `at`.
    fn id(&mut self, at: usize, key: &Key) -> u32 {
        match key {
            Key::Exact(value) => self.0[at].1.id(value, false),
            Key::Prefix(value) => self.0[at].1.id(value, true),
        }
    }
}

impl RuleSet {
    /// Compiles `rules`.
    pub fn new(rules: Vec<(String, Pattern)>) -> Self {
        // Each rule's ways of being found, each with what a match must satisfy: one per `$or`
        // option of its first group (the rule's own fields and the option's, with its other
        // groups), or the rule itself.
        let ways: Vec<Vec<(Vec<Anchor>, Pattern)>> = rules
            .iter()
            .map(|(_, pattern)| match pattern.any_of.split_first() {
                Some((group, others)) => group
                    .iter()
                    .map(|option| {
                        let combined = Pattern {
                            fields: pattern
                                .fields
                                .iter()
                                .chain(&option.fields)
                                .cloned()
                                .collect(),
                            any_of: others.iter().chain(&option.any_of).cloned().collect(),
                        };
                        (anchors(&combined), combined)
                    })
                    .collect(),
                None => vec![(anchors(pattern), pattern.clone())],
            })
            .collect();
        // How many rules each (field, value) could find.
        let mut shared: HashMap<(&[String], &Key), usize> = HashMap::new();
        for (anchors, _) in ways.iter().flatten() {
            for (path, keys) in anchors {
                for key in keys {
                    *shared.entry((path.as_slice(), key)).or_default() += 1;
                }
            }
        }
        let sharing = |(path, keys): &Anchor| -> usize {
            keys.iter()
                .map(|k| shared.get(&(path.as_slice(), k)).copied().unwrap_or(0))
                .sum()
        };

        let mut paths = Paths::default();
        let mut builders: Vec<((Option<usize>, usize), IndexBuilder)> = Vec::new();
        let mut checks: Vec<Pattern> = Vec::new();
        let mut check_of: HashMap<String, u32> = HashMap::new();
        let mut unindexed = Vec::new();
        for (rule, options) in ways.iter().enumerate() {
            let rule = rule as u32;
            if options.iter().any(|(anchors, _)| anchors.is_empty()) {
                // An option with no indexable field could match anything: check it always.
                unindexed.push(posting(rule, WHOLE));
                continue;
            }
            for (anchors, pattern) in options {
                let mut ranked: Vec<&Anchor> = anchors.iter().collect();
                ranked.sort_by_key(|a| sharing(a));
                let exact_only =
                    |(_, keys): &Anchor| keys.iter().all(|k| matches!(k, Key::Exact(_)));
                // The least shared field with exact values, paired with the least shared other
                // one. A pair is never less selective than either field, and a rule found by
                // every field it has needs no check: a pair whenever there are two fields.
                let pair = ranked
                    .iter()
                    .copied()
                    .find(|a| exact_only(a))
                    .and_then(|a| {
                        let b = ranked.iter().copied().find(|b| !std::ptr::eq(*b, a))?;
                        (a.1.len() * b.1.len() <= MAX_PAIRS).then_some((a, b))
                    });
                let (first, second) = match pair {
                    // Two exact fields in one order whichever is rarer, so that rules on the same
                    // two fields share one index (one lookup per event, not two).
                    Some((a, b)) if exact_only(b) && b.0 < a.0 => (Some(b), a),
                    Some((a, b)) => (Some(a), b),
                    None => (None, ranked[0]),
                };
                let used: Vec<&[String]> = first
                    .iter()
                    .chain([&second])
                    .map(|(p, _)| p.as_slice())
                    .collect();
                let rest = without(pattern, &used, &mut Vec::new());
                let check = if rest.fields.is_empty() && rest.any_of.is_empty() {
                    NOTHING
                } else {
                    // Hubs repeat their content filters (the same field, a few thresholds).
                    *check_of.entry(format!("{rest:?}")).or_insert_with(|| {
                        checks.push(rest);
                        REST + checks.len() as u32 - 1
                    })
                };
                let posting = posting(rule, check);
                let first_ids: Vec<Option<u32>> = match first {
                    Some((path, keys)) => {
                        let at = paths.at(path);
                        keys.iter().map(|key| Some(paths.id(at, key))).collect()
                    }
                    None => vec![None],
                };
                let second_at = paths.at(&second.0);
                let second_ids: Vec<u32> = second
                    .1
                    .iter()
                    .map(|key| paths.id(second_at, key))
                    .collect();
                let fields = (first.map(|(p, _)| paths.at(p)), second_at);
                let builder = match builders.iter().position(|(f, _)| *f == fields) {
                    Some(at) => &mut builders[at].1,
                    None => {
                        builders.push((fields, IndexBuilder::default()));
                        &mut builders.last_mut().expect("just pushed").1
                    }
                };
                for &first in &first_ids {
                    for &second in &second_ids {
                        builder.add(first, second, posting);
                    }
                }
            }
        }
        let (names, patterns) = rules.into_iter().unzip();
        Self {
            names,
            patterns,
            paths: paths
                .0
                .into_iter()
                .map(|(path, keys)| (path, keys.build()))
                .collect(),
            indexes: builders
                .into_iter()
                .map(|(fields, builder)| builder.build(fields))
                .collect(),
            checks,
            unindexed,
        }
    }

    /// How many rules.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The names of the rules `event` matches, in the order the rules were given.
    pub fn matching(&self, event: &Value) -> Vec<&str> {
        let keys = EventKeys::of(event, &self.paths);
        let mut found: Vec<u64> = Vec::with_capacity(self.unindexed.len() + 8);
        found.extend_from_slice(&self.unindexed);
        for index in &self.indexes {
            index.look_up(&keys, &mut found);
        }
        // In the rules' order (the high half), each way once.
        found.sort_unstable();
        found.dedup();
        let mut matched: Vec<&str> = Vec::with_capacity(found.len());
        let mut last = None;
        for &posting in &found {
            let rule = (posting >> 32) as usize;
            if last == Some(rule) {
                // Found by another way (a `$or` option) and matched already.
                continue;
            }
            let matches = match posting as u32 {
                NOTHING => true,
                WHOLE => self.patterns[rule].matches(event),
                check => self.checks[(check - REST) as usize].matches(event),
            };
            if matches {
                matched.push(self.names[rule].as_str());
                last = Some(rule);
            }
        }
        matched
    }
}

/// `pattern` without the fields at `used` (whole paths), and without objects left empty.
fn without(pattern: &Pattern, used: &[&[String]], path: &mut Vec<String>) -> Pattern {
    let mut rest = Pattern {
        fields: Vec::new(),
        any_of: pattern.any_of.clone(),
    };
    for (key, field) in &pattern.fields {
        path.push(key.clone());
        match field {
            Field::Matchers(_) if used.contains(&path.as_slice()) => {}
            Field::Matchers(_) => rest.fields.push((key.clone(), field.clone())),
            Field::Nested(inner) => {
                let inner = without(inner, used, path);
                if !inner.fields.is_empty() || !inner.any_of.is_empty() {
                    rest.fields.push((key.clone(), Field::Nested(inner)));
                }
            }
        }
        path.pop();
    }
    rest
}

/// The fields (outside `$or`) a rule could be found by: those whose matchers are all exact
/// strings or case-sensitive prefixes.
fn anchors(pattern: &Pattern) -> Vec<Anchor> {
    let mut found = Vec::new();
    collect(pattern, &mut Vec::new(), &mut found);
    found
}

fn collect(pattern: &Pattern, path: &mut Vec<String>, found: &mut Vec<Anchor>) {
    for (key, field) in &pattern.fields {
        path.push(key.clone());
        match field {
            Field::Nested(inner) => collect(inner, path, found),
            Field::Matchers(matchers) => {
                let keys: Option<Vec<Key>> = matchers
                    .iter()
                    .map(|m| match m {
                        Matcher::String(s) => Some(Key::Exact(s.clone())),
                        Matcher::Prefix {
                            value,
                            ignore_case: false,
                        } => Some(Key::Prefix(value.clone())),
                        _ => None,
                    })
                    .collect();
                if let Some(keys) = keys {
                    found.push((path.clone(), keys));
                }
            }
        }
        path.pop();
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::RuleSet;
    use crate::Pattern;

    fn rules(patterns: &[serde_json::Value]) -> RuleSet {
        RuleSet::new(
            patterns
                .iter()
                .enumerate()
                .map(|(i, p)| (format!("r{i}"), Pattern::from_value(p).expect("valid")))
                .collect(),
        )
    }

    #[test]
    fn finds_rules_by_exact_value_prefix_and_or_options() {
        let set = rules(&[
            json!({"detail-type": ["order-placed", "order-cancelled"]}),
            json!({"detail-type": [{"prefix": "order-"}], "source": ["custom"]}),
            json!({"$or": [{"detail-type": ["payment-authorized"]}, {"detail": {"type": [{"prefix": "pay"}]}}]}),
            json!({"detail-type": [{"anything-but": ["fault"]}]}),
            json!({"detail": {"items": {"sku": ["a"]}}}),
        ]);
        let at = |event: serde_json::Value| set.matching(&event);
        assert_eq!(
            at(json!({"detail-type": "order-placed", "source": "custom"})),
            vec!["r0", "r1", "r3"]
        );
        assert_eq!(
            at(json!({"detail-type": "order-x", "source": "other"})),
            vec!["r3"]
        );
        assert_eq!(
            at(json!({"detail-type": "payment-authorized"})),
            vec!["r2", "r3"]
        );
        assert_eq!(
            at(json!({"detail-type": "fault", "detail": {"type": "payment-x"}})),
            vec!["r2"]
        );
        // Arrays: of values (any element) and of objects on the way to the field.
        assert_eq!(
            at(json!({"detail-type": ["fault", "order-cancelled"]})),
            vec!["r0", "r3"]
        );
        assert_eq!(
            at(json!({"detail-type": "fault", "detail": {"items": [{"sku": "b"}, {"sku": "a"}]}})),
            vec!["r4"]
        );
        // A prefix never splits a character.
        assert_eq!(
            at(json!({"detail-type": "é", "source": "custom"})),
            vec!["r3"]
        );
    }

    #[test]
    fn finds_every_prefix_of_a_value_whatever_its_length() {
        // Prefixes of several lengths sharing a first byte, one of another first byte, the
        // empty prefix (every string has it) and a prefix paired with an exact source.
        let set = rules(&[
            json!({"detail-type": [{"prefix": "c"}]}),
            json!({"detail-type": [{"prefix": "cart-"}]}),
            json!({"detail-type": [{"prefix": "customer-"}]}),
            json!({"detail-type": [{"prefix": "order-"}]}),
            json!({"detail-type": [{"prefix": ""}]}),
            json!({"source": ["shop"], "detail-type": [{"prefix": "cu"}]}),
        ]);
        let at = |kind: &str, source: &str| {
            set.matching(&json!({"detail-type": kind, "source": source}))
        };
        assert_eq!(at("customer-created", "shop"), ["r0", "r2", "r4", "r5"]);
        assert_eq!(at("customer-created", "other"), ["r0", "r2", "r4"]);
        assert_eq!(at("cart-", "shop"), ["r0", "r1", "r4"]);
        assert_eq!(at("cart", "shop"), ["r0", "r4"]);
        assert_eq!(at("order-placed", "shop"), ["r3", "r4"]);
        assert_eq!(at("", "shop"), ["r4"]);
        assert_eq!(at("Customer-created", "shop"), ["r4"]);
        assert!(set.matching(&json!({"detail-type": 3})).is_empty());
    }

    #[test]
    fn rules_sharing_each_field_are_found_by_the_pair() {
        // Every source and every type is shared by several rules; each (source, type) pair
        // finds one or two.
        let mut patterns = Vec::new();
        for source in ["a", "b", "c"] {
            for kinds in [["x", "y"], ["y", "z"], ["z", "w"]] {
                patterns.push(json!({"source": [source], "detail-type": kinds}));
            }
        }
        let set = rules(&patterns);
        assert!(
            set.indexes.iter().any(|i| i.fields.0.is_some()),
            "indexed by pairs"
        );
        assert_eq!(
            set.matching(&json!({"source": "b", "detail-type": "y"})),
            vec!["r3", "r4"]
        );
        assert_eq!(
            set.matching(&json!({"source": ["c", "q"], "detail-type": ["w", "x"]})),
            vec!["r6", "r8"]
        );
        assert!(set.matching(&json!({"source": "b"})).is_empty());
        assert!(
            set.matching(&json!({"source": "q", "detail-type": "x"}))
                .is_empty()
        );
    }

    #[test]
    fn the_rule_set_answers_as_each_pattern_does() {
        let patterns = [
            json!({"source": ["a", "b"], "detail": {"n": [{"numeric": [">", 1]}]}}),
            json!({"source": [{"prefix": "a"}]}),
            json!({"$or": [{"source": ["b"]}, {"detail": {"n": [2]}}]}),
            json!({"detail": {"n": [{"exists": false}]}}),
        ];
        let set = rules(&patterns);
        for source in ["a", "ab", "b", "c"] {
            for n in [json!(0), json!(2), json!(null)] {
                let event = json!({"source": source, "detail": {"n": n}});
                let expected: Vec<String> = patterns
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| Pattern::from_value(p).expect("valid").matches(&event))
                    .map(|(i, _)| format!("r{i}"))
                    .collect();
                assert_eq!(set.matching(&event), expected, "{event}");
            }
        }
    }
}
