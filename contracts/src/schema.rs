//! The JSON Schema of each contract's event, generated from the Rust types (feature `schema`):
//! the envelope's fields (`id`, `type`, `timestamp`, `partitionKey`, and the `version` tag on
//! the events we publish) and the entity's schema under `$defs`.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde_json::{Map, Value, json};

use crate::{Contract, Direction, order, restaurant};

/// The schema of `contract`'s events, as committed under `contracts/schemas/`.
pub fn event_schema(contract: &Contract) -> Value {
    let (entity_name, mut defs) = match contract.entity_field {
        "order" => entity::<order::OrderV1>(),
        "restaurant" => entity::<restaurant::RestaurantV1>(),
        "acceptance" => entity::<restaurant::OrderAcceptanceV1>(),
        other => unreachable!("no entity type is registered for the field {other}"),
    };
    // What we publish carries the whole envelope; of what we read, we rely on the type and the
    // entity only (the source defaults the id and the timestamp).
    let mut required = match contract.direction {
        Direction::Published => vec!["id", "type", "timestamp", "partitionKey"],
        Direction::Consumed => vec!["type"],
    };
    required.push(contract.entity_field);
    let mut properties = Map::new();
    properties.insert("id".into(), json!({"type": "string"}));
    properties.insert("type".into(), json!({"const": contract.event_type}));
    properties.insert(
        "timestamp".into(),
        json!({"type": "integer", "description": "milliseconds since the epoch"}),
    );
    properties.insert("partitionKey".into(), json!({"type": "string"}));
    if contract.direction == Direction::Published {
        // We stamp the version on what we publish; upstream events may not carry it.
        required.push("tags");
        properties.insert(
            "tags".into(),
            json!({
                "type": "object",
                "required": ["version"],
                "properties": {"version": {"const": contract.version}}
            }),
        );
    }
    properties.insert(
        contract.entity_field.into(),
        json!({"$ref": format!("#/$defs/{entity_name}")}),
    );
    defs.sort_keys();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": format!("{} v{}", contract.event_type, contract.version),
        "type": "object",
        "required": required,
        "properties": properties,
        "$defs": defs,
    })
}

/// Where the committed schemas are: `contracts/schemas/`.
pub fn schemas_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas")
}

/// Where `contract`'s committed schema is.
pub fn committed_path(contract: &Contract) -> PathBuf {
    schemas_dir()
        .join(contract.direction.folder())
        .join(contract.file_name())
}

/// `contract`'s committed schema.
pub fn committed_schema(contract: &Contract) -> Result<Value, String> {
    let path = committed_path(contract);
    let text = std::fs::read_to_string(&path)
        .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
    serde_json::from_str(&text).map_err(|error| format!("{} is not JSON: {error}", path.display()))
}

/// The entity's name and every definition it needs (itself included).
fn entity<T: JsonSchema>() -> (String, Map<String, Value>) {
    let name = T::schema_name().into_owned();
    let mut root = schemars::schema_for!(T).to_value();
    let mut defs = root
        .as_object_mut()
        .and_then(|fields| fields.remove("$defs"))
        .and_then(|defs| match defs {
            Value::Object(defs) => Some(defs),
            _ => None,
        })
        .unwrap_or_default();
    if let Value::Object(fields) = &mut root {
        fields.remove("$schema");
        fields.remove("title");
    }
    defs.insert(name.clone(), root);
    (name, defs)
}
