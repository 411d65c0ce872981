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
            .pipeline(pipeline)
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
            .filter(lambda_stream::on_type("thing-*"))
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
            .pipeline(pipeline);
        if with_publisher {
            handler = handler.faults_to(faults.clone());
        }
        let report = paused_runtime().block_on(
            handler.process(testing::sqs_event(&events), Invocation::local()),
        );

        let unclassified = if retry_mode { RecordState::Retry } else { RecordState::Fault };
        let expected: Vec<RecordState> = behaviours
            .iter()
            .map(|(b, _)| {
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
