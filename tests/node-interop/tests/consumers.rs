//! Every shipped consumer, run as Lambda runs it, gives the same result for an event as a Node
//! service writes it by default as for the plain event: compressed (Node's
//! `publishToEventBridge` with its default options), encrypted (`encryptEvent` against KMS in
//! moto, then published) and claim-checked (a stub in Node's shape, the event in S3). A bad
//! record (a corrupt compressed value, an `eem` nobody can decrypt, a stub whose object is
//! gone) is a fault naming it, and the rest of the batch is delivered.

use std::collections::BTreeMap;

use lambda_stream_aws::testing::http::{LocalEndpoint, Reply};
use lambda_stream_aws::testing::receive_all as drain;
use lambda_stream_aws::testing::{
    bus_to_queue, new_bucket, new_master_key, new_table, topic_with_queue,
};
use node_interop_tests::{Answer, REGION, invoke, kinesis_event, moto, node, scan};
use serde_json::{Value, json};

const FUNCTION: &str = env!("CARGO_BIN_EXE_interop-function");

/// How the events reach the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Variant {
    /// JSON as written, nothing else.
    Plain,
    /// As Node's publish sends it (values over 10 KB compressed).
    Compressed,
    /// As Node's trigger sends it: `encryptEvent`, then publish.
    Encrypted,
    /// A stub in Node's shape; the event in S3.
    ClaimChecked,
}

const VARIANTS: [Variant; 4] = [
    Variant::Plain,
    Variant::Compressed,
    Variant::Encrypted,
    Variant::ClaimChecked,
];

/// What Node services share with the functions: the master key and the claim-check bucket.
struct Shared {
    alias: String,
    s3: aws_sdk_s3::Client,
    bucket: String,
}

impl Shared {
    async fn new(config: &aws_config::SdkConfig) -> Self {
        let alias = new_master_key(config, "node-eem", &[REGION]).await;
        let (s3, bucket) = new_bucket(config, "node-claims").await;
        Self { alias, s3, bucket }
    }

