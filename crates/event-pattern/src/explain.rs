//! Why an event does not match: the first field of the pattern that failed, for the
//! `test-pattern` command.

use serde_json::Value;

use crate::matching;
use crate::pattern::{Field, Pattern};

/// The field of a pattern an event failed on, and what the pattern wanted there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The dotted path of the field (`detail.amount`), or `$or` for a group none of whose
    /// options matched.
    pub path: String,
    /// The event's value there (`missing` when it has none).
    pub found: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` does not match (the event has {})",
            self.path, self.found
        )
    }
}

impl Pattern {
    /// `Ok` when `event` matches, else the first field that failed.
    pub fn explain(&self, event: &Value) -> Result<(), Mismatch> {
        explain(self, event, "")
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn explain(pattern: &Pattern, event: &Value, path: &str) -> Result<(), Mismatch> {
    for (key, field) in &pattern.fields {
        let here = join(path, key);
        let value = event.as_object().and_then(|object| object.get(key));
        let single = Pattern {
            fields: vec![(key.clone(), field.clone())],
            any_of: Vec::new(),
        };
        if matching::matches(&single, event) {
            continue;
        }
        // Say which nested field failed when the value is an object.
        if let (Field::Nested(inner), Some(object @ Value::Object(_))) = (field, value) {
            return explain(inner, object, &here);
        }
        return Err(Mismatch {
            path: here,
            found: value.map_or_else(|| "missing".to_string(), |v| format!("`{v}`")),
        });
    }
    for group in &pattern.any_of {
        if !group.iter().any(|option| matching::matches(option, event)) {
            return Err(Mismatch {
                path: join(path, "$or"),
                found: "none of the options".to_string(),
            });
        }
    }
    Ok(())
}
