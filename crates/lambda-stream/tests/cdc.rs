//! Change data capture from DynamoDB streams with the Node library's defaults: the entity
//! mapping, the change's time, soft deletes, global tables' replicated changes filtered, rows
//! that are not entities filtered, TTL removals and collected events that expire. (The Node
//! interop suite checks the same against Node's own `fromDynamodb`.)

use std::sync::Arc;

use lambda_stream::testing::{self, Change};
use lambda_stream::{
    Config, DynamoDbSource, Envelope, InMemoryPublisher, Invocation, Pipeline, RecordState, Source,
    StreamHandler,
};
use serde_json::{Value, json};

const REGION: &str = "us-east-1";

fn source() -> DynamoDbSource {
    DynamoDbSource::default().region(REGION)
}

fn decode(change: Change) -> Result<Envelope, String> {
    let event = testing::dynamodb_event(&[change]);
    let record = event.records().get(0).expect("one record");
    source().envelope(record).map_err(|e| e.to_string())
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
    assert_eq!(event.timestamp(), 1_545_084_650_000, "the change's time");
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
    let report = StreamHandler::with_config(source(), Config::default())
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
        .map(|r| source().envelope(r).expect("decodes").timestamp())
        .collect();
    assert_eq!(
        times,
        vec![1_545_084_650_000, 1_545_084_651_000, 1_600_000_000_500]
    );
}

#[test]
fn a_removal_carries_the_time_of_the_removal_not_of_the_last_write() {
    // The bug a new service hit: with the item's own time, an only-if-newer view took the
    // delete for a duplicate of the last write and kept the row.
    let keys = json!({"pk": "o1", "sk": "order"});
    let removed =
        decode(Change::remove(keys, order("placed", 1_000)).at(1_700_000_500.0)).expect("decodes");
    assert_eq!(removed.timestamp(), 1_700_000_500_000);
}

#[test]
fn soft_deletes_and_their_reversal_are_deleted_and_undeleted() {
    let keys = json!({"pk": "o1", "sk": "order"});
    let item = |deleted: Value| json!({"pk": "o1", "sk": "order", "discriminator": "order", "deleted": deleted});
    let types: Vec<String> = [
        Change::modify(keys.clone(), item(json!(true)), item(json!(null))),
        Change::modify(keys.clone(), item(json!(false)), item(json!(true))),
        Change::modify(keys.clone(), item(json!(true)), item(json!(true))),
        Change::modify(keys.clone(), item(json!(false)), item(json!(false))),
        Change::insert(keys.clone(), item(json!(true))),
        Change::remove(keys, item(json!(true))),
    ]
    .into_iter()
    .map(|change| decode(change).expect("decodes").event_type().to_string())
    .collect();
    assert_eq!(
        types,
        [
            "order-deleted",
            "order-undeleted",
            "order-deleted",
            "order-updated",
            "order-deleted",
            "order-deleted"
        ]
    );
}

#[tokio::test]
async fn a_global_table_s_replicated_changes_are_filtered_not_published() {
    let keys = json!({"pk": "o1", "sk": "order"});
    let item = |attribute: &str, region: &str| {
        let mut item = json!({"pk": "o1", "sk": "order", "discriminator": "order"});
        item[attribute] = json!(region);
        item
    };
    let plain = json!({"pk": "o1", "sk": "order", "discriminator": "order"});
    let changes = vec![
        // 2019.11.21: `awsregion`.
        Change::insert(keys.clone(), item("awsregion", REGION)),
        Change::insert(keys.clone(), item("awsregion", "eu-west-1")),
        Change::modify(keys.clone(), item("awsregion", REGION), plain.clone()),
        Change::remove(keys.clone(), item("awsregion", "eu-west-1")),
        // 2017.11.29: `aws:rep:updateregion`.
        Change::insert(keys.clone(), item("aws:rep:updateregion", REGION)),
        Change::insert(keys.clone(), item("aws:rep:updateregion", "eu-west-1")),
        Change::modify(keys, item("aws:rep:updateregion", REGION), plain),
    ];
    let report = StreamHandler::with_config(source(), Config::default())
        .pipeline(Pipeline::new("trigger").delivered())
        .faults_to(Arc::new(InMemoryPublisher::new()))
        .process(testing::dynamodb_event(&changes), Invocation::local())
        .await;
    let states: Vec<RecordState> = report.records.iter().map(|r| r.pipelines[0]).collect();
    use RecordState::{Delivered, Filtered};
    assert_eq!(
        states,
        [
            Delivered, Filtered, Filtered, Filtered, Delivered, Filtered, Filtered
        ],
        "own changes delivered; replicas and the extra MODIFY filtered"
    );
    assert_eq!(report.summary.pipelines[0].filtered, 5, "counted, not lost");
    // Without a region, a global table's changes cannot be told apart: Node drops them all.
    let unknown = DynamoDbSource::default();
    let event = testing::dynamodb_event(&changes[..1]);
    let record = event.records().get(0).expect("one record");
    let error = unknown.envelope(record).expect_err("not an event");
    assert!(error.to_string().contains("AWS_REGION"), "{error}");
}

#[test]
fn the_type_is_the_lower_cased_discriminator_else_the_sort_key() {
    let keys = json!({"pk": "r1", "sk": "RESTAURANT"});
    let with = decode(Change::insert(
        keys.clone(),
        json!({"pk": "r1", "sk": "RESTAURANT", "discriminator": "Restaurant"}),
    ))
    .expect("decodes");
    assert_eq!(with.event_type(), "restaurant-created");
    assert!(
        with.field_json("restaurant").is_some(),
        "the entity field too"
    );
    let without = decode(Change::insert(
        keys,
        json!({"pk": "r1", "sk": "RESTAURANT", "name": "n"}),
    ))
    .expect("decodes");
    assert_eq!(without.event_type(), "restaurant-created");
}

#[tokio::test]
async fn the_cdc_flavor_drops_latched_changes_itself() {
    let keys = json!({"pk": "o1", "sk": "order"});
    let item = |latched: Value| json!({"pk": "o1", "sk": "order", "discriminator": "order", "status": "placed", "latched": latched});
    let report = StreamHandler::with_config(source(), Config::default())
        .pipeline(Pipeline::cdc("trigger", ["order-*"]).delivered())
        .process(
            testing::dynamodb_event(&[
                Change::insert(keys.clone(), item(json!(null))),
                Change::insert(keys.clone(), item(json!(true))),
                Change::remove(keys, item(json!(true))),
            ]),
            Invocation::local(),
        )
        .await;
    let states: Vec<RecordState> = report.records.iter().map(|r| r.pipelines[0]).collect();
    assert_eq!(
        states,
        [
            RecordState::Delivered,
            RecordState::Filtered,
            RecordState::Filtered
        ],
        "a command's change is an event; the listener's latched writes are not"
    );
}
