//! Comparing two versions of a contract's JSON Schema, and checking an event against one.
//!
//! [`breaking_changes`] walks the committed (baseline) schema and the current one side by side,
//! following `$ref`s into `$defs`, and lists what would break the other side:
//!
//! - a field removed,
//! - a type changed (the set of JSON types differs, or a `const` or `enum` lost a value),
//! - an optional field made required, or a new field that is required.
//!
//! Adding an optional field, or documenting one better, is compatible.
//!
//! [`validate`] checks an event against a schema, for the subset of JSON Schema these
//! contracts use (`type`, `const`, `enum`, `required`, `properties`, `items`, `minimum`,
//! `$ref`), so tests can show that what a gateway publishes is what its contract says.

use serde_json::{Map, Value};

/// The breaking changes from `baseline` to `current`, each as a readable line naming the
/// path (`order.items[].quantity: type changed from integer to string`). Empty when
/// compatible.
pub fn breaking_changes(baseline: &Value, current: &Value) -> Vec<String> {
    let mut changes = Vec::new();
    compare(
        Side::new(baseline, baseline),
        Side::new(current, current),
        "",
        &mut changes,
    );
    changes
}

/// The ways `instance` does not match `schema`, each naming the path. Empty when it matches.
pub fn validate(schema: &Value, instance: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    check(Side::new(schema, schema), instance, "", &mut problems);
    problems
}

/// A node of a schema, with the document it came from (for `$ref`).
#[derive(Clone, Copy)]
struct Side<'a> {
    root: &'a Value,
    node: &'a Value,
}

impl<'a> Side<'a> {
    fn new(root: &'a Value, node: &'a Value) -> Self {
        Self { root, node }.resolved()
    }

    /// Follows `$ref`s (local ones: `#/$defs/Name`), at most a few levels deep.
    fn resolved(mut self) -> Self {
        for _ in 0..8 {
            let Some(reference) = self.node.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let Some(target) = reference
                .strip_prefix('#')
                .and_then(|pointer| self.root.pointer(pointer))
            else {
                break;
            };
            self.node = target;
        }
        self
    }

    fn child(&self, node: &'a Value) -> Self {
        Self::new(self.root, node)
    }

    fn properties(&self) -> Option<&'a Map<String, Value>> {
        self.node.get("properties").and_then(Value::as_object)
    }

    fn required(&self) -> Vec<&'a str> {
        self.node
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    fn items(&self) -> Option<Self> {
        self.node.get("items").map(|items| self.child(items))
    }

    /// The JSON types the node allows, sorted; `None` when it does not say.
    fn types(&self) -> Option<Vec<&'a str>> {
        let mut types: Vec<&str> = match self.node.get("type")? {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => return None,
        };
        types.sort_unstable();
        Some(types)
    }

    /// The values a `const` or `enum` allows; `None` when it allows any.
    fn allowed_values(&self) -> Option<Vec<&'a Value>> {
        if let Some(value) = self.node.get("const") {
            return Some(vec![value]);
        }
        self.node
            .get("enum")
            .and_then(Value::as_array)
            .map(|values| values.iter().collect())
    }
}

