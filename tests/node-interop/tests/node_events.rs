//! The Lambda events Node's own test builders make (`toKinesisRecords`, `toSqsEventRecords`,
//! which compress values over 10 KB as its publishers do): our Kinesis and SQS sources read
//! them as the plain events, and the restaurant gateway, run as Lambda runs it, turns Node's
//! Kinesis event into the internal menu.

use std::sync::{Arc, Mutex};

use lambda_stream::{
    Config, Invocation, KinesisSource, Pipeline, RecordState, RecordsEvent, SqsSource,
    StreamHandler,
};
use lambda_stream_aws::testing::{bus_to_queue, receive_all};
use node_interop_tests::{invoke, moto, node};
use serde_json::{Value, json};

const FUNCTION: &str = env!("CARGO_BIN_EXE_interop-function");

fn events() -> Vec<Value> {
    let menu: Vec<Value> = (0..300)
        .map(|i| json!({"id": format!("m{i}"), "name": format!("Pizza {i}"), "price": 900 + i}))
        .collect();
    vec![
        json!({"id": "n1", "type": "restaurant-menu-published", "timestamp": 1_764_000_000_000_i64, "partitionKey": "r1",
               "tags": {"source": "node-service"},
               "restaurant": {"id": "r1", "name": "Luigi's", "cuisine": "italian", "menu": menu}}),
        json!({"id": "n2", "type": "restaurant-closed", "timestamp": 1_764_000_000_001_i64, "partitionKey": "r2",
               "tags": {"source": "node-service"}, "restaurant": {"id": "r2", "name": "Closed"}}),
    ]
}

/// The events a handler's pipeline saw, as JSON.
async fn seen_by<S>(source: S, event: RecordsEvent) -> Vec<Value>
where
    S: lambda_stream::Source<Event = RecordsEvent>,
{
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let report = StreamHandler::with_config(source, Config::default())
        .pipeline(
            Pipeline::new("all")
                .tap(move |uow| {
                    let json: Value = serde_json::from_str(&uow.event.to_json()).expect("json");
                    seen2.lock().expect("lock").push(json);
                })
                .delivered(),
        )
        .process(event, Invocation::local())
        .await;
    assert!(
        report
            .records
            .iter()
            .all(|r| r.pipelines[0] == RecordState::Delivered),
        "{:?}",
        report.records
    );
    seen.lock().expect("lock").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node (npm ci in node/): scripts/test runs it"]
async fn node_s_kinesis_and_sqs_events_are_read_as_the_plain_events() {
    let events = events();
    let kinesis = node("kinesis", &json!({"events": events}), &[]);
    assert!(
        kinesis.to_string().len() < events[0].to_string().len(),
        "Node compressed the menu"
    );
    let sqs = node("sqs", &json!({"events": events}), &[]);
    assert!(
        sqs.to_string().contains("COMPRESSED"),
        "Node compressed the menu"
    );
    for seen in [
        seen_by(
            KinesisSource::new(),
            serde_json::from_value(kinesis).expect("an event"),
        )
        .await,
        seen_by(
            SqsSource::new(),
            serde_json::from_value(sqs).expect("an event"),
        )
        .await,
    ] {
        assert_eq!(seen, events);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs node (npm ci in node/) and moto_server: scripts/test runs it"]
async fn the_restaurant_gateway_takes_node_s_own_kinesis_event() {
    let config = moto().await;
    let (bus, queue) = bus_to_queue(&config, r#"{"source": [{"prefix": ""}]}"#).await;
    let kinesis = node("kinesis", &json!({"events": events()}), &[]);
    let answers = invoke(
        FUNCTION,
        "restaurant-ingress-gateway",
        &[("BUS_NAME".to_string(), bus)],
        &[kinesis],
    )
    .await;
    assert!(answers[0].ok, "{}", answers[0].body);
    assert_eq!(answers[0].body["batchItemFailures"], json!([]));
    let sqs = aws_sdk_sqs::Client::new(&config);
    let mut published: Vec<Value> = receive_all(&sqs, &queue)
        .await
        .into_iter()
        .map(|body| body["detail"].clone())
        .collect();
    published.sort_by_key(|e| e["id"].to_string());
    assert_eq!(published.len(), 2, "{published:?}");
    assert_eq!(published[0]["type"], "menu-updated");
    assert_eq!(
        published[0]["menu"]["items"].as_array().map(Vec::len),
        Some(300)
    );
    assert_eq!(published[1]["type"], "restaurant-unavailable");
}
