//! Property tests: ordered concurrency keeps per-key order; for random batches with random
//! step failures and panics, every record is accounted for exactly once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lambda_stream::testing;
use lambda_stream::{
    Config, Envelope, FailureMode, InMemoryPublisher, Invocation, KinesisSource, Pipeline,
    RecordState, SqsSource, StepError, StreamHandler,
};
use proptest::prelude::*;
use serde_json::{Value, json};

fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime")
}

fn behaviour_of<T>(uow: &lambda_stream::Uow<T>) -> (u8, u64) {
    let v: Value = uow.event.entity().unwrap_or(Value::Null);
    (
        u8::try_from(v["b"].as_u64().unwrap_or(0)).unwrap_or(0),
        v["delay"].as_u64().unwrap_or(0),
    )
}

proptest! {
    #[test]
    fn ordered_concurrency_preserves_per_key_order(
        units in prop::collection::vec((0u8..6, 0u64..8), 0..80),
        concurrency in 1usize..8,
    ) {
        let events: Vec<Envelope> = units
            .iter()
            .enumerate()
            .map(|(i, (key, delay))| {
                Envelope::builder("thing-updated")
                    .id(format!("e{i}"))
                    .timestamp(1)
                    .partition_key(format!("k{key}"))
                    .entity("thing", &json!({"i": i, "delay": delay}))
                    .build()
                    .expect("valid")
            })
            .collect();
        let log = Arc::new(Mutex::new(Vec::new()));
        let active = Arc::new(Mutex::new(HashMap::<String, usize>::new()));
        let (l, a) = (Arc::clone(&log), Arc::clone(&active));
        let pipeline = Pipeline::new("ordered").then_ordered(concurrency, move |uow| {
            let (log, active) = (Arc::clone(&l), Arc::clone(&a));
            async move {
                let key = uow.partition_key().to_string();
                let v: Value = uow.event.entity().unwrap_or(Value::Null);
                {
                    let mut active = active.lock().expect("lock");
                    let running = active.entry(key.clone()).or_default();
                    *running += 1;
                    assert_eq!(*running, 1, "two units of one key at once");
                    let total: usize = active.values().sum();
                    assert!(total <= concurrency, "more than {concurrency} at once");
                }
                tokio::time::sleep(Duration::from_millis(v["delay"].as_u64().unwrap_or(0))).await;
                *active.lock().expect("lock").entry(key.clone()).or_default() -= 1;
                log.lock().expect("lock").push((key, v["i"].as_u64().unwrap_or(0)));
                Ok(())
            }
        });
        let handler = StreamHandler::with_config(KinesisSource::new(), Config::default())
            .pipeline(pipeline.delivered())
            .faults_to(Arc::new(InMemoryPublisher::new()));
        let report = paused_runtime().block_on(
            handler.process(testing::kinesis_event(&events), Invocation::local()),
        );
        prop_assert_eq!(report.summary.pipelines[0].delivered, events.len());
        let log = log.lock().expect("lock").clone();
        prop_assert_eq!(log.len(), events.len());
        let mut last: HashMap<String, u64> = HashMap::new();
        for (key, i) in log {
            if let Some(prev) = last.insert(key.clone(), i) {
                prop_assert!(prev < i, "key {} ran {} after {}", key, i, prev);
            }
        }
    }

    #[test]
    fn every_record_is_accounted_for_exactly_once(
        behaviours in prop::collection::vec((0u8..7, 0u64..5), 0..60),
        retry_mode in any::<bool>(),
        concurrency in 1usize..6,
        with_publisher in any::<bool>(),
    ) {
        let mode = if retry_mode { FailureMode::Retry } else { FailureMode::Fault };
        let events: Vec<Envelope> = behaviours
            .iter()
            .enumerate()
            .map(|(i, (b, delay))| {
                Envelope::builder(if *b == 6 { "other-thing" } else { "thing-created" })
                    .id(format!("e{i}"))
                    .timestamp(1)
                    .partition_key(format!("k{}", i % 4))
                    .entity("thing", &json!({"b": b, "delay": delay}))
                    .build()
                    .expect("valid")
            })
            .collect();
        // 0 deliver, 1 unclassified error, 2 retryable, 3 permanent, 4 panic in map,
        // 5 panic inside the async step, 6 filtered out by type.
        let pipeline = Pipeline::new("random")
            .on_failure(mode)
            .on_type("thing-*")
            .map(|uow| match behaviour_of(uow).0 {
                1 => Err(StepError::new("unclassified")),
                2 => Err(StepError::retryable("throttled")),
                3 => Err(StepError::permanent("bad")),
                4 => panic!("map panicked"),
                _ => Ok(behaviour_of(uow)),
            })
            .then_ordered(concurrency, |uow| async move {
                let (b, delay) = uow.value;
                tokio::time::sleep(Duration::from_millis(delay)).await;
                if b == 5 {
                    panic!("async step panicked");
                }
                Ok(())
            });
        let faults = Arc::new(InMemoryPublisher::new());
        let mut handler = StreamHandler::with_config(SqsSource::new(), Config::default())
            .pipeline(pipeline.delivered());
        if with_publisher {
            handler = handler.faults_to(faults.clone());
        }
        let report = paused_runtime().block_on(
            handler.process(testing::sqs_event(&events), Invocation::local()),
        );

        let unclassified = if retry_mode { RecordState::Retry } else { RecordState::Fault };
        // Once a unit of a key fails inside `then_ordered`, the later units of that key that
        // reach it are held back and retried.
        let mut failed_keys = std::collections::HashSet::new();
        let expected: Vec<RecordState> = behaviours
            .iter()
            .enumerate()
            .map(|(i, (b, _))| {
                let key = i % 4;
                if matches!(b, 0 | 5) && failed_keys.contains(&key) {
                    return RecordState::Retry;
                }
                if *b == 5 {
                    failed_keys.insert(key);
                }
                let state = match b {
                    0 => RecordState::Delivered,
                    2 => RecordState::Retry,
                    3 => RecordState::Fault,
                    6 => RecordState::Filtered,
                    _ => unclassified,
                };
                // Without a fault publisher, faults are retried, never lost.
                if state == RecordState::Fault && !with_publisher { RecordState::Retry } else { state }
            })
            .collect();
        let actual: Vec<RecordState> = report.records.iter().map(|r| r.pipelines[0]).collect();
        prop_assert_eq!(&actual, &expected);
        prop_assert_eq!(report.summary.pipelines[0].total(), events.len());

        let fault_count = expected.iter().filter(|s| **s == RecordState::Fault).count();
        prop_assert_eq!(faults.published().len(), fault_count);
        let mut faulted_ids: Vec<String> = faults
            .envelopes()
            .iter()
            .filter_map(|f| f.field::<Value>("uow").ok())
            .filter_map(|u| u["record"]["messageId"].as_str().map(str::to_string))
            .collect();
        faulted_ids.sort();
        faulted_ids.dedup();
        prop_assert_eq!(faulted_ids.len(), fault_count, "one fault per faulted record");

        let response = report.response.expect("response");
        let retry_count = expected.iter().filter(|s| **s == RecordState::Retry).count();
        prop_assert_eq!(response.batch_item_failures.len(), retry_count);
    }
}