fn at(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn shown(path: &str) -> &str {
    if path.is_empty() { "(the event)" } else { path }
}

fn compare(baseline: Side<'_>, current: Side<'_>, path: &str, changes: &mut Vec<String>) {
    if let (Some(before), Some(after)) = (baseline.types(), current.types())
        && before != after
    {
        changes.push(format!(
            "{}: type changed from {} to {}",
            shown(path),
            before.join("|"),
            after.join("|")
        ));
        return;
    }
    if let Some(before) = baseline.allowed_values() {
        let after = current.allowed_values();
        for value in before {
            if after.as_ref().is_some_and(|after| !after.contains(&value)) {
                changes.push(format!("{}: no longer allows {value}", shown(path)));
            }
        }
    }

    let before_required = baseline.required();
    let after_required = current.required();
    let before_properties = baseline.properties();
    let after_properties = current.properties();
    if let Some(before_properties) = before_properties {
        for (name, before) in before_properties {
            let field = at(path, name);
            match after_properties.and_then(|after| after.get(name)) {
                None => changes.push(format!("{field}: field removed")),
                Some(after) => compare(
                    baseline.child(before),
                    current.child(after),
                    &field,
                    changes,
                ),
            }
        }
    }
    for name in after_required {
        if before_required.contains(&name) {
            continue;
        }
        let existed = before_properties.is_some_and(|before| before.contains_key(name));
        let field = at(path, name);
        changes.push(if existed {
            format!("{field}: optional field made required")
        } else {
            format!("{field}: new required field")
        });
    }
    if let (Some(before), Some(after)) = (baseline.items(), current.items()) {
        compare(before, after, &format!("{path}[]"), changes);
    }
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check(schema: Side<'_>, instance: &Value, path: &str, problems: &mut Vec<String>) {
    if let Some(types) = schema.types() {
        let actual = type_of(instance);
        let fits = types
            .iter()
            .any(|t| *t == actual || (*t == "number" && actual == "integer"));
        if !fits {
            problems.push(format!(
                "{}: expected {}, found {actual}",
                shown(path),
                types.join("|")
            ));
            return;
        }
    }
    if let Some(allowed) = schema.allowed_values()
        && !allowed.contains(&instance)
    {
        problems.push(format!("{}: {instance} is not allowed", shown(path)));
    }
    if let (Some(minimum), Some(number)) = (
        schema.node.get("minimum").and_then(Value::as_f64),
        instance.as_f64(),
    ) && number < minimum
    {
        problems.push(format!("{}: {number} is below {minimum}", shown(path)));
    }
    if let Value::Object(fields) = instance {
        for name in schema.required() {
            if !fields.contains_key(name) {
                problems.push(format!("{}: missing", at(path, name)));
            }
        }
        if let Some(properties) = schema.properties() {
            for (name, value) in fields {
                if let Some(property) = properties.get(name) {
                    check(schema.child(property), value, &at(path, name), problems);
                }
            }
        }
    }
    if let (Value::Array(elements), Some(items)) = (instance, schema.items()) {
        for element in elements {
            check(items, element, &format!("{path}[]"), problems);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn baseline() -> Value {
        json!({
            "type": "object",
            "required": ["id", "order"],
            "properties": {
                "id": {"type": "string"},
                "type": {"const": "order-placed"},
                "order": {"$ref": "#/$defs/Order"}
            },
            "$defs": {
                "Order": {
                    "type": "object",
                    "required": ["id", "items"],
                    "properties": {
                        "id": {"type": "string"},
                        "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}},
                        "total": {"type": ["integer", "null"]},
                        "status": {"enum": ["open", "closed"]}
                    }
                },
                "Item": {
                    "type": "object",
                    "required": ["quantity"],
                    "properties": {"quantity": {"type": "integer", "minimum": 0}}
                }
            }
        })
    }

    /// The baseline with one change made at a JSON pointer.
    fn changed(pointer: &str, value: Option<Value>) -> Value {
        let mut schema = baseline();
        let (parent, name) = pointer.rsplit_once('/').expect("a pointer");
        let parent = schema.pointer_mut(parent).expect("the parent exists");
        match (parent, value) {
            (Value::Object(fields), Some(value)) => {
                fields.insert(name.to_string(), value);
            }
            (Value::Object(fields), None) => {
                fields.remove(name);
            }
            _ => panic!("the parent is an object"),
        }
        schema
    }

    #[test]
    fn an_identical_schema_is_compatible() {
        assert!(breaking_changes(&baseline(), &baseline()).is_empty());
    }

    #[test]
    fn adding_an_optional_field_is_compatible() {
        let current = changed(
            "/$defs/Order/properties/notes",
            Some(json!({"type": "string"})),
        );
        assert_eq!(
            breaking_changes(&baseline(), &current),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_removed_field_is_breaking_even_behind_a_ref() {
        let current = changed("/$defs/Item/properties/quantity", None);
        assert_eq!(
            breaking_changes(&baseline(), &current),
            vec!["order.items[].quantity: field removed"]
        );
    }

    #[test]
    fn a_changed_type_is_breaking() {
        let current = changed(
            "/$defs/Order/properties/total",
            Some(json!({"type": "string"})),
        );
        assert_eq!(
            breaking_changes(&baseline(), &current),
            vec!["order.total: type changed from integer|null to string"]
        );
        let narrowed = changed(
            "/$defs/Order/properties/total",
            Some(json!({"type": "integer"})),
        );
        assert_eq!(breaking_changes(&baseline(), &narrowed).len(), 1);
    }

    #[test]
    fn a_lost_enum_or_const_value_is_breaking() {
        let current = changed(
            "/$defs/Order/properties/status",
            Some(json!({"enum": ["open"]})),
        );
        assert_eq!(
            breaking_changes(&baseline(), &current),
            vec![r#"order.status: no longer allows "closed""#]
        );
        let renamed = changed("/properties/type", Some(json!({"const": "order-created"})));
        assert_eq!(breaking_changes(&baseline(), &renamed).len(), 1);
    }

    #[test]
    fn an_optional_field_made_required_is_breaking_and_so_is_a_new_required_field() {
        let current = changed(
            "/$defs/Order/required",
            Some(json!(["id", "items", "total", "eta"])),
        );
        assert_eq!(
            breaking_changes(&baseline(), &current),
            vec![
                "order.total: optional field made required",
                "order.eta: new required field"
            ]
        );
    }

    #[test]
    fn validate_names_each_problem_by_path() {
        let schema = baseline();
        let good = json!({"id": "e1", "type": "order-placed",
                          "order": {"id": "o1", "items": [{"quantity": 2}], "total": null}});
        assert_eq!(validate(&schema, &good), Vec::<String>::new());
        let bad = json!({"type": "order-created",
                         "order": {"id": 5, "items": [{"quantity": -1}, {}], "status": "lost"}});
        assert_eq!(
            validate(&schema, &bad),
            vec![
                "id: missing",
                "order.id: expected string, found integer",
                "order.items[].quantity: -1 is below 0",
                "order.items[].quantity: missing",
                r#"order.status: "lost" is not allowed"#,
                r#"type: "order-created" is not allowed"#,
            ]
        );
    }
}