    /// The Kinesis payloads of `events` as they arrive in `variant`.
    async fn payloads(&self, variant: Variant, events: &[Value], fields: &[&str]) -> Vec<String> {
        let details = |entries: Value| -> Vec<String> {
            entries
                .as_array()
                .expect("PutEvents entries")
                .iter()
                .map(|entry| entry["Detail"].as_str().expect("a Detail").to_string())
                .collect()
        };
        match variant {
            // Published by Node as the others, with compression out of reach (so the tags
            // Node's publish adds are the same in every variant).
            Variant::Plain => details(node(
                "publish",
                &json!({"events": events}),
                &[("COMPRESSION_THRESHOLD", "1000000000")],
            )),
            Variant::Compressed => {
                let sent = details(node("publish", &json!({"events": events}), &[]));
                assert!(
                    sent.iter().any(|d| d.contains("\"COMPRESSED")),
                    "Node compressed nothing: the test events are too small"
                );
                sent
            }
            Variant::Encrypted => {
                let encrypted = node(
                    "encrypt",
                    &json!({"events": events, "fields": fields, "masterKeyAlias": self.alias}),
                    &[],
                );
                details(node("publish", &json!({"events": encrypted}), &[]))
            }
            Variant::ClaimChecked => {
                let published = details(node(
                    "publish",
                    &json!({"events": events}),
                    &[("COMPRESSION_THRESHOLD", "1000000000")],
                ));
                let mut stubs = Vec::new();
                for (event, stored) in events.iter().zip(published) {
                    let key = format!("node/{}.json", event["id"].as_str().expect("an id"));
                    self.s3
                        .put_object()
                        .bucket(&self.bucket)
                        .key(&key)
                        .body(stored.clone().into_bytes().into())
                        .send()
                        .await
                        .expect("put the claim-checked event");
                    let mut stub = json!({"s3": {"bucket": self.bucket, "key": key}});
                    let stored: Value = serde_json::from_str(&stored).expect("json");
                    for field in ["id", "type", "partitionKey", "timestamp", "tags"] {
                        if let Some(value) = stored.get(field) {
                            stub[field] = value.clone();
                        }
                    }
                    stubs.push(stub.to_string());
                }
                stubs
            }
        }
    }
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A rule that takes every event put on a bus.
const EVERYTHING: &str = r#"{"source": [{"prefix": ""}]}"#;

/// Runs `function` on one batch of `payloads` with `env` and a bus of its own (`BUS_NAME`:
/// what it publishes, faults included), checks it answered with no retries, and returns the
/// queue the bus delivers to.
async fn run_with_bus(
    config: &aws_config::SdkConfig,
    function: &str,
    mut env: Vec<(String, String)>,
    payloads: &[String],
) -> String {
    let (bus, queue) = bus_to_queue(config, EVERYTHING).await;
    env.push(("BUS_NAME".into(), bus));
    let answers = invoke(FUNCTION, function, &env, &[kinesis_event(payloads)]).await;
    all_ok(function, &answers);
    queue
}

fn all_ok(function: &str, answers: &[Answer]) {
    for answer in answers {
        assert!(
            answer.ok,
            "{function} failed an invocation: {}",
            answer.body
        );
        let failures = answer.body["batchItemFailures"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(failures, 0, "{function} asked for retries: {}", answer.body);
    }
}

/// The `detail` of each EventBridge event a queue received, by id (faults apart).
fn details_by_id(bodies: Vec<Value>) -> (BTreeMap<String, Value>, Vec<Value>) {
    let mut events = BTreeMap::new();
    let mut faults = Vec::new();
    for body in bodies {
        let detail = body["detail"].clone();
        if detail["type"] == "fault" {
            faults.push(detail);
        } else {
            events.insert(
                detail["id"].as_str().unwrap_or_default().to_string(),
                detail,
            );
        }
    }
    (events, faults)
}

fn big_menu(prefix: &str) -> Vec<Value> {
    (0..300)
        .map(|i| json!({"id": format!("{prefix}{i}"), "name": format!("Pizza {i}"), "price": 900 + i, "available": true}))
        .collect()
}

fn order_items() -> Vec<Value> {
    (0..300)
        .map(|i| json!({"menuItemId": format!("m{i}"), "quantity": 1 + i % 3, "note": "no onions, please"}))
        .collect()
}

fn tags() -> Value {
    json!({"source": "node-service", "account": "dev", "region": REGION})
}

/// Runs `function` once per variant (fresh resources each time, from `setup`) and checks that
/// every variant's result equals the plain one's.
async fn same_result_for_every_variant<Fut>(
    function: &str,
    events: &[Value],
    fields: &[&str],
    shared: &Shared,
    run: impl Fn(Vec<String>) -> Fut,
) where
    Fut: std::future::Future<Output = Value>,
{
    let mut results = BTreeMap::new();
    for variant in VARIANTS {
        let payloads = shared.payloads(variant, events, fields).await;
        results.insert(variant, run(payloads).await);
    }
    let plain = &results[&Variant::Plain];
    assert!(
        plain != &json!([]) && plain != &json!({}),
        "{function}: the plain events produced nothing"
    );
    for (variant, result) in &results {
        if let Some(difference) = first_difference(plain, result, "") {
            panic!("{function}: {variant:?} gives another result than Plain: {difference}");
        }
    }
}

/// Where two JSON values first differ, shortly (the values here are large).
fn first_difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    let short = |v: &Value| v.to_string().chars().take(200).collect::<String>();
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys()) {
                let path = format!("{at}.{key}");
                match (x.get(key), y.get(key)) {
                    (Some(v), Some(w)) => {
                        if let Some(d) = first_difference(v, w, &path) {
                            return Some(d);
                        }
                    }
                    (v, w) => {
                        return Some(format!(
                            "{path}: {} against {}",
                            v.map_or("nothing".into(), short),
                            w.map_or("nothing".into(), short)
                        ));
                    }
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (v, w))| first_difference(v, w, &format!("{at}[{i}]"))),
        _ if a == b => None,
        _ => Some(format!("{at}: {} against {}", short(a), short(b))),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node (npm ci in node/) and moto_server: scripts/test runs it"]
async fn every_shipped_consumer_reads_node_s_events_as_the_plain_ones() {
    let moto = moto().await;
    let config = &moto;
    let shared = &Shared::new(config).await;
    let sqs = &aws_sdk_sqs::Client::new(config);

    // restaurant-ingress-gateway: the Restaurant subsystem's menus → internal events.
    let restaurant = json!({"id": "evt-menu-1", "type": "restaurant-menu-published", "timestamp": 1_764_000_000_000_i64,
        "partitionKey": "r1", "tags": tags(),
        "restaurant": {"id": "r1", "name": "Luigi's", "cuisine": "italian", "menu": big_menu("m")}});
    let closed = json!({"id": "evt-closed-1", "type": "restaurant-closed", "timestamp": 1_764_000_000_500_i64,
        "partitionKey": "r2", "tags": tags(), "restaurant": {"id": "r2", "name": "Closed for good"}});
    same_result_for_every_variant(
        "restaurant-ingress-gateway",
        &[restaurant, closed],
        &["name"],
        shared,
        |payloads| async move {
            let claims = env(&[("CLAIMCHECK_BUCKET_NAME", &shared.bucket)]);
            let queue = run_with_bus(config, "restaurant-ingress-gateway", claims, &payloads).await;
            let (events, faults) = details_by_id(drain(sqs, &queue).await);
            assert!(faults.is_empty(), "{faults:?}");
            json!(events)
        },
    )
    .await;

    // notification-egress-gateway: order and payment events → the notification topic.
    let placed = json!({"id": "evt-order-1", "type": "order-placed", "timestamp": 1_764_000_000_000_i64, "partitionKey": "o1",
        "tags": tags(), "order": {"id": "o1", "customerId": "c-42", "restaurantId": "r1", "items": order_items(), "total": 2350}});
    let authorized = json!({"id": "evt-pay-1", "type": "payment-authorized", "timestamp": 1_764_000_001_000_i64, "partitionKey": "o1",
        "tags": tags(), "payment": {"id": "pay-1", "orderId": "o1", "customerId": "c-42", "amount": 2350}});
    same_result_for_every_variant(
        "notification-egress-gateway",
        &[placed.clone(), authorized.clone()],
        &["customerId"],
        shared,
        |payloads| async move {
            let (topic, queue) = topic_with_queue(config, "notifications").await;
            let topic = env(&[("TOPIC_ARN", &topic)]);
            run_with_bus(config, "notification-egress-gateway", topic, &payloads).await;
            let mut messages: Vec<Value> = drain(sqs, &queue)
                .await
                .into_iter()
                .map(|m| match &m["Message"] {
                    Value::String(text) => serde_json::from_str(text).unwrap_or(m.clone()),
                    _ => m,
                })
                .collect();
            messages.sort_by_key(Value::to_string);
            json!(messages)
        },
    )
    .await;

    // order-egress-gateway: internal order events → external ones on the bus.
    let cancelled = json!({"id": "evt-order-2", "type": "order-cancelled", "timestamp": 1_764_000_002_000_i64, "partitionKey": "o1",
        "tags": tags(), "order": {"id": "o1", "restaurantId": "r1", "customerId": "c-42", "customerAddress": "1 Main St"}});
    let mut placed_with_secrets = placed.clone();
    placed_with_secrets["order"]["customerAddress"] = json!("1 Main St");
    placed_with_secrets["order"]["paymentMethodToken"] = json!("tok_visa");
    same_result_for_every_variant(
        "order-egress-gateway",
        &[placed_with_secrets, cancelled],
        &["customerId", "customerAddress", "paymentMethodToken"],
        shared,
        |payloads| async move {
            let queue = run_with_bus(config, "order-egress-gateway", Vec::new(), &payloads).await;
            let (external, faults) = details_by_id(drain(sqs, &queue).await);
            assert!(faults.is_empty(), "{faults:?}");
            json!(external)
        },
    )
    .await;

    // order-bff-listener: menus and payment outcomes → the BFF's table.
    let menu = json!({"id": "evt-menu-2", "type": "menu-updated", "timestamp": 1_764_000_000_000_i64, "partitionKey": "r1",
        "tags": tags(), "menu": {"restaurantId": "r1", "restaurantName": "Luigi's", "items": big_menu("m")}});
    same_result_for_every_variant(
        "order-bff-listener",
        &[menu, authorized.clone()],
        &["restaurantName", "customerId"],
        shared,
        |payloads| async move {
            let table = new_table(config).await;
            let rows = env(&[("ENTITY_TABLE_NAME", table.table())]);
            run_with_bus(config, "order-bff-listener", rows, &payloads).await;
            json!(scan(config, table.table()).await)
        },
    )
    .await;

    // order-control-listener: the order's events → the micro event store.
    let accepted = json!({"id": "evt-accept-1", "type": "order-accepted", "timestamp": 1_764_000_003_000_i64, "partitionKey": "o1",
        "tags": tags(), "acceptance": {"orderId": "o1", "restaurantId": "r1"}});
    same_result_for_every_variant(
        "order-control-listener",
        &[placed.clone(), accepted],
        &["customerId"],
        shared,
        |payloads| async move {
            let table = new_table(config).await;
            let rows = env(&[("EVENT_TABLE_NAME", table.table())]);
            run_with_bus(config, "order-control-listener", rows, &payloads).await;
            json!(scan(config, table.table()).await)
        },
    )
    .await;

    // payment-egress-gateway: payment-requested → the processor's API.
    let lines: Vec<Value> = (0..300).map(|i| json!({"sku": format!("m{i}"), "amount": 10 + i, "description": "one line of the order"})).collect();
    let requested = json!({"id": "evt-pay-req-1", "type": "payment-requested", "timestamp": 1_764_000_000_000_i64, "partitionKey": "o1",
        "tags": tags(), "payment": {"id": "pay-1", "orderId": "o1", "customerId": "c-42", "amount": 2350, "currency": "EUR",
        "paymentMethodToken": "tok_visa", "lines": lines}});
    same_result_for_every_variant(
        "payment-egress-gateway",
        &[requested],
        &["paymentMethodToken", "customerId"],
        shared,
        |payloads| async move {
            let processor = LocalEndpoint::start(|_, n| {
                Reply::status(201).body(json!({"id": format!("ch_{n}"), "status": "pending"}).to_string())
            })
            .await;
            let api = env(&[("PAYMENT_API_URL", processor.url()), ("PAYMENT_API_KEY", "sk_test")]);
            run_with_bus(config, "payment-egress-gateway", api, &payloads).await;
            let calls: Vec<Value> = processor
                .requests()
                .iter()
                .map(|r| json!({"path": r.path, "body": serde_json::from_slice::<Value>(&r.body).unwrap_or(Value::Null)}))
                .collect();
            json!(calls)
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node (npm ci in node/) and moto_server: scripts/test runs it"]
async fn bad_node_records_fault_alone_naming_what_is_wrong() {
    let moto = moto().await;
    let config = &moto;
    let shared = Shared::new(config).await;
    let sqs = aws_sdk_sqs::Client::new(config);
    let menu = |id: &str, restaurant: &str| {
        json!({"id": id, "type": "restaurant-menu-published", "timestamp": 1_764_000_000_000_i64,
            "partitionKey": restaurant, "tags": tags(),
            "restaurant": {"id": restaurant, "name": "Luigi's", "menu": big_menu("m")}})
    };
    let good = shared
        .payloads(Variant::Compressed, &[menu("good-1", "r1")], &[])
        .await;
    let corrupt = r#"{"id":"corrupt-1","type":"restaurant-menu-published","timestamp":1,"partitionKey":"r2","restaurant":"COMPRESSEDH4sIAAAA-not-gzip"}"#.to_string();
    // Encrypted by Node, its data key then damaged: KMS refuses it.
    let encrypted = shared
        .payloads(Variant::Encrypted, &[menu("damaged-1", "r3")], &["name"])
        .await;
    let mut forged: Value = serde_json::from_str(&encrypted[0]).expect("json");
    forged["eem"]["dataKeys"][REGION] = json!("AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=");
    let missing = json!({"id": "gone-1", "type": "restaurant-menu-published", "timestamp": 1, "partitionKey": "r4",
        "s3": {"bucket": shared.bucket, "key": "node/gone-1.json"}}).to_string();
    let queue = run_with_bus(
        config,
        "restaurant-ingress-gateway",
        env(&[("CLAIMCHECK_BUCKET_NAME", &shared.bucket)]),
        &[corrupt, good[0].clone(), forged.to_string(), missing],
    )
    .await;
    let (events, faults) = details_by_id(drain(&sqs, &queue).await);
    assert_eq!(
        events.keys().collect::<Vec<_>>(),
        ["good-1"],
        "the good record is delivered"
    );
    let messages: Vec<String> = faults
        .iter()
        .map(|f| f["err"]["message"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(
        messages
            .iter()
            .any(|m| m.contains("`restaurant`") && m.contains("COMPRESSED")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("data key")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains(&format!("s3://{}/node/gone-1.json", shared.bucket))),
        "{messages:?}"
    );
    for fault in &faults {
        assert!(
            !fault.to_string().contains("U2FsdGVkX1")
                || fault["uow"]["event"]["restaurant"]["name"] == "[REDACTED]",
            "a fault shows ciphertext only where redaction would: {fault}"
        );
    }
}
