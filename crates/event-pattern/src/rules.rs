//! Many rules matched together. Each rule is indexed by one field it matches exactly (by
//! preference `detail-type`, then any other field, then `source`): an event looks up its own
//! values of the indexed fields and checks only the rules they name, plus the few rules with
//! no exact field. With selective rules (hub rules name their types), matching costs about the
//! same with 10 rules or 1,000.

use std::collections::HashMap;

use serde_json::Value;

use crate::pattern::{Field, Matcher, Pattern};

/// The rules anchored on one path: exact value → the rules' positions.
type PathIndex = (Vec<String>, HashMap<String, Vec<usize>>);

/// Rules, each a name and a pattern, ready to match events.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<(String, Pattern)>,
    /// Per indexed path: exact value → the rules anchored on it.
    index: Vec<PathIndex>,
    /// Rules with no exact string field: always checked.
    unindexed: Vec<usize>,
}

impl RuleSet {
    /// Compiles `rules`.
    pub fn new(rules: Vec<(String, Pattern)>) -> Self {
        let mut index: Vec<PathIndex> = Vec::new();
        let mut unindexed = Vec::new();
        for (i, (_, pattern)) in rules.iter().enumerate() {
            match anchor(pattern) {
                Some((path, values)) => {
                    let slot = match index.iter().position(|(p, _)| *p == path) {
                        Some(slot) => slot,
                        None => {
                            index.push((path, HashMap::new()));
                            index.len() - 1
                        }
                    };
                    for value in values {
                        index[slot].1.entry(value).or_default().push(i);
                    }
                }
                None => unindexed.push(i),
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
        'paths: for (path, values) in &self.index {
            let mut at = event;
            for key in path {
                match at {
                    // An array of objects on the way: any element may match, so every rule
                    // on this path is a candidate.
                    Value::Array(_) => {
                        values
                            .values()
                            .for_each(|rules| candidates.extend_from_slice(rules));
                        continue 'paths;
                    }
                    _ => match at.get(key) {
                        Some(next) => at = next,
                        None => continue 'paths,
                    },
                }
            }
            let mut look = |text: &str| {
                if let Some(rules) = values.get(text) {
                    candidates.extend_from_slice(rules);
                }
            };
            match at {
                Value::String(text) => look(text),
                Value::Array(items) => items.iter().filter_map(Value::as_str).for_each(&mut look),
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

/// The field a rule is indexed by: a path whose matchers are all exact strings, and those
/// strings.
fn anchor(pattern: &Pattern) -> Option<(Vec<String>, Vec<String>)> {
    let mut found: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    collect(pattern, &mut Vec::new(), &mut found);
    let rank = |path: &[String]| match path {
        [only] if only == "detail-type" => 0,
        [only] if only == "source" => 2,
        _ => 1,
    };
    found.into_iter().min_by_key(|(path, _)| rank(path))
}

fn collect(pattern: &Pattern, path: &mut Vec<String>, found: &mut Vec<(Vec<String>, Vec<String>)>) {
    for (key, field) in &pattern.fields {
        path.push(key.clone());
        match field {
            Field::Nested(inner) => collect(inner, path, found),
            Field::Matchers(matchers) => {
                let exact: Option<Vec<String>> = matchers
                    .iter()
                    .map(|m| match m {
                        Matcher::String(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect();
                if let Some(values) = exact {
                    found.push((path.clone(), values));
                }
            }
        }
        path.pop();
    }
}