/// Any JSON value, a few levels deep, with awkward strings.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        // Quarters are exact in binary, so the comparison below does not depend on how
        // serde_json rounds long decimals when it reads them (the envelope keeps the text).
        (-4_000_000i32..4_000_000).prop_map(|n| Value::from(f64::from(n) / 4.0)),
        "[a-z\\\\\"\\u{0}-\\u{1f}é😀 ]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-zA-Z_]{1,8}", inner), 0..4)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

fn tag_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        "[a-z0-9\\-\"é]{0,10}".prop_map(Value::String),
    ]
}

proptest! {
    #[test]
    fn any_envelope_round_trips_with_its_unknown_fields(
        id in "[a-z0-9\\-\"\\\\é]{1,20}",
        event_type in "[a-z]{1,8}-[a-z]{1,8}",
        timestamp in 0i64..4_000_000_000_000,
        partition_key in prop::option::of("[a-z0-9\\-]{1,20}"),
        tags in prop::collection::vec(("[a-z]{1,10}", tag_value()), 0..6),
        extra in prop::collection::vec(("x[a-zA-Z]{1,8}", json_value()), 0..4),
        raw in prop::option::of(json_value()),
    ) {
        let mut object = serde_json::Map::new();
        object.insert("id".into(), Value::String(id));
        object.insert("type".into(), Value::String(event_type));
        object.insert("timestamp".into(), Value::from(timestamp));
        if let Some(key) = partition_key {
            object.insert("partitionKey".into(), Value::String(key));
        }
        object.insert("tags".into(), Value::Object(tags.into_iter().collect()));
        for (name, value) in extra {
            object.insert(name, value);
        }
        if let Some(raw) = raw {
            object.insert("raw".into(), raw);
        }
        let original = Value::Object(object);
        let text = serde_json::to_string(&original).expect("json");

        let envelope = Envelope::from_slice(text.as_bytes()).expect("a valid envelope decodes");
        let written = envelope.to_json();
        // Written back as read, field for field.
        prop_assert_eq!(serde_json::from_str::<Value>(&written).expect("json"), original.clone());
        // And again after the tags were looked at and changed back.
        let mut touched = envelope.clone();
        let before = touched.tags().len();
        touched.tags_mut().insert("zz-probe", true);
        prop_assert_eq!(touched.tags().len(), before + 1);
        let mut back: Value = serde_json::from_str(&touched.to_json()).expect("json");
        if let Some(tags) = back.get_mut("tags").and_then(Value::as_object_mut) {
            tags.remove("zz-probe");
        }
        prop_assert_eq!(back, original);
    }
}

