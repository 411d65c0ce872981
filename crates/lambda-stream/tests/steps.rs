//! Every step, through a real handler over a Kinesis batch: what it passes on, and its error
//! paths (errors and panics fail only their unit).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lambda_stream::aws_lambda_events::event::streams::KinesisEventResponse;
use lambda_stream::testing;
use lambda_stream::{
    BatchLimits, Config, Envelope, FailureMode, InMemoryPublisher, Invocation, KinesisSource,
    Pipeline, RateLimiter, RecordState, Report, StepError, StreamHandler, TypeFilter,
};
use serde_json::json;

fn event(n: usize, event_type: &str, key: &str) -> Envelope {
    Envelope::builder(event_type)
        .id(format!("e{n}"))
        .timestamp(1_000 + i64::try_from(n).unwrap_or_default())
        .partition_key(key)
        .entity("thing", &json!({"n": n, "name": format!("thing {n}")}))
        .build()
        .expect("valid")
}

fn things(count: usize) -> Vec<Envelope> {
    (0..count)
        .map(|n| event(n, "thing-created", &format!("k{}", n % 3)))
        .collect()
}

async fn run<T: Send + 'static>(
    pipeline: Pipeline<T>,
    events: &[Envelope],
) -> (Report<KinesisEventResponse>, Arc<InMemoryPublisher>) {
    let faults = Arc::new(InMemoryPublisher::new());
    let handler = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(pipeline.delivered())
        .faults_to(faults.clone());
    let report = handler
        .process(testing::kinesis_event(events), Invocation::local())
        .await;
    (report, faults)
}

fn states(report: &Report<KinesisEventResponse>) -> Vec<RecordState> {
    report.records.iter().map(|r| r.pipelines[0]).collect()
}

fn n_of<T>(uow: &lambda_stream::Uow<T>) -> i64 {
    uow.event
        .entity::<serde_json::Value>()
        .ok()
        .and_then(|t| t["n"].as_i64())
        .unwrap_or(-1)
}

#[tokio::test]
async fn an_empty_pipeline_delivers_everything() {
    let (report, faults) = run(Pipeline::new("p"), &things(5)).await;
    assert_eq!(states(&report), vec![RecordState::Delivered; 5]);
    assert_eq!(report.summary.pipelines[0].delivered, 5);
    assert!(faults.published().is_empty());
    assert!(report.response.expect("ok").batch_item_failures.is_empty());
}

#[tokio::test]
async fn filter_on_type_glob_regex_set_and_content() {
    let events = vec![
        event(0, "thing-created", "a"),
        event(1, "thing-updated", "a"),
        event(2, "order-placed", "a"),
        event(3, "things-listed", "a"),
    ];
    let (report, _) = run(Pipeline::new("p").on_type("thing-*"), &events).await;
    use RecordState::{Delivered as D, Filtered as F};
    assert_eq!(states(&report), vec![D, D, F, F]);

    let exact = Pipeline::new("p").on_type("order-placed");
    assert_eq!(states(&run(exact, &events).await.0), vec![F, F, D, F]);

    let regex = TypeFilter::regex("^thing-(created|listed)$").expect("valid");
    let (report, _) = run(Pipeline::new("p").on_types(regex), &events).await;
    assert_eq!(states(&report), vec![D, F, F, F]);

    let set = TypeFilter::set(["order-placed", "things-listed"]);
    let (report, _) = run(Pipeline::new("p").on_types(set), &events).await;
    assert_eq!(states(&report), vec![F, F, D, D]);

    let content = Pipeline::new("p").filter(|uow| n_of(uow) % 2 == 1);
    assert_eq!(states(&run(content, &events).await.0), vec![F, D, F, D]);
}

#[tokio::test]
async fn a_panicking_filter_fails_the_unit_instead_of_filtering_it() {
    let pipeline = Pipeline::new("p").filter(|uow| {
        assert!(n_of(uow) != 1, "predicate bug");
        true
    });
    let (report, faults) = run(pipeline, &things(3)).await;
    assert_eq!(
        states(&report),
        vec![
            RecordState::Delivered,
            RecordState::Fault,
            RecordState::Delivered
        ]
    );
    let fault = &faults.envelopes()[0];
    let err: serde_json::Value = fault.field("err").expect("err");
    assert_eq!(err["name"], "Panic");
    assert!(
        err["message"]
            .as_str()
            .unwrap_or_default()
            .contains("predicate bug")
    );
}

