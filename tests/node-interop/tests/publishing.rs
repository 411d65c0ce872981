//! What we publish, read by the Node library: a pipeline compressing like Node (to a bus in
//! moto), one encrypting (`Pipeline::encrypt` with KMS in moto) and a claim-checking publisher
//! (S3 in moto), each read back by Node's own `fromKinesis`, `fromSqsEvent` and
//! `decryptEvent` as the event it was.

use std::sync::Arc;

use lambda_stream::encryption::{Encryption, Keyring};
use lambda_stream::{
    ClaimCheckPublisher, Config, Envelope, Invocation, KinesisSource, Pipeline, StepError,
    StreamHandler, testing,
};
use lambda_stream_aws::testing::receive_all as drain;
use lambda_stream_aws::testing::{bus_to_queue, new_bucket, new_master_key};
use lambda_stream_aws::{EventBridgeConfig, EventBridgePublisher, KmsDataKeys, S3ClaimCheck};
use node_interop_tests::{REGION, kinesis_event, moto, node};
use serde_json::{Value, json};

fn menu_event(id: &str) -> Envelope {
    let items: Vec<Value> = (0..300)
        .map(|i| json!({"id": format!("m{i}"), "name": format!("Pizza {i}"), "price": 900 + i}))
        .collect();
    Envelope::parse(
        json!({"id": id, "type": "menu-updated", "timestamp": 1_764_000_000_000_i64, "partitionKey": "r1",
               "tags": {"source": "rust-service"},
               "menu": {"restaurantId": "r1", "restaurantName": "Luigi's", "customerNote": "ring twice", "items": items}})
        .to_string(),
    )
    .expect("valid")
}