proptest! {
    #[test]
    fn any_bytes_decode_to_an_envelope_or_a_clear_error_never_a_panic(
        payloads in prop::collection::vec(
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..64),
                json_value().prop_map(|v| v.to_string().into_bytes()),
                "\\{\"(id|type|timestamp|tags|partitionKey|raw|s3)\":[^}]{0,20}\\}"
                    .prop_map(String::into_bytes),
            ],
            1..20,
        ),
    ) {
        let payloads: Vec<(String, Vec<u8>)> =
            payloads.into_iter().map(|p| ("k".to_string(), p)).collect();
        let faults = Arc::new(InMemoryPublisher::new());
        let handler = StreamHandler::with_config(KinesisSource::new(), Config::default())
            .pipeline(Pipeline::new("p").delivered())
            .faults_to(faults.clone());
        let report = paused_runtime().block_on(
            handler.process(testing::kinesis_event_from_payloads(&payloads), Invocation::local()),
        );
        prop_assert_eq!(report.records.len(), payloads.len());
        for record in &report.records {
            let decoded = record.decode_error.is_none() && !record.skipped;
            let expected = if decoded { RecordState::Delivered } else if record.skipped {
                RecordState::Filtered
            } else {
                RecordState::Fault
            };
            prop_assert_eq!(record.pipelines[0], expected);
            if let Some(reason) = &record.decode_error {
                prop_assert!(reason.starts_with("record shardId-"), "{}", reason);
            }
        }
        prop_assert_eq!(faults.published().len(), report.summary.undecodable);
    }
}