#[tokio::test]
async fn map_errors_and_panics_fail_only_their_unit() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let pipeline = Pipeline::new("p")
        .map(|uow| match n_of(uow) {
            1 => Err(StepError::new("cannot map thing 1").with_name("MappingError")),
            2 => panic!("mapper bug"),
            n => Ok(n * 10),
        })
        .tap(move |uow| seen2.lock().expect("lock").push(uow.value));
    let (report, faults) = run(pipeline, &things(4)).await;
    use RecordState::{Delivered as D, Fault as X};
    assert_eq!(states(&report), vec![D, X, X, D]);
    assert_eq!(*seen.lock().expect("lock"), vec![0, 30]);
    let errs: Vec<serde_json::Value> = faults
        .envelopes()
        .iter()
        .map(|f| f.field("err").expect("err"))
        .collect();
    assert_eq!(errs.len(), 2);
    assert!(errs.iter().any(|e| e["name"] == "MappingError"));
    assert!(errs.iter().any(|e| e["name"] == "Panic"));
}

#[tokio::test]
async fn failure_modes_and_error_classes_decide_fault_or_retry() {
    let failing = |mode: FailureMode| {
        Pipeline::new("p")
            .on_failure(mode)
            .map(|uow| match n_of(uow) {
                0 => Err(StepError::new("unclassified")),
                1 => Err(StepError::retryable("throttled")),
                2 => Err(StepError::permanent("bad data")),
                _ => Ok(()),
            })
    };
    use RecordState::{Delivered as D, Fault as X, Retry as R};
    let (report, faults) = run(failing(FailureMode::Fault), &things(4)).await;
    assert_eq!(states(&report), vec![X, R, X, D]);
    assert_eq!(faults.published().len(), 2);
    let response = report.response.expect("ok");
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(
        response.batch_item_failures[0].item_identifier.as_deref(),
        Some(testing::sequence_number(2).as_str())
    );

    let (report, faults) = run(failing(FailureMode::Retry), &things(4)).await;
    assert_eq!(states(&report), vec![R, R, X, D]);
    assert_eq!(faults.published().len(), 1);
    // Lambda restarts the shard at the lowest failed record.
    assert_eq!(
        report.response.expect("ok").batch_item_failures[0]
            .item_identifier
            .as_deref(),
        Some(testing::sequence_number(1).as_str())
    );
}

#[tokio::test]
async fn then_runs_concurrently_up_to_its_limit_and_keeps_order() {
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (r, p) = (Arc::clone(&running), Arc::clone(&peak));
    let order = Arc::new(Mutex::new(Vec::new()));
    let order2 = Arc::clone(&order);
    let pipeline = Pipeline::new("p")
        .then(3, move |uow| {
            let (running, peak) = (Arc::clone(&r), Arc::clone(&p));
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                // Later units finish sooner, so order is only kept if the step keeps it.
                let n = n_of(&uow);
                tokio::time::sleep(Duration::from_millis(u64::try_from(20 - n).unwrap_or(1))).await;
                running.fetch_sub(1, Ordering::SeqCst);
                if n == 4 {
                    return Err(StepError::new("call failed"));
                }
                if n == 5 {
                    panic!("client bug");
                }
                Ok(n)
            }
        })
        .tap(move |uow| order2.lock().expect("lock").push(uow.value));
    let (report, _) = run(pipeline, &things(10)).await;
    assert_eq!(peak.load(Ordering::SeqCst), 3);
    assert_eq!(*order.lock().expect("lock"), vec![0, 1, 2, 3, 6, 7, 8, 9]);
    assert_eq!(report.records[4].pipelines[0], RecordState::Fault);
    assert_eq!(report.records[5].pipelines[0], RecordState::Fault);
    assert_eq!(report.summary.pipelines[0].delivered, 8);
}

