//! Change data capture as Node's `fromDynamodb` does it, on the records Node's own
//! `toDynamodbRecords` makes: the same id, type, partition key and timestamp for inserts,
//! updates, removes, soft deletes and undeletes, and the same records dropped (a global
//! table's replicated changes and its extra MODIFY, both versions). Then the BFF's trigger,
//! run as Lambda runs it, on the same records.

use std::collections::BTreeMap;

use lambda_stream::{DynamoDbSource, RecordsEvent, Source};
use lambda_stream_aws::testing::bus_to_queue;
use lambda_stream_aws::testing::receive_all as drain;
use node_interop_tests::{REGION, invoke, moto, node};
use serde_json::{Value, json};

const FUNCTION: &str = env!("CARGO_BIN_EXE_interop-function");

/// Changes in Node's `toDynamodbRecords` input shape (`timestamp` in seconds, as streams
/// give `ApproximateCreationDateTime`).
fn changes() -> Vec<Value> {
    let keys = |pk: &str, sk: &str| json!({"pk": pk, "sk": sk});
    let order = |status: &str, extra: Value| {
        let mut item = json!({"pk": "o1", "sk": "order", "discriminator": "order", "status": status, "timestamp": 1});
        if let (Some(item), Some(extra)) = (item.as_object_mut(), extra.as_object()) {
            item.extend(extra.clone());
        }
        item
    };
    vec![
        json!({"timestamp": 1_700_000_001, "keys": keys("o1", "order"), "newImage": order("placed", json!({}))}),
        json!({"timestamp": 1_700_000_002, "keys": keys("o1", "order"), "newImage": order("paid", json!({})), "oldImage": order("placed", json!({}))}),
        json!({"timestamp": 1_700_000_003, "keys": keys("o1", "order"), "newImage": order("paid", json!({"deleted": true})), "oldImage": order("paid", json!({}))}),
        json!({"timestamp": 1_700_000_004, "keys": keys("o1", "order"), "newImage": order("paid", json!({"deleted": false})), "oldImage": order("paid", json!({"deleted": true}))}),
        json!({"timestamp": 1_700_000_005, "keys": keys("o1", "order"), "oldImage": order("paid", json!({}))}),
        // A discriminator in capitals, and an item with none (the sort key names it).
        json!({"timestamp": 1_700_000_006, "keys": keys("r1", "RESTAURANT"), "newImage": {"pk": "r1", "sk": "RESTAURANT", "discriminator": "Restaurant"}}),
        json!({"timestamp": 1_700_000_007, "keys": keys("c1", "CUSTOMER"), "newImage": {"pk": "c1", "sk": "CUSTOMER", "name": "Ana"}}),
        // Global tables 2019.11.21: this region's change, another region's, the extra MODIFY.
        json!({"timestamp": 1_700_000_008, "keys": keys("o2", "order"), "newImage": order("placed", json!({"pk": "o2", "awsregion": REGION}))}),
        json!({"timestamp": 1_700_000_009, "keys": keys("o3", "order"), "newImage": order("placed", json!({"pk": "o3", "awsregion": "eu-west-1"}))}),
        json!({"timestamp": 1_700_000_010, "keys": keys("o2", "order"), "newImage": order("placed", json!({"pk": "o2", "awsregion": REGION})), "oldImage": order("placed", json!({"pk": "o2"}))}),
        json!({"timestamp": 1_700_000_011, "keys": keys("o3", "order"), "oldImage": order("placed", json!({"pk": "o3", "awsregion": "eu-west-1"}))}),
        // Global tables 2017.11.29.
        json!({"timestamp": 1_700_000_012, "keys": keys("o4", "order"), "newImage": order("placed", json!({"pk": "o4", "aws:rep:updateregion": REGION}))}),
        json!({"timestamp": 1_700_000_013, "keys": keys("o5", "order"), "newImage": order("placed", json!({"pk": "o5", "aws:rep:updateregion": "eu-west-1"}))}),
        json!({"timestamp": 1_700_000_014, "keys": keys("o4", "order"), "newImage": order("paid", json!({"pk": "o4", "aws:rep:updateregion": REGION})), "oldImage": order("placed", json!({"pk": "o4"}))}),
    ]
}

/// id → (type, partitionKey, timestamp) of the events made.
type Made = BTreeMap<String, (String, String, i64)>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node (npm ci in node/) and moto_server: scripts/test runs it"]
async fn cdc_agrees_with_node_s_from_dynamodb() {
    let made = node("dynamodb", &json!({"changes": changes()}), &[]);
    assert_eq!(made["faults"], json!([]), "{made}");
    let node_events: Made = made["emitted"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["id"].as_str().expect("id").to_string(),
                (
                    e["type"].as_str().expect("type").to_string(),
                    e["partitionKey"].as_str().expect("key").to_string(),
                    e["timestamp"].as_i64().expect("timestamp"),
                ),
            )
        })
        .collect();
    let event: RecordsEvent =
        serde_json::from_value(made["event"].clone()).expect("a DynamoDB stream event");
    let source = DynamoDbSource::default().region(REGION);
    let mut ours = Made::new();
    let mut dropped = Vec::new();
    for record in event.records().iter() {
        match source.envelope(record) {
            Ok(e) => {
                ours.insert(
                    e.id().to_string(),
                    (
                        e.event_type().to_string(),
                        e.partition_key().unwrap_or_default().to_string(),
                        e.timestamp(),
                    ),
                );
            }
            Err(reason) => dropped.push(reason.to_string()),
        }
    }
    assert_eq!(
        ours, node_events,
        "the same events; ours dropped: {dropped:?}"
    );
    // What the list above says it is, so a change in both at once is seen too.
    let mut by_record: Vec<(usize, &str)> = ours
        .iter()
        .map(|(id, (t, _, _))| {
            (
                id.parse().expect("Node's ids are record numbers"),
                t.as_str(),
            )
        })
        .collect();
    by_record.sort_unstable();
    let types: Vec<&str> = by_record.into_iter().map(|(_, t)| t).collect();
    assert_eq!(
        types,
        [
            "order-created",
            "order-updated",
            "order-deleted",
            "order-undeleted",
            "order-deleted",
            "restaurant-created",
            "customer-created",
            "order-created",
            "order-created"
        ]
    );
    assert_eq!(dropped.len(), 5, "{dropped:?}");
    assert!(
        ours.values().all(|(_, _, t)| *t >= 1_700_000_001_000),
        "the change's time, in ms"
    );

    // The BFF's trigger on the same records: the new order published once, no faults.
    let config = moto().await;
    let (bus, queue) = bus_to_queue(&config, r#"{"source": [{"prefix": ""}]}"#).await;
    let answers = invoke(
        FUNCTION,
        "order-bff-trigger",
        &[("BUS_NAME".to_string(), bus)],
        &[made["event"].clone()],
    )
    .await;
    assert!(answers[0].ok, "{}", answers[0].body);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let published: Vec<(String, String)> = drain(&sqs, &queue)
        .await
        .iter()
        .map(|b| {
            (
                b["detail"]["type"].as_str().unwrap_or_default().to_string(),
                b["detail"]["partitionKey"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    let mut published = published;
    published.sort();
    assert_eq!(
        published,
        [
            ("order-placed".to_string(), "o1".to_string()),
            ("order-placed".to_string(), "o2".to_string()),
            ("order-placed".to_string(), "o4".to_string()),
        ],
        "this region's new orders, once each (no replica, no fault)"
    );
}
