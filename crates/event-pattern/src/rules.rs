//! Many rules matched together. Each rule is indexed by one field it matches exactly or by
//! prefix, choosing among its fields the one the fewest other rules share; a rule whose only
//! such fields are inside `$or` is indexed by one field per option. An event looks up its own
//! values of the indexed fields (a hash lookup per value, plus one per distinct prefix length)
//! and checks only the rules they name, and the few rules with no such field. With rules as
//! selective as a hub's, matching costs about the same with 10 rules or 1,000, and grows with
//! the number of rules an event actually matches.

use std::collections::HashMap;

use serde_json::Value;

use crate::pattern::{Field, Matcher, Pattern};

/// One indexable value of a field.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Exact(String),
    Prefix(String),
}

/// A field some rule can be found by, and the values it matches there.
type Anchor = (Vec<String>, Vec<Key>);

/// The rules found by one field.
#[derive(Debug, Clone, Default)]
struct PathIndex {
    path: Vec<String>,
    exact: HashMap<String, Vec<usize>>,
    prefixes: HashMap<String, Vec<usize>>,
    /// The distinct prefix lengths (bytes), ascending: what to look up for a value.
    prefix_lengths: Vec<usize>,
}

impl PathIndex {
    fn insert(&mut self, key: Key, rule: usize) {
        match key {
            Key::Exact(value) => self.exact.entry(value).or_default().push(rule),
            Key::Prefix(prefix) => {
                if let Err(at) = self.prefix_lengths.binary_search(&prefix.len()) {
                    self.prefix_lengths.insert(at, prefix.len());
                }
                self.prefixes.entry(prefix).or_default().push(rule);
            }
        }
    }

    fn look_up(&self, text: &str, candidates: &mut Vec<usize>) {
        if let Some(rules) = self.exact.get(text) {
            candidates.extend_from_slice(rules);
        }
        for &length in &self.prefix_lengths {
            if length > text.len() {
                break;
            }
            if text.is_char_boundary(length)
                && let Some(rules) = self.prefixes.get(&text[..length])
            {
                candidates.extend_from_slice(rules);
            }
        }
    }

    fn every_rule(&self, candidates: &mut Vec<usize>) {
        self.exact
            .values()
            .chain(self.prefixes.values())
            .for_each(|rules| candidates.extend_from_slice(rules));
    }
}

/// Rules, each a name and a pattern, ready to match events.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<(String, Pattern)>,
    index: Vec<PathIndex>,
    /// Rules with no indexable field: always checked.
    unindexed: Vec<usize>,
}

impl RuleSet {
    /// Compiles `rules`.
    pub fn new(rules: Vec<(String, Pattern)>) -> Self {
        // How many rules could be found by each (field, value): a rule is indexed by the field
        // whose values the fewest rules share.
        let choices: Vec<Vec<Anchor>> = rules.iter().map(|(_, p)| candidates(p)).collect();
        let mut shared: HashMap<(&[String], &Key), usize> = HashMap::new();
        for anchor in choices.iter().flatten() {
            for key in &anchor.1 {
                *shared.entry((anchor.0.as_slice(), key)).or_default() += 1;
            }
        }
        let cost = |(path, keys): &Anchor| -> (usize, usize) {
            let rank = match path.as_slice() {
                [only] if only == "detail-type" => 0,
                [only] if only == "source" => 2,
                _ => 1,
            };
            let sharing = keys
                .iter()
                .map(|k| shared.get(&(path.as_slice(), k)).copied().unwrap_or(0))
                .sum();
            (sharing, rank)
        };

        let mut index: Vec<PathIndex> = Vec::new();
        let mut unindexed = Vec::new();
        for (i, (_, pattern)) in rules.iter().enumerate() {
            let anchors = match choices[i].iter().min_by_key(|a| cost(a)) {
                Some(best) => vec![best.clone()],
                None => match any_of_anchors(pattern, &|options| {
                    options.iter().min_by_key(|a| cost(a)).cloned()
                }) {
                    Some(anchors) => anchors,
                    None => {
                        unindexed.push(i);
                        continue;
                    }
                },
            };
            for (path, keys) in anchors {
                let slot = match index.iter().position(|p| p.path == path) {
                    Some(slot) => slot,
                    None => {
                        index.push(PathIndex {
                            path,
                            ..PathIndex::default()
                        });
                        index.len() - 1
                    }
                };
                for key in keys {
                    index[slot].insert(key, i);
                }
            }
        }
        Self {
            rules,
            index,
            unindexed,
        }
    }

    /// How many rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The names of the rules `event` matches, in the order the rules were given.
    pub fn matching(&self, event: &Value) -> Vec<&str> {
        let mut candidates: Vec<usize> = self.unindexed.clone();
        'paths: for index in &self.index {
            let mut at = event;
            for key in &index.path {
                match at {
                    // An array of objects on the way: any element may match, so every rule
                    // on this path is a candidate.
                    Value::Array(_) => {
                        index.every_rule(&mut candidates);
                        continue 'paths;
                    }
                    _ => match at.get(key) {
                        Some(next) => at = next,
                        None => continue 'paths,
                    },
                }
            }
            match at {
                Value::String(text) => index.look_up(text, &mut candidates),
                Value::Array(items) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .for_each(|text| index.look_up(text, &mut candidates)),
                _ => {}
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        candidates
            .into_iter()
            .filter(|i| self.rules[*i].1.matches(event))
            .map(|i| self.rules[i].0.as_str())
            .collect()
    }
}

/// The fields (outside `$or`) a rule could be indexed by: those whose matchers are all exact
/// strings or case-sensitive prefixes.
fn candidates(pattern: &Pattern) -> Vec<Anchor> {
    let mut found = Vec::new();
    collect(pattern, &mut Vec::new(), &mut found);
    found
}

/// For a rule with no indexable field of its own: one `$or` group whose every option has one,
/// each option's best.
fn any_of_anchors(
    pattern: &Pattern,
    best: &dyn Fn(&[Anchor]) -> Option<Anchor>,
) -> Option<Vec<Anchor>> {
    pattern.any_of.iter().find_map(|group| {
        group
            .iter()
            .map(|option| best(&candidates(option)))
            .collect::<Option<Vec<_>>>()
    })
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