#[tokio::test]
async fn then_ordered_keeps_each_key_in_order_and_runs_keys_concurrently() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (l, r, p) = (Arc::clone(&log), Arc::clone(&running), Arc::clone(&peak));
    let pipeline = Pipeline::new("p").then_ordered(2, move |uow| {
        let (log, running, peak) = (Arc::clone(&l), Arc::clone(&r), Arc::clone(&p));
        async move {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let n = n_of(&uow);
            tokio::time::sleep(Duration::from_millis(
                u64::try_from(10 - n % 10).unwrap_or(1),
            ))
            .await;
            log.lock()
                .expect("lock")
                .push((uow.partition_key().to_string(), n));
            running.fetch_sub(1, Ordering::SeqCst);
            if n == 7 {
                return Err(StepError::new("fails"));
            }
            Ok(())
        }
    });
    let (report, _) = run(pipeline, &things(12)).await;
    assert_eq!(peak.load(Ordering::SeqCst), 2);
    let log = log.lock().expect("lock").clone();
    // e7 (key k1) fails, so e10 (k1, later) is not run: it is retried after e7.
    assert_eq!(log.len(), 11);
    assert!(!log.iter().any(|(_, n)| *n == 10));
    for key in ["k0", "k1", "k2"] {
        let ns: Vec<i64> = log
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, n)| *n)
            .collect();
        let mut sorted = ns.clone();
        sorted.sort_unstable();
        assert_eq!(ns, sorted, "key {key} in order");
    }
    assert_eq!(report.records[7].pipelines[0], RecordState::Fault);
    assert_eq!(report.records[10].pipelines[0], RecordState::Retry);
    assert_eq!(report.summary.pipelines[0].delivered, 10);
}

#[tokio::test]
async fn split_makes_parts_and_the_record_ends_in_its_worst_part() {
    let delivered = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&delivered);
    let pipeline = Pipeline::new("p")
        .split(|uow| match n_of(uow) {
            0 => Ok(vec![1, 2, 3]),
            1 => Ok(vec![]),
            2 => Err(StepError::new("cannot split")),
            _ => Ok(vec![10, 99]),
        })
        .map(|uow| {
            if uow.value == 99 {
                Err(StepError::retryable("part failed"))
            } else {
                Ok(uow.value)
            }
        })
        .tap(move |_| {
            d.fetch_add(1, Ordering::SeqCst);
        });
    let (report, _) = run(pipeline, &things(4)).await;
    use RecordState::{Delivered as D, Fault as X, Filtered as F, Retry as R};
    assert_eq!(states(&report), vec![D, F, X, R]);
    assert_eq!(delivered.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_record_split_into_failing_parts_is_in_one_fault_event() {
    let pipeline = Pipeline::new("p").split(|_| Ok(vec![1, 2, 3])).map(|uow| {
        if uow.value > 1 {
            Err(StepError::new(format!("part {} failed", uow.value)))
        } else {
            Ok(())
        }
    });
    let (report, faults) = run(pipeline, &things(2)).await;
    assert_eq!(
        states(&report),
        vec![RecordState::Fault, RecordState::Fault]
    );
    let published = faults.envelopes();
    assert_eq!(
        published.len(),
        2,
        "one fault per record, not per failed part"
    );
    let err: serde_json::Value = published[0].field("err").expect("err");
    assert_eq!(err["message"], "part 2 failed");
}

#[tokio::test]
async fn batch_by_count_and_bytes_settles_as_one() {
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&sizes);
    let pipeline = Pipeline::new("p")
        .batch(
            BatchLimits {
                max_count: 3,
                max_bytes: 250,
            },
            |uow| {
                if n_of(uow) == 4 { 300 } else { 100 }
            },
        )
        .map(move |batch| {
            let ns: Vec<i64> = batch.value.iter().map(n_of).collect();
            s.lock().expect("lock").push(ns.clone());
            if ns.contains(&7) {
                return Err(StepError::new("batch rejected"));
            }
            Ok(())
        });
    let (report, faults) = run(pipeline, &things(9)).await;
    // 100+100 fits 250, a third would not; the 300-byte unit travels alone.
    assert_eq!(
        *sizes.lock().expect("lock"),
        vec![vec![0, 1], vec![2, 3], vec![4], vec![5, 6], vec![7, 8]]
    );
    use RecordState::{Delivered as D, Fault as X};
    assert_eq!(states(&report), vec![D, D, D, D, D, D, D, X, X]);
    // One fault event for the failed batch, listing both records.
    let published = faults.envelopes();
    assert_eq!(published.len(), 1);
    let uow: serde_json::Value = published[0].field("uow").expect("uow");
    assert_eq!(uow["batch"].as_array().map(Vec::len), Some(2));

    let sizes = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&sizes);
    let by_count = Pipeline::new("p")
        .batch(BatchLimits::count(4), |_| 0)
        .tap(move |b| {
            s.lock().expect("lock").push(b.value.len());
        });
    run(by_count, &things(10)).await;
    assert_eq!(*sizes.lock().expect("lock"), vec![4, 4, 2]);
}

