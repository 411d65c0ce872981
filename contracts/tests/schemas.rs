//! The committed JSON Schemas against the Rust types: a breaking change fails; a compatible
//! one fails until it is committed with `UPDATE_CONTRACTS=1`.

use customer_contracts::compat::{breaking_changes, validate};
use customer_contracts::schema::{committed_path, committed_schema, event_schema, schemas_dir};
use customer_contracts::{CONTRACTS, Contract, Direction, order, restaurant};
use serde_json::{Value, json};

fn committed(contract: &Contract) -> Option<Value> {
    if !committed_path(contract).exists() {
        return None;
    }
    Some(committed_schema(contract).expect("a committed schema is JSON"))
}

fn updating() -> bool {
    std::env::var("UPDATE_CONTRACTS").is_ok_and(|v| v == "1")
}

fn write(contract: &Contract, schema: &Value) {
    let path = committed_path(contract);
    std::fs::create_dir_all(path.parent().expect("a folder")).expect("create the folder");
    let text = serde_json::to_string_pretty(schema).expect("JSON") + "\n";
    std::fs::write(&path, text).expect("write the schema");
}

#[test]
fn the_committed_schemas_match_the_types() {
    let mut failures = Vec::new();
    for contract in CONTRACTS {
        let current = event_schema(contract);
        let Some(baseline) = committed(contract) else {
            if updating() {
                write(contract, &current);
            } else {
                failures.push(format!(
                    "{}: no committed schema at {}",
                    contract.file_name(),
                    committed_path(contract).display()
                ));
            }
            continue;
        };
        if baseline == current {
            continue;
        }
        let breaking = breaking_changes(&baseline, &current);
        if !breaking.is_empty() {
            failures.push(format!(
                "{} has breaking changes; publish a new version instead:\n  {}",
                contract.file_name(),
                breaking.join("\n  ")
            ));
        } else if updating() {
            write(contract, &current);
        } else {
            failures.push(format!(
                "{} changed compatibly: commit it with \
                 UPDATE_CONTRACTS=1 cargo test -p customer-contracts --features schema",
                contract.file_name()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_committed_schema_belongs_to_a_contract() {
    for direction in [Direction::Published, Direction::Consumed] {
        let folder = schemas_dir().join(direction.folder());
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries {
            let name = entry.expect("an entry").file_name();
            let name = name.to_string_lossy();
            assert!(
                CONTRACTS
                    .iter()
                    .any(|c| c.direction == direction && c.file_name() == name),
                "{name} in {} has no contract",
                folder.display()
            );
        }
    }
}

/// The committed schema of a contract with one edit made to its entity type's definition.
fn edited(contract: &Contract, definition: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let mut schema = committed(contract).expect("committed");
    edit(
        schema
            .pointer_mut(&format!("/$defs/{definition}"))
            .expect("the definition"),
    );
    schema
}

#[test]
fn breaking_edits_to_the_committed_contracts_are_caught() {
    let baseline = committed(&order::ORDER_PLACED).expect("committed");
    let removed = edited(&order::ORDER_PLACED, "OrderV1", |d| {
        d["properties"]
            .as_object_mut()
            .expect("properties")
            .remove("restaurantId");
    });
    let retyped = edited(&order::ORDER_PLACED, "OrderItemV1", |d| {
        d["properties"]["quantity"] = json!({"type": "string"});
    });
    let required = edited(&order::ORDER_PLACED, "OrderV1", |d| {
        d["required"]
            .as_array_mut()
            .expect("required")
            .push(json!("total"));
    });
    assert_eq!(
        breaking_changes(&baseline, &removed),
        vec!["order.restaurantId: field removed"]
    );
    assert_eq!(
        breaking_changes(&baseline, &retyped),
        vec!["order.items[].quantity: type changed from integer to string"]
    );
    assert_eq!(
        breaking_changes(&baseline, &required),
        vec!["order.total: optional field made required"]
    );
    let added = edited(&order::ORDER_PLACED, "OrderV1", |d| {
        d["properties"]["eta"] = json!({"type": ["integer", "null"]});
    });
    assert!(breaking_changes(&baseline, &added).is_empty());
}

#[test]
fn events_written_with_the_types_validate_against_their_schemas() {
    let order = order::OrderV1 {
        id: "o1".into(),
        restaurant_id: "r7".into(),
        items: vec![order::OrderItemV1 {
            menu_item_id: "m1".into(),
            quantity: 2,
        }],
        total: None,
        currency: Some("EUR".into()),
    };
    let event = json!({"id": "e1", "type": "order-placed", "timestamp": 1,
                       "partitionKey": "o1", "tags": {"version": 1}, "order": order});
    let schema = committed(&order::ORDER_PLACED).expect("committed");
    assert_eq!(validate(&schema, &event), Vec::<String>::new());
    let unversioned = json!({"id": "e1", "type": "order-placed", "timestamp": 1,
                             "partitionKey": "o1", "tags": {}, "order": order});
    assert_eq!(
        validate(&schema, &unversioned),
        vec!["tags.version: missing"]
    );

    // What we read from the Restaurant subsystem: only the fields we rely on are required.
    let schema = committed(&restaurant::RESTAURANT_CLOSED).expect("committed");
    let closed =
        json!({"type": "restaurant-closed", "restaurant": {"id": "r7", "reason": "holiday"}});
    assert_eq!(validate(&schema, &closed), Vec::<String>::new());
    let read: restaurant::RestaurantV1 =
        serde_json::from_value(closed["restaurant"].clone()).expect("a tolerant read");
    assert_eq!(read.menu, vec![]);
}