/// Publishes `event` through `pipeline`'s steps (after a map that passes it on) to a new bus
/// in moto, and returns the `detail` a hub rule (`InputPath: $.detail`) would deliver.
async fn published(
    config: &aws_config::SdkConfig,
    event: &Envelope,
    pipeline: impl FnOnce(
        Pipeline<Envelope>,
        Arc<dyn lambda_stream::Publisher>,
    ) -> Pipeline<lambda_stream::Delivered>,
    wrap: impl FnOnce(Arc<dyn lambda_stream::Publisher>) -> Arc<dyn lambda_stream::Publisher>,
) -> Vec<String> {
    let (bus, queue) = bus_to_queue(config, r#"{"source": ["custom"]}"#).await;
    let publisher = wrap(Arc::new(EventBridgePublisher::new(
        aws_sdk_eventbridge::Client::new(config),
        EventBridgeConfig::new(&bus),
    )));
    let start = Pipeline::new("share").map(|uow| Ok::<_, StepError>((*uow.event).clone()));
    let report = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(pipeline(start, publisher))
        .process(
            testing::kinesis_event(std::slice::from_ref(event)),
            Invocation::local(),
        )
        .await;
    assert_eq!(
        report.summary.pipelines[0].delivered, 1,
        "{:?}",
        report.summary
    );
    let sqs = aws_sdk_sqs::Client::new(config);
    drain(&sqs, &queue)
        .await
        .iter()
        .map(|body| body["detail"].to_string())
        .collect()
}

/// The event without the tags our `publish` adds (the standard tags, `pipeline`).
fn without_tags(mut event: Value) -> Value {
    if let Some(object) = event.as_object_mut() {
        object.remove("tags");
    }
    event
}

fn plain(event: &Envelope) -> Value {
    without_tags(serde_json::from_str(&event.to_json()).expect("json"))
}

/// What Node's `fromKinesis` and `fromSqsEvent` make of `details`, each read both ways.
fn read_by_node(details: &[String]) -> Vec<Value> {
    let from_kinesis = node("from-kinesis", &kinesis_event(details), &[]);
    let sqs = serde_json::to_value(testing::sqs_event_from_bodies(details)).expect("an SQS event");
    let from_sqs = node("from-sqs", &sqs, &[]);
    for read in [&from_kinesis, &from_sqs] {
        assert_eq!(read["faults"], json!([]), "Node faulted: {read}");
    }
    assert_eq!(from_kinesis["events"], from_sqs["events"]);
    from_kinesis["events"]
        .as_array()
        .expect("events")
        .iter()
        .cloned()
        .map(without_tags)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node (npm ci in node/) and moto_server: scripts/test runs it"]
async fn node_reads_what_we_compress() {
    let config = moto().await;
    let event = menu_event("compressed-1");
    let details = published(
        &config,
        &event,
        |p, bus| p.compression_threshold(10 * 1024).publish(bus, 1),
        |bus| bus,
    )
    .await;
    assert!(
        details[0].contains(r#""menu":"COMPRESSED"#),
        "compressed on the way out"
    );
    assert!(
        details[0].len() < event.to_json().len() / 3,
        "{} bytes",
        details[0].len()
    );
    assert_eq!(read_by_node(&details), [plain(&event)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node (npm ci in node/) and moto_server: scripts/test runs it"]
async fn node_decrypts_what_we_encrypt() {
    let config = moto().await;
    let alias = new_master_key(&config, "rust-eem", &[REGION, "us-west-2"]).await;
    let keyring = Arc::new(Keyring::new(Arc::new(
        KmsDataKeys::new(&config).expect("a region"),
    )));
    let event = menu_event("encrypted-1");
    let encryption =
        Encryption::new(&alias, ["restaurantName", "customerNote"]).regions(["us-west-2"]);
    let details = published(
        &config,
        &event,
        |p, bus| {
            p.encrypt(Arc::clone(&keyring), encryption)
                .compression_threshold(10 * 1024)
                .publish(bus, 1)
        },
        |bus| bus,
    )
    .await;
    assert!(!details[0].contains("ring twice"), "no plaintext leaves");
    // Node's readers undo the compression, then its decryptEvent (in either region) the rest.
    let read = read_by_node(&details);
    for region in [REGION, "us-west-2"] {
        let decrypted = node(
            "decrypt",
            &json!({"events": read}),
            &[("AWS_REGION", region)],
        );
        assert_eq!(decrypted["faults"], json!([]), "{decrypted}");
        assert_eq!(
            decrypted["events"],
            json!([plain(&event)]),
            "decrypted in {region}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node (npm ci in node/) and moto_server: scripts/test runs it"]
async fn node_redeems_our_claim_checks() {
    let config = moto().await;
    let (s3, bucket) = new_bucket(&config, "rust-claims").await;
    // Over EventBridge's 256 KB: stored in S3, a stub in Node's shape on the bus.
    let mut event = menu_event("claim-checked-1");
    event
        .set_field("photos", &"p".repeat(300 * 1024))
        .expect("valid");
    let store = Arc::new(S3ClaimCheck::new(s3, &bucket));
    let details = published(
        &config,
        &event,
        |p, bus| p.publish(bus, 1),
        |bus| Arc::new(ClaimCheckPublisher::new(bus, store)),
    )
    .await;
    let stub: Value = serde_json::from_str(&details[0]).expect("json");
    assert_eq!(stub["s3"]["bucket"], bucket.as_str(), "{stub}");
    assert_eq!(stub["id"], "claim-checked-1");
    assert!(stub.get("menu").is_none(), "a stub, not the event");
    assert_eq!(read_by_node(&details), [plain(&event)]);
}

/// The paths of the values that are compressed in `event`.
fn compressed_paths(value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::String(s) if s.starts_with("COMPRESSED") => out.push(at.to_string()),
        Value::Object(map) => {
            for (k, v) in map {
                compressed_paths(v, &format!("{at}.{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                compressed_paths(v, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node (npm ci in node/) and moto_server: scripts/test runs it"]
async fn we_compress_the_values_node_compresses() {
    use lambda_stream::compression::Compression;
    // Sizes on both sides of the threshold, by strings (counted in UTF-16 units), objects and
    // arrays (UTF-8 bytes of their JSON), nested and side by side.
    let events = vec![
        json!({"id": "1", "type": "t", "timestamp": 1, "a": "x".repeat(10_228), "b": "x".repeat(10_229)}),
        json!({"id": "2", "type": "t", "timestamp": 1, "menu": {"items": (0..400).map(|i| json!({"n": i})).collect::<Vec<_>>()}}),
        json!({"id": "3", "type": "t", "timestamp": 1, "lines": [{"text": "é".repeat(6_000)}, {"text": "é".repeat(4_000)}, "small"]}),
        json!({"id": "4", "type": "t", "timestamp": 1, "order": {"small": 1, "big": {"inner": "y".repeat(12_000)}}}),
        json!({"id": "5", "type": "t", "timestamp": 1, "emoji": "😀".repeat(5_200), "n": 12.5, "flag": true, "nothing": null}),
    ];
    let node_entries = node("publish", &json!({"events": events}), &[]);
    let compression = Compression::threshold(Compression::NODE_THRESHOLD);
    for (event, entry) in events.iter().zip(node_entries.as_array().expect("entries")) {
        let theirs: Value =
            serde_json::from_str(entry["Detail"].as_str().expect("Detail")).expect("json");
        let ours: Value = match compression.compress(&event.to_string()).expect("json") {
            Some(text) => serde_json::from_str(&text).expect("json"),
            None => event.clone(),
        };
        let (mut their_paths, mut our_paths) = (Vec::new(), Vec::new());
        compressed_paths(&theirs, "", &mut their_paths);
        compressed_paths(&ours, "", &mut our_paths);
        assert_eq!(our_paths, their_paths, "event {}", event["id"]);
        // And each side reads the other's.
        let their_text = theirs.to_string();
        let plain_from_theirs: Value = serde_json::from_str(
            &lambda_stream::compression::decompress(&their_text)
                .expect("valid")
                .unwrap_or(their_text),
        )
        .expect("json");
        assert_eq!(without_tags(plain_from_theirs), *event);
    }
}