#[tokio::test]
async fn compact_keeps_the_latest_per_key_and_its_fate_covers_the_rest() {
    let kept = Arc::new(Mutex::new(Vec::new()));
    let k = Arc::clone(&kept);
    let pipeline = Pipeline::new("p").compact().map(move |uow| {
        let n = n_of(uow);
        k.lock().expect("lock").push(n);
        if uow.partition_key() == "k1" {
            Err(StepError::retryable("k1 down"))
        } else {
            Ok(())
        }
    });
    let (report, _) = run(pipeline, &things(7)).await;
    let mut kept = kept.lock().expect("lock").clone();
    kept.sort_unstable();
    assert_eq!(kept, vec![4, 5, 6]);
    use RecordState::{Delivered as D, Retry as R};
    // k1 holds records 1 and 4: both retried with the one kept.
    assert_eq!(states(&report), vec![D, R, D, D, R, D, D]);
}

#[tokio::test(start_paused = true)]
async fn rate_limit_holds_the_rate_with_backpressure() {
    let times = Arc::new(Mutex::new(Vec::new()));
    let t = Arc::clone(&times);
    let start = tokio::time::Instant::now();
    let pipeline = Pipeline::new("p")
        .rate_limit(2, Duration::from_secs(1))
        .then(4, move |_uow| {
            let t = Arc::clone(&t);
            async move {
                t.lock()
                    .expect("lock")
                    .push(tokio::time::Instant::now() - start);
                Ok(())
            }
        });
    let (report, _) = run(pipeline, &things(7)).await;
    assert_eq!(report.summary.pipelines[0].delivered, 7);
    let times = times.lock().expect("lock").clone();
    for (i, t) in times.iter().enumerate() {
        let window = times[i..]
            .iter()
            .filter(|u| **u < *t + Duration::from_secs(1))
            .count();
        assert!(window <= 2, "{times:?}");
    }
    assert!(times[6] >= Duration::from_secs(3), "{times:?}");
}

#[tokio::test(start_paused = true)]
async fn a_shared_limiter_spans_pipelines_and_invocations() {
    let limiter = Arc::new(RateLimiter::new(3, Duration::from_secs(1)));
    let pipeline = Pipeline::new("p").rate_limit_with(Arc::clone(&limiter));
    let handler = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(pipeline.delivered())
        .faults_to(Arc::new(InMemoryPublisher::new()));
    let start = tokio::time::Instant::now();
    for _ in 0..3 {
        handler
            .handle(testing::kinesis_event(&things(2)))
            .await
            .expect("ok");
    }
    // 6 units at 3 per second: the second invocation's last unit waits for the next window.
    assert!(tokio::time::Instant::now() - start >= Duration::from_secs(1));
}

#[tokio::test]
async fn tap_panics_fail_the_unit() {
    let pipeline = Pipeline::new("p").tap(|uow| {
        assert!(n_of(uow) != 0, "tap bug");
    });
    let (report, _) = run(pipeline, &things(2)).await;
    assert_eq!(
        states(&report),
        vec![RecordState::Fault, RecordState::Delivered]
    );
}