proptest! {
    #[test]
    fn type_filters_keep_exactly_what_a_filter_on_the_decoded_type_keeps(
        payloads in prop::collection::vec(
            (
                prop::sample::select(vec!["thing-created", "thing-updated", "order-placed", "other"]),
                0usize..200,
                any::<bool>(),
            ),
            1..24,
        ),
    ) {
        // Envelopes, some cut short: the rest of their JSON is broken after the type.
        let payloads: Vec<(String, Vec<u8>)> = payloads
            .into_iter()
            .enumerate()
            .map(|(i, (event_type, cut, broken))| {
                let json = format!(
                    r#"{{"id":"e{i}","type":"{event_type}","timestamp":1,"thing":{{"n":"{}"}}}}"#,
                    "x".repeat(cut % 40)
                );
                let end = if broken { (json.find("timestamp").unwrap_or(0) + cut % 30).min(json.len()) } else { json.len() };
                ("k".to_string(), json.as_bytes()[..end].to_vec())
            })
            .collect();
        let run = |pipeline: Pipeline<()>| {
            let handler = StreamHandler::with_config(KinesisSource::new(), Config::default())
                .pipeline(pipeline.delivered())
                .faults_to(Arc::new(InMemoryPublisher::new()));
            paused_runtime().block_on(handler.process(
                testing::kinesis_event_from_payloads(&payloads),
                Invocation::local(),
            ))
        };
        let typed = run(Pipeline::new("typed").on_type("thing-*"));
        let content = run(Pipeline::new("content").filter(|u| u.event.event_type().starts_with("thing-")));
        for (t, c) in typed.records.iter().zip(&content.records) {
            let (t, c) = (t.pipelines[0], c.pipelines[0]);
            // The same, except that an event no pipeline wants is filtered unread rather
            // than faulted for JSON past its type.
            prop_assert!(
                t == c || (t == RecordState::Filtered && c == RecordState::Fault),
                "typed {:?}, content {:?}", t, c
            );
        }
        prop_assert_eq!(typed.summary.pipelines[0].delivered, content.summary.pipelines[0].delivered);
    }
}

proptest! {
    #[test]
    fn kinesis_records_missing_optional_fields_or_carrying_unknown_ones_still_decode(
        drop in prop::collection::vec(
            prop::sample::select(vec!["eventID", "approximateArrivalTimestamp", "partitionKey", "sequenceNumber", "eventSource", "kinesisSchemaVersion"]),
            0..4,
        ),
        extra in prop::collection::vec(("[a-z]{1,8}", json_value()), 0..3),
        timestamp_as_string in any::<bool>(),
    ) {
        use base64::Engine;
        let envelope = r#"{"id":"e1","type":"thing-created","timestamp":1}"#;
        let mut kinesis = serde_json::json!({
            "kinesisSchemaVersion": "1.0",
            "partitionKey": "k",
            "sequenceNumber": "1",
            "data": base64::engine::general_purpose::STANDARD.encode(envelope),
            "approximateArrivalTimestamp": if timestamp_as_string { Value::from("1545084650.987") } else { Value::from(1_545_084_650.987) },
        });
        let mut record = serde_json::json!({"eventID": "shardId-0:1", "eventSource": "aws:kinesis"});
        for field in &drop {
            if let Some(k) = kinesis.as_object_mut() { k.remove(*field); }
            if let Some(r) = record.as_object_mut() { r.remove(*field); }
        }
        for (name, value) in extra {
            if let Some(r) = record.as_object_mut() { r.insert(format!("x{name}"), value); }
        }
        record["kinesis"] = kinesis;
        let event = lambda_stream::RecordsEvent::from_slice(
            serde_json::json!({"Records": [record]}).to_string().as_bytes(),
        ).expect("an event");
        let handler = StreamHandler::with_config(KinesisSource::new(), Config::default())
            .pipeline(Pipeline::new("p").on_type("thing-*").delivered())
            .faults_to(Arc::new(InMemoryPublisher::new()));
        let report = paused_runtime().block_on(handler.process(event, Invocation::local()));
        prop_assert_eq!(report.records[0].pipelines[0], RecordState::Delivered);
    }
}
