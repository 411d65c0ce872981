//! Change data capture from DynamoDB streams with the Node library's defaults: the entity
//! mapping, the item's own time, rows that are not entities filtered, TTL removals and
//! collected events that expire.

use std::sync::Arc;

use lambda_stream::testing::{self, Change};
use lambda_stream::{
    Config, DynamoDbSource, Envelope, InMemoryPublisher, Invocation, Pipeline, RecordState, Source,
    StreamHandler,
};
use serde_json::{Value, json};

fn decode(change: Change) -> Result<Envelope, String> {
    let event = testing::dynamodb_event(&[change]);
    let record = event.records().get(0).expect("one record");
    DynamoDbSource::new()
        .envelope(record)
        .map_err(|e| e.to_string())
}

fn order(status: &str, timestamp: i64) -> Value {
    json!({
        "pk": "o1", "sk": "order", "discriminator": "order", "status": status,
        "timestamp": timestamp, "ttl": 1_900_000_000, "latched": true, "deleted": null,
        "aws:rep:updateregion": "us-east-1", "total": 23.5
    })
}

#[test]
fn an_item_becomes_its_entity_with_the_table_attributes_left_out() {
    let keys = json!({"pk": "o1", "sk": "order"});
    let event = decode(Change::modify(
        keys,
        order("paid", 1_700_000_000_123),
        order("placed", 1_700_000_000_000),
    ))
    .expect("decodes");
    assert_eq!(event.event_type(), "order-updated");
    assert_eq!(event.partition_key(), Some("o1"));
    assert_eq!(event.timestamp(), 1_700_000_000_123, "the item's own time");
    let entity: Value = event.entity().expect("an entity");
    assert_eq!(
        entity,
        json!({"id": "o1", "status": "paid", "timestamp": 1_700_000_000_123_i64, "total": 23.5})
    );
    let raw: Value = event.raw_as().expect("raw");
    assert_eq!(raw["old"]["status"], "placed");
    assert_eq!(raw["new"]["latched"], true);
}

#[test]
fn a_delete_describes_the_entity_from_its_old_image() {
    let event = decode(Change::remove(
        json!({"pk": "o1", "sk": "order"}),
        order("cancelled", 5),
    ))
    .expect("decodes");
    assert_eq!(event.event_type(), "order-deleted");
    let entity: Value = event.entity().expect("an entity");
    assert_eq!(entity["status"], "cancelled");
}

#[tokio::test]
async fn rows_that_are_not_entities_are_filtered_not_faulted() {
    let idempotency = Change::insert(
        json!({"pk": "idempotency#payments", "sk": "e1"}),
        json!({"pk": "idempotency#payments", "sk": "e1", "status": "in-progress", "expiresAt": 1}),
    );
    let correlation = Change::insert(
        json!({"pk": "o1", "sk": "e1"}),
        json!({"pk": "o1", "sk": "e1", "discriminator": "CORREL", "event": {"id": "e1"}}),
    );
    let entity = Change::insert(json!({"pk": "o1", "sk": "order"}), order("placed", 1));
    let faults = Arc::new(InMemoryPublisher::new());
    let report = StreamHandler::with_config(DynamoDbSource::new(), Config::default())
        .pipeline(Pipeline::new("trigger").delivered())
        .faults_to(faults.clone())
        .process(
            testing::dynamodb_event(&[idempotency, correlation, entity]),
            Invocation::local(),
        )
        .await;
    let states: Vec<RecordState> = report.records.iter().map(|r| r.pipelines[0]).collect();
    assert_eq!(
        states,
        vec![
            RecordState::Filtered,
            RecordState::Filtered,
            RecordState::Delivered
        ]
    );
    assert!(faults.published().is_empty(), "nothing is wrong with them");
    assert!(report.records.iter().all(|r| r.decode_error.is_none()));
}

#[test]
fn a_removal_by_ttl_is_told_from_a_users_delete() {
    let keys = json!({"pk": "o1", "sk": "order"});
    let by_user = decode(Change::remove(keys.clone(), order("placed", 1))).expect("decodes");
    let by_ttl = decode(Change::remove(keys, order("placed", 1)).by_ttl()).expect("decodes");
    assert_eq!(by_user.event_type(), "order-deleted");
    assert_eq!(by_ttl.event_type(), "order-expired");
}

#[test]
fn a_collected_event_flagged_to_expire_becomes_its_type_expired_once() {
    let placed = Envelope::builder("order-placed")
        .id("e7")
        .timestamp(1)
        .partition_key("o1")
        .entity("order", &json!({"id": "o1"}))
        .build()
        .expect("valid");
    let collected = |expire: bool| {
        json!({
            "pk": "e7", "sk": "EVENT", "discriminator": "EVENT", "data": "o1",
            "ttl": 1_700_000_000, "expire": expire,
            "event": serde_json::from_str::<Value>(&placed.to_json()).expect("json"),
        })
    };
    let keys = json!({"pk": "e7", "sk": "EVENT"});
    let expired = decode(Change::remove(keys.clone(), collected(true)).by_ttl()).expect("decodes");
    assert_eq!(expired.event_type(), "order-placed-expired");
    assert_eq!(
        expired.id(),
        "e7.expired",
        "the same id however often it is delivered"
    );
    assert_eq!(expired.partition_key(), Some("o1"));
    let triggers: Vec<Value> = expired.field("triggers").expect("triggers");
    assert_eq!(triggers[0]["id"], "e7");
    // Not flagged, or removed by a user: not an event.
    let error =
        decode(Change::remove(keys.clone(), collected(false)).by_ttl()).expect_err("not an event");
    assert!(error.contains("not flagged"), "{error}");
    assert!(decode(Change::remove(keys, collected(true))).is_err());
}

#[test]
fn each_change_has_its_own_time_unless_it_says() {
    let keys = json!({"pk": "t1", "sk": "thing"});
    let item = json!({"pk": "t1", "sk": "thing", "discriminator": "thing"});
    let event = testing::dynamodb_event(&[
        Change::insert(keys.clone(), item.clone()),
        Change::modify(keys.clone(), item.clone(), item.clone()),
        Change::modify(keys, item.clone(), item).at(1_600_000_000.5),
    ]);
    let times: Vec<i64> = event
        .records()
        .iter()
        .map(|r| {
            DynamoDbSource::new()
                .envelope(r)
                .expect("decodes")
                .timestamp()
        })
        .collect();
    assert_eq!(
        times,
        vec![1_545_084_650_000, 1_545_084_651_000, 1_600_000_000_500]
    );
}