#[tokio::test]
async fn publish_tags_batches_to_limits_and_settles_each_entry() {
    let sink = Arc::new(
        InMemoryPublisher::new()
            .with_limits(BatchLimits {
                max_count: 4,
                max_bytes: 100_000,
            })
            .rejecting(|entry| {
                entry
                    .json()
                    .contains("\"n\":5")
                    .then(|| StepError::retryable("ThrottlingException"))
            }),
    );
    let pipeline = Pipeline::new("to-bus")
        .on_type("thing-*")
        .map(|uow| {
            Envelope::builder("thing-shared")
                .id(uow.event.id())
                .timestamp(uow.event.timestamp())
                .entity("thing", &json!({"n": n_of(uow)}))
                .build()
                .map_err(StepError::from)
        })
        .publish(sink.clone(), 2);
    let config = Config {
        tags: {
            let mut tags = lambda_stream::Tags::new();
            tags.insert("functionname", "egress");
            tags.insert("stage", "test");
            tags
        },
        ..Config::default()
    };
    let handler = StreamHandler::with_config(KinesisSource::new(), config)
        .pipeline(pipeline)
        .faults_to(Arc::new(InMemoryPublisher::new()));
    let report = handler
        .process(testing::kinesis_event(&things(10)), Invocation::local())
        .await;
    assert_eq!(sink.request_sizes(), vec![4, 4, 2]);
    let published = sink.envelopes();
    assert_eq!(published.len(), 9);
    for e in &published {
        assert_eq!(e.tags().get_str("functionname"), Some("egress"));
        assert_eq!(e.tags().get_str("stage"), Some("test"));
        assert_eq!(e.tags().get_str("pipeline"), Some("to-bus"));
        assert_eq!(e.event_type(), "thing-shared");
    }
    assert_eq!(report.records[5].pipelines[0], RecordState::Retry);
    assert_eq!(report.summary.pipelines[0].delivered, 9);
    assert_eq!(report.summary.retried_records, 1);
}

#[tokio::test]
async fn publish_request_failures_fail_every_entry_of_the_request() {
    let sink = Arc::new(InMemoryPublisher::new().failing(|| StepError::new("bus unavailable")));
    let pipeline = Pipeline::new("p")
        .map(|uow| Ok(uow.event.as_ref().clone()))
        .publish(sink, 1);
    let (report, faults) = run(pipeline, &things(12)).await;
    assert_eq!(report.summary.pipelines[0].faults, 12);
    assert_eq!(faults.published().len(), 12);
}

#[tokio::test]
async fn send_delivers_messages_that_are_not_envelopes() {
    let topic = Arc::new(
        InMemoryPublisher::new()
            .with_limits(BatchLimits {
                max_count: 3,
                max_bytes: 1_000,
            })
            .rejecting(|e| {
                e.json()
                    .contains("\"f1\":4")
                    .then(|| StepError::permanent("bad"))
            }),
    );
    // The basic egress of the ESG seed: thing events become the external system's message.
    let pipeline = Pipeline::new("to-topic")
        .on_type("thing-*")
        .map(|uow| {
            let thing: serde_json::Value = uow.event.entity()?;
            Ok::<_, StepError>(lambda_stream::PublishEntry::message(
                uow.event.event_type(),
                json!({"f1": thing["n"], "f2": thing["name"]}).to_string(),
            ))
        })
        .send(topic.clone(), 1);
    let (report, faults) = run(pipeline, &things(7)).await;
    let sent: Vec<String> = topic
        .published()
        .into_iter()
        .map(|e| e.into_json())
        .collect();
    assert_eq!(sent.len(), 6);
    assert!(
        sent.iter().all(|m| !m.contains("\"tags\"")),
        "sent as built, no envelope tags"
    );
    assert_eq!(topic.request_sizes(), vec![3, 3, 1]);
    assert_eq!(report.records[4].pipelines[0], RecordState::Fault);
    assert_eq!(faults.published().len(), 1);
}
