//! Delivery guarantees at the edges: panics in user and sink code, the invocation's deadline,
//! faults too large for the fault bus, faults and retries together, order under failure,
//! and bad input that must not be silently changed. Each test names the defect it pins.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_stream::testing;
use lambda_stream::{
    BatchLimits, Config, Delivered, DynamoDbSource, Envelope, FailureMode, HandlerError,
    InMemoryPublisher, Invocation, KinesisSource, Pipeline, PublishEntry, Publisher, RecordState,
    RecordsEvent, Redeemer, S3Pointer, SqsSource, StepError, StreamHandler,
};
use serde_json::{Value, json};
use sha2::Digest;

fn event(n: usize) -> Envelope {
    Envelope::builder("thing-created")
        .id(format!("e{n}"))
        .timestamp(1_000)
        .partition_key(format!("k{n}"))
        .entity("thing", &json!({"n": n}))
        .build()
        .expect("valid")
}

fn events(count: usize) -> Vec<Envelope> {
    (0..count).map(event).collect()
}

fn republish(bus: Arc<dyn Publisher>) -> Pipeline<Delivered> {
    Pipeline::new("republish")
        .map(|uow| Ok::<_, StepError>(uow.event.as_ref().clone()))
        .publish(bus, 2)
}

fn with_deadline(after: Duration) -> Invocation {
    let mut invocation = Invocation::local();
    invocation.deadline = Some(lambda_stream::deadline::now() + after);
    invocation
}

fn states(report: &lambda_stream::Report<impl std::fmt::Debug>, p: usize) -> Vec<RecordState> {
    report.records.iter().map(|r| r.pipelines[p]).collect()
}

/// A publisher whose parts can be made to panic or hang.
#[derive(Default)]
struct Faulty {
    inner: InMemoryPublisher,
    panic_in_limits: bool,
    panic_in_size_for: Option<&'static str>,
    hang: bool,
    /// What the service adds to an entry's size (EventBridge counts `Source`).
    overhead: usize,
    max_bytes: Option<usize>,
}

impl Publisher for Faulty {
    fn limits(&self) -> BatchLimits {
        assert!(!self.panic_in_limits, "limits panicked");
        BatchLimits {
            max_count: 10,
            max_bytes: self.max_bytes.unwrap_or(256 * 1024),
        }
    }

    fn entry_size(&self, entry: &PublishEntry) -> usize {
        if let Some(needle) = self.panic_in_size_for {
            assert!(!entry.json().contains(needle), "entry_size panicked");
        }
        self.overhead + entry.json().len() + entry.event_type().len()
    }

    fn publish<'a>(
        &'a self,
        entries: &'a [PublishEntry],
    ) -> BoxFuture<'a, Vec<Result<(), StepError>>> {
        if self.hang {
            return futures::future::pending().boxed();
        }
        self.inner.publish(entries)
    }
}

// -- 1, 2: panics in size functions, entry_size and limits stay with their units

#[tokio::test]
async fn a_panic_in_a_batch_size_function_fails_only_its_unit() {
    let handler = StreamHandler::with_config(SqsSource::new(), Config::default())
        .pipeline(
            Pipeline::new("p")
                .batch(BatchLimits::count(2), |uow| {
                    assert!(uow.event.id() != "e1", "size panicked");
                    1
                })
                .delivered(),
        )
        .faults_to(Arc::new(InMemoryPublisher::new()));
    let report = handler
        .process(testing::sqs_event(&events(4)), Invocation::local())
        .await;
    assert!(report.response.is_ok());
    assert_eq!(
        states(&report, 0),
        vec![
            RecordState::Delivered,
            RecordState::Fault,
            RecordState::Delivered,
            RecordState::Delivered
        ]
    );
    let fault: Value = report.faults[0].field("err").expect("err");
    assert!(
        fault["message"]
            .as_str()
            .unwrap_or("")
            .contains("size panicked")
    );
}

#[tokio::test]
async fn a_panic_in_entry_size_fails_only_that_entry() {
    let bus = Arc::new(Faulty {
        panic_in_size_for: Some(r#""id":"e2""#),
        ..Faulty::default()
    });
    let handler = StreamHandler::with_config(SqsSource::new(), Config::default())
        .pipeline(republish(bus.clone()))
        .faults_to(Arc::new(InMemoryPublisher::new()));
    let report = handler
        .process(testing::sqs_event(&events(5)), Invocation::local())
        .await;
    assert!(report.response.is_ok());
    assert_eq!(states(&report, 0)[2], RecordState::Fault);
    assert_eq!(report.summary.pipelines[0].delivered, 4);
    assert_eq!(bus.inner.published().len(), 4);
}

#[tokio::test]
async fn a_panic_in_a_publishers_limits_fails_its_units_not_the_invocation() {
    let bus = Arc::new(Faulty {
        panic_in_limits: true,
        ..Faulty::default()
    });
    let faults = Arc::new(InMemoryPublisher::new());
    let handler = StreamHandler::with_config(SqsSource::new(), Config::default())
        .pipeline(republish(bus))
        .faults_to(faults.clone());
    let report = handler
        .process(testing::sqs_event(&events(3)), Invocation::local())
        .await;
    assert!(report.response.is_ok());
    assert_eq!(states(&report, 0), vec![RecordState::Fault; 3]);
    assert_eq!(faults.published().len(), 3, "each unit failed");
}

#[tokio::test]
async fn a_fault_publisher_that_panics_retries_the_records_and_still_answers() {
    for faulty in [
        Faulty {
            panic_in_limits: true,
            ..Faulty::default()
        },
        Faulty {
            panic_in_size_for: Some(r#""type":"fault""#),
            ..Faulty::default()
        },
    ] {
        let handler = StreamHandler::with_config(SqsSource::new(), Config::default())
            .pipeline(Pipeline::new("p").map(|uow| {
                if uow.event.id() == "e1" {
                    Err(StepError::permanent("bad"))
                } else {
                    Ok(Delivered)
                }
            }))
            .faults_to(Arc::new(faulty));
        let report = handler
            .process(testing::sqs_event(&events(3)), Invocation::local())
            .await;
        let response = report.response.expect("answered");
        assert_eq!(response.batch_item_failures.len(), 1);
        assert_eq!(
            report.records.iter().map(|r| r.retry).collect::<Vec<_>>(),
            vec![false, true, false]
        );
    }
}

// -- 3: the deadline

#[tokio::test(start_paused = true)]
async fn a_hanging_publisher_is_cut_at_the_deadline_margin_and_the_response_is_sent() {
    let bus = Arc::new(Faulty {
        hang: true,
        ..Faulty::default()
    });
    for (mode, expected) in [
        (FailureMode::Fault, RecordState::Fault),
        (FailureMode::Retry, RecordState::Retry),
    ] {
        let faults = Arc::new(InMemoryPublisher::new());
        let handler = StreamHandler::with_config(KinesisSource::new(), Config::default())
            .deadline_margin(Duration::from_millis(800))
            .pipeline(
                Pipeline::new("p")
                    .on_failure(mode)
                    .map(|uow| Ok::<_, StepError>(uow.event.as_ref().clone()))
                    .publish(bus.clone(), 1),
            )
            .faults_to(faults.clone());
        let start = tokio::time::Instant::now();
        let report = handler
            .process(
                testing::kinesis_event(&events(4)),
                with_deadline(Duration::from_secs(10)),
            )
            .await;
        let took = start.elapsed();
        assert!(
            took <= Duration::from_millis(9_400) && took >= Duration::from_millis(9_100),
            "stopped one margin before the deadline: {took:?}"
        );
        assert!(report.response.is_ok());
        let all = states(&report, 0);
        assert!(all.iter().all(|s| *s == expected), "{all:?}");
        if mode == FailureMode::Fault {
            let err: Value = faults.envelopes()[0].field("err").expect("err");
            assert_eq!(err["name"], "DeadlineExceeded");
        } else {
            assert!(faults.published().is_empty());
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_hanging_step_is_cut_and_records_it_never_reached_are_retried() {
    let faults = Arc::new(InMemoryPublisher::new());
    let handler = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(Pipeline::new("hangs").then(1, |uow| async move {
            if uow.event.id() == "e1" {
                futures::future::pending::<()>().await;
            }
            Ok::<_, StepError>(Delivered)
        }))
        .faults_to(faults.clone());
    let report = handler
        .process(
            testing::kinesis_event(&events(6)),
            with_deadline(Duration::from_secs(3)),
        )
        .await;
    let response = report
        .response
        .as_ref()
        .expect("answered before the deadline");
    let all = states(&report, 0);
    assert_eq!(all[0], RecordState::Delivered);
    assert_eq!(all[1], RecordState::Fault, "in flight at the deadline");
    // Records the step never took are retried: Lambda resumes at the lowest.
    assert!(all[3..].iter().all(|s| *s == RecordState::Retry), "{all:?}");
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(faults.published().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn fault_publishing_that_hangs_is_cut_too_and_its_records_retried() {
    let faults = Arc::new(Faulty {
        hang: true,
        ..Faulty::default()
    });
    let handler = StreamHandler::with_config(SqsSource::new(), Config::default())
        .pipeline(Pipeline::new("p").map(|_| Err::<Delivered, _>(StepError::permanent("bad"))))
        .faults_to(faults);
    let start = tokio::time::Instant::now();
    let report = handler
        .process(
            testing::sqs_event(&events(2)),
            with_deadline(Duration::from_secs(4)),
        )
        .await;
    assert!(start.elapsed() < Duration::from_secs(4));
    let response = report.response.expect("answered");
    assert_eq!(response.batch_item_failures.len(), 2);
    assert_eq!(report.summary.faults_unpublished, 2);
}

#[test]
fn the_deadline_is_visible_to_sinks_while_a_pipeline_runs() {
    let seen = Arc::new(Mutex::new(None));
    let s = Arc::clone(&seen);
    let handler = StreamHandler::with_config(SqsSource::new(), Config::default())
        .deadline_margin(Duration::from_secs(2))
        .pipeline(Pipeline::new("p").then(1, move |_| {
            let s = Arc::clone(&s);
            async move {
                *s.lock().expect("lock") = lambda_stream::Deadline::current().remaining();
                Ok::<_, StepError>(Delivered)
            }
        }));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let report = runtime.block_on(handler.process(
        testing::sqs_event(&events(1)),
        with_deadline(Duration::from_secs(30)),
    ));
    assert!(report.response.is_ok());
    let remaining = seen
        .lock()
        .expect("lock")
        .expect("a deadline inside the pipeline");
    assert!(
        remaining <= Duration::from_secs(28) && remaining > Duration::from_secs(20),
        "{remaining:?}"
    );
}

// -- 4: faults that do not fit

fn sqs_bodies_event(bodies: &[String]) -> RecordsEvent {
    testing::sqs_event_from_bodies(bodies)
}

fn big_body(n: usize, bytes: usize) -> String {
    let padding = "x".repeat(bytes);
    event_with_blob(n, &padding).to_json()
}

fn event_with_blob(n: usize, blob: &str) -> Envelope {
    Envelope::builder("thing-created")
        .id(format!("e{n}"))
        .timestamp(1_000)
        .entity("thing", &json!({ "blob": blob }))
        .build()
        .expect("valid")
}

#[tokio::test]
async fn a_record_too_large_for_the_fault_bus_is_trimmed_with_its_size_and_digest() {
    let faults = Arc::new(Faulty {
        overhead: "customer-service".len(),
        ..Faulty::default()
    });
    let body = big_body(0, 300 * 1024);
    let handler = StreamHandler::with_config(SqsSource::new(), Config::default())
        .pipeline(Pipeline::new("p").map(|_| Err::<Delivered, _>(StepError::permanent("bad"))))
        .faults_to(faults.clone());
    let report = handler
        .process(
            sqs_bodies_event(std::slice::from_ref(&body)),
            Invocation::local(),
        )
        .await;
    assert!(
        report
            .response
            .expect("answered")
            .batch_item_failures
            .is_empty()
    );
    let published = faults.inner.published();
    assert_eq!(published.len(), 1);
    assert!(faults.entry_size(&published[0]) <= 256 * 1024);
    let uow: Value = faults.inner.envelopes()[0].field("uow").expect("uow");
    let record_json = testing_record_json(&sqs_bodies_event(&[body]));
    assert_eq!(uow["trimmed"]["bytes"], record_json.len());
    assert_eq!(
        uow["trimmed"]["sha256"],
        hex(&sha2::Sha256::digest(record_json.as_bytes()))
    );
    assert!(
        uow["trimmed"]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("claim-check")
    );
    // The metadata stays; the body is replaced by its size and digest.
    let message_id = sqs_bodies_event(&[big_body(0, 1)])
        .records()
        .get(0)
        .and_then(|r| r.get_str(&["messageId"]).map(|s| s.into_owned()));
    assert_eq!(uow["record"]["messageId"].as_str(), message_id.as_deref());
    assert!(uow["record"]["body"]["trimmed"]["bytes"].as_u64() > Some(300 * 1024));
}

#[tokio::test]
async fn the_fault_size_check_counts_what_the_service_adds() {
    // A fault that fits in 256 KB by its JSON alone, but not with the Source EventBridge
    // counts: it must be cut down, not sent and refused.
    let source = "s".repeat(2_000);
    let faults = Arc::new(Faulty {
        overhead: source.len(),
        inner: InMemoryPublisher::new().rejecting(|entry| {
            (entry.json().len() + entry.event_type().len() + 2_000 > 256 * 1024)
                .then(|| StepError::permanent("the entry is too large"))
        }),
        ..Faulty::default()
    });
    let blob_fits_alone = 256 * 1024 - 2_000 - 1_500;
    let handler = StreamHandler::with_config(SqsSource::new(), Config::default())
        .pipeline(Pipeline::new("p").map(|_| Err::<Delivered, _>(StepError::permanent("bad"))))
        .faults_to(faults.clone());
    let report = handler
        .process(
            sqs_bodies_event(&[big_body(0, blob_fits_alone / 2)]),
            Invocation::local(),
        )
        .await;
    assert_eq!(report.summary.faults_published, 1);
    assert_eq!(report.summary.faults_unpublished, 0);
    assert!(
        report
            .response
            .expect("answered")
            .batch_item_failures
            .is_empty()
    );
}

#[tokio::test]
async fn a_failed_batch_unit_too_large_for_one_fault_is_split_across_faults() {
    let faults = Arc::new(Faulty::default());
    let bodies: Vec<String> = (0..10).map(|n| big_body(n, 60 * 1024)).collect();
    let handler = StreamHandler::with_config(SqsSource::new(), Config::default())
        .pipeline(
            Pipeline::new("p")
                .batch(BatchLimits::count(10), |_| 1)
                .map(|_| Err::<Delivered, _>(StepError::permanent("the batch was refused"))),
        )
        .faults_to(faults.clone());
    let report = handler
        .process(sqs_bodies_event(&bodies), Invocation::local())
        .await;
    assert!(
        report
            .response
            .as_ref()
            .expect("answered")
            .batch_item_failures
            .is_empty()
    );
    assert_eq!(states(&report, 0), vec![RecordState::Fault; 10]);
    let published = faults.inner.published();
    assert!(published.len() >= 3, "{} faults", published.len());
    let mut ids: Vec<String> = Vec::new();
    for (entry, fault) in published.iter().zip(faults.inner.envelopes()) {
        assert!(faults.entry_size(entry) <= 256 * 1024);
        let uow: Value = fault.field("uow").expect("uow");
        match uow.get("batch") {
            Some(Value::Array(batch)) => ids.extend(
                batch
                    .iter()
                    .map(|u| u["record"]["messageId"].as_str().unwrap_or("").to_string()),
            ),
            _ => ids.push(
                uow["record"]["messageId"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            ),
        }
    }
    ids.sort();
    let expected: Vec<String> = {
        let batch = sqs_bodies_event(&bodies);
        let mut v: Vec<String> = batch
            .records()
            .iter()
            .filter_map(|r| r.get_str(&["messageId"]).map(|s| s.into_owned()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids, expected, "every record in exactly one fault");
}

#[tokio::test]
async fn a_claim_check_publisher_for_faults_keeps_large_records_whole() {
    /// Reports the size of the pointer it would send, as the S3 claim-check publisher does.
    struct ClaimChecking(InMemoryPublisher);
    impl Publisher for ClaimChecking {
        fn limits(&self) -> BatchLimits {
            BatchLimits::EVENTBRIDGE
        }
        fn entry_size(&self, _: &PublishEntry) -> usize {
            512
        }
        fn publish<'a>(
            &'a self,
            entries: &'a [PublishEntry],
        ) -> BoxFuture<'a, Vec<Result<(), StepError>>> {
            self.0.publish(entries)
        }
    }
    let faults = Arc::new(ClaimChecking(InMemoryPublisher::new()));
    let body = big_body(0, 300 * 1024);
    let handler = StreamHandler::with_config(SqsSource::new(), Config::default())
        .pipeline(Pipeline::new("p").map(|_| Err::<Delivered, _>(StepError::permanent("bad"))))
        .faults_to(faults.clone());
    handler
        .process(
            sqs_bodies_event(std::slice::from_ref(&body)),
            Invocation::local(),
        )
        .await;
    let uow: Value = faults.0.envelopes()[0].field("uow").expect("uow");
    assert!(uow.get("trimmed").is_none());
    assert_eq!(uow["record"]["body"], body, "the record whole");
}

fn testing_record_json(event: &RecordsEvent) -> String {
    event
        .records()
        .get(0)
        .map(|r| r.json().to_string())
        .unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// -- 5: faults and retries of one record

#[tokio::test]
async fn a_record_faulted_in_one_pipeline_and_retried_in_another_faults_once() {
    let faults = Arc::new(InMemoryPublisher::new());
    let store_up = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let up = Arc::clone(&store_up);
    let handler = StreamHandler::with_config(SqsSource::new(), Config::default())
        .pipeline(Pipeline::new("a").map(|_| Err::<Delivered, _>(StepError::permanent("bad"))))
        .pipeline(Pipeline::new("b").map(move |_| {
            if up.load(Ordering::SeqCst) {
                Ok(Delivered)
            } else {
                Err(StepError::retryable("the store is down"))
            }
        }))
        .faults_to(faults.clone());
    let batch = testing::sqs_event(&events(1));
    for delivery in 1..=3 {
        let report = handler.process(batch.clone(), Invocation::local()).await;
        assert_eq!(
            report.records[0].pipelines,
            vec![RecordState::Fault, RecordState::Retry]
        );
        assert!(report.records[0].retry);
        assert!(
            faults.published().is_empty(),
            "delivery {delivery}: no fault yet"
        );
    }
    store_up.store(true, Ordering::SeqCst);
    let report = handler.process(batch, Invocation::local()).await;
    assert!(!report.records[0].retry);
    assert_eq!(
        faults.published().len(),
        1,
        "one fault, on the last delivery"
    );
}

// -- 6: order under failure, over many keys and deliveries

#[test]
fn then_ordered_never_runs_a_keys_effects_out_of_order_across_redeliveries() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    for seed in 0..40u64 {
        let rng = Arc::new(Mutex::new(fastrand::Rng::with_seed(seed)));
        let keys = 1 + (seed as usize % 7);
        let all: Vec<Envelope> = (0..60)
            .map(|n| {
                Envelope::builder("thing-created")
                    .id(format!("e{n}"))
                    .timestamp(1)
                    .partition_key(format!("k{}", n % keys))
                    .build()
                    .expect("valid")
            })
            .collect();
        let effects: Arc<Mutex<Vec<(String, usize)>>> = Arc::new(Mutex::new(Vec::new()));
        let (r, e) = (Arc::clone(&rng), Arc::clone(&effects));
        let handler = StreamHandler::with_config(KinesisSource::new(), Config::default()).pipeline(
            Pipeline::new("effects").then_ordered(4, move |uow| {
                let (r, e) = (Arc::clone(&r), Arc::clone(&e));
                async move {
                    let (delay, fails) = {
                        let mut rng = r.lock().expect("lock");
                        (rng.u64(0..5), rng.u8(0..100) < 15)
                    };
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                    if fails {
                        return Err(StepError::retryable("flaky"));
                    }
                    let n: usize = uow.event.id().trim_start_matches('e').parse().unwrap_or(0);
                    e.lock()
                        .expect("lock")
                        .push((uow.partition_key().to_string(), n));
                    Ok(Delivered)
                }
            }),
        );
        // Lambda's side: deliver from the lowest reported sequence number until none is.
        let mut start = 0;
        let mut deliveries = 0;
        while start < all.len() {
            deliveries += 1;
            assert!(deliveries < 500, "seed {seed}: never finished");
            let batch = testing::kinesis_event(&all[start..]);
            let response = runtime
                .block_on(handler.handle(batch))
                .expect("a partial response");
            match response.batch_item_failures.first() {
                None => start = all.len(),
                Some(failure) => {
                    let sequence = failure.item_identifier.clone().unwrap_or_default();
                    let offset = (0..all.len() - start)
                        .find(|i| testing::sequence_number(*i + 1) == sequence)
                        .expect("a sequence number of the batch");
                    start += offset;
                }
            }
        }
        // Per key, the first effect of each record comes in the records' order.
        let effects = effects.lock().expect("lock").clone();
        for k in 0..keys {
            let key = format!("k{k}");
            let mut first_seen = Vec::new();
            for (_, n) in effects.iter().filter(|(kk, _)| *kk == key) {
                if !first_seen.contains(n) {
                    first_seen.push(*n);
                }
            }
            let mut sorted = first_seen.clone();
            sorted.sort_unstable();
            assert_eq!(first_seen, sorted, "seed {seed}, key {key} out of order");
            assert_eq!(
                first_seen.len(),
                all.len()
                    .div_ceil(keys)
                    .min((0..all.len()).filter(|n| n % keys == k).count())
            );
        }
    }
}

// -- 7, 8, 9: DynamoDB images survive exactly

fn dynamodb_record(keys: &str, new_image: &str) -> RecordsEvent {
    let text = format!(
        r#"{{"Records":[{{"eventID":"1","eventName":"INSERT","eventVersion":"1.1","eventSource":"aws:dynamodb","awsRegion":"us-west-2",
        "dynamodb":{{"ApproximateCreationDateTime":1545084650,"Keys":{keys},"NewImage":{new_image},"SequenceNumber":"111","SizeBytes":26,"StreamViewType":"NEW_AND_OLD_IMAGES"}},
        "eventSourceARN":"arn:aws:dynamodb:us-west-2:123456789012:table/entities/stream/1"}}]}}"#
    );
    RecordsEvent::from_slice(text.as_bytes()).expect("a Lambda event")
}

async fn decode_dynamodb(event: RecordsEvent) -> lambda_stream::Report<impl std::fmt::Debug> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    StreamHandler::with_config(DynamoDbSource::new(), Config::default())
        .pipeline(
            Pipeline::new("p")
                .tap(move |uow| s.lock().expect("lock").push(uow.event.to_json()))
                .delivered(),
        )
        .faults_to(Arc::new(InMemoryPublisher::new()))
        .process(event, Invocation::local())
        .await
}

#[tokio::test]
async fn dynamodb_binary_attributes_and_binary_keys_decode() {
    let event = dynamodb_record(
        r#"{"pk":{"B":"AAECAw=="}}"#,
        r#"{"pk":{"B":"AAECAw=="},"discriminator":{"S":"thing"},"photo":{"B":"iVBORw0KGgo="},"thumbs":{"BS":["AA==","AQ=="]}}"#,
    );
    let source = DynamoDbSource::new();
    let record = event.records().get(0).expect("one record");
    let decoded = lambda_stream::Source::envelope(&source, record).expect("decodes");
    assert_eq!(decoded.partition_key(), Some("AAECAw=="));
    let raw = decoded.raw_json().expect("raw");
    assert_eq!(
        raw,
        r#"{"new":{"pk":"AAECAw==","discriminator":"thing","photo":"iVBORw0KGgo=","thumbs":["AA==","AQ=="]}}"#
    );
    let report = decode_dynamodb(event).await;
    assert_eq!(report.records[0].pipelines[0], RecordState::Delivered);
}

#[tokio::test]
async fn dynamodb_numbers_keep_every_digit_and_attribute_order_is_kept() {
    let event = dynamodb_record(
        r#"{"pk":{"S":"t1"}}"#,
        r#"{"pk":{"S":"t1"},"zeta":{"N":"123456789012345678901234567890"},"discriminator":{"S":"thing"},"alpha":{"N":"1e400"},"price":{"N":"19.90"},"counts":{"NS":["1","99999999999999999999"]}}"#,
    );
    let record = event.records().get(0).expect("one record");
    let decoded = lambda_stream::Source::envelope(&DynamoDbSource::new(), record).expect("decodes");
    assert_eq!(
        decoded.raw_json(),
        Some(
            r#"{"new":{"pk":"t1","zeta":123456789012345678901234567890,"discriminator":"thing","alpha":1e400,"price":19.90,"counts":[1,99999999999999999999]}}"#
        )
    );
    // And in the event as published.
    assert!(
        decoded
            .to_json()
            .contains(r#""zeta":123456789012345678901234567890"#)
    );
}

#[tokio::test]
async fn a_dynamodb_number_that_is_not_one_is_a_decode_error_not_null() {
    let event = dynamodb_record(
        r#"{"pk":{"S":"t1"}}"#,
        r#"{"pk":{"S":"t1"},"discriminator":{"S":"thing"},"n":{"N":"12,5"}}"#,
    );
    let report = decode_dynamodb(event).await;
    let reason = report.records[0]
        .decode_error
        .clone()
        .expect("a decode error");
    assert!(reason.contains("`n`"), "{reason}");
}

// -- 10: tags and eem fail closed

#[tokio::test]
async fn tags_that_are_not_valid_tags_are_a_decode_error_not_empty_tags() {
    for tags in [r#"{"n":1e400}"#, r#"{"s":"\uD800"}"#] {
        let body = format!(r#"{{"id":"e1","type":"thing-created","timestamp":1,"tags":{tags}}}"#);
        let report = StreamHandler::with_config(SqsSource::new(), Config::default())
            .pipeline(Pipeline::new("p").delivered())
            .faults_to(Arc::new(InMemoryPublisher::new()))
            .process(sqs_bodies_event(&[body]), Invocation::local())
            .await;
        let reason = report.records[0].decode_error.clone();
        assert!(
            reason.as_deref().is_some_and(|r| r.contains("tags")),
            "{tags}: {reason:?}"
        );
    }
}

#[test]
fn an_eem_that_cannot_be_read_is_a_decode_error_and_redaction_fails_closed() {
    for eem in [
        r#""fields""#,
        r#"{"fields":"ssn"}"#,
        r#"{"fields":[1]}"#,
        "[]",
    ] {
        let text = format!(r#"{{"id":"e1","type":"t","timestamp":1,"ssn":"123","eem":{eem}}}"#);
        let error = Envelope::parse(&text).expect_err(eem);
        assert!(error.to_string().contains("eem"), "{eem}: {error}");
    }
    let ok = Envelope::parse(
        r#"{"id":"e1","type":"t","timestamp":1,"eem":{"dek":"k","fields":["ssn"]}}"#,
    );
    assert!(ok.is_ok());
}

// -- 11: nothing lost when nothing runs

#[tokio::test]
async fn with_every_pipeline_disabled_and_no_fault_publisher_an_undecodable_record_is_retried() {
    let config = Config {
        disabled_pipelines: ["p".to_string()].into_iter().collect(),
        ..Config::default()
    };
    let handler = StreamHandler::with_config(SqsSource::new(), config)
        .pipeline(Pipeline::new("p").delivered());
    assert!(handler.pipeline_names().is_empty());
    let report = handler
        .process(
            sqs_bodies_event(&["not json".to_string()]),
            Invocation::local(),
        )
        .await;
    let response = report.response.expect("a response");
    assert_eq!(response.batch_item_failures.len(), 1);
    assert!(report.records[0].retry);
}

#[tokio::test]
async fn a_retried_dynamodb_record_without_a_sequence_number_retries_the_whole_batch() {
    let text = r#"{"Records":[
        {"eventID":"1","eventName":"BOGUS","dynamodb":{"SequenceNumber":"111","Keys":{"pk":{"S":"a"}}}},
        {"eventID":"2","eventName":"BOGUS","dynamodb":{"Keys":{"pk":{"S":"b"}}}}]}"#;
    let event = RecordsEvent::from_slice(text.as_bytes()).expect("event");
    let report = StreamHandler::with_config(DynamoDbSource::new(), Config::default())
        .on_decode_failure(FailureMode::Retry)
        .pipeline(Pipeline::new("p").delivered())
        .process(event, Invocation::local())
        .await;
    assert!(report.records.iter().all(|r| r.retry));
    assert!(matches!(
        report.response,
        Err(HandlerError::RetryInvocation { records: 2 })
    ));
}

// -- 15: Debug never shows what faults redact

#[test]
fn debug_of_an_envelope_and_a_unit_redacts_encrypted_fields() {
    let event = Envelope::parse(
        r#"{"id":"e1","type":"t","timestamp":1,"customer":{"name":"n","ssn":"123-45-6789"},"eem":{"fields":["ssn"]}}"#,
    )
    .expect("valid");
    let shown = format!("{event:?}");
    assert!(!shown.contains("123-45-6789"), "{shown}");
    assert!(shown.contains("[REDACTED]"));
    let uow = testing::uow(event).with_value("decrypted 123-45-6789".to_string());
    let shown = format!("{uow:?}");
    assert!(!shown.contains("123-45-6789"), "{shown}");
}

// -- 17: claim checks redeemed once per record, concurrently

#[tokio::test]
async fn claim_checks_are_redeemed_once_per_record_and_concurrently() {
    struct Store {
        fetches: AtomicUsize,
        both_in_flight: tokio::sync::Barrier,
    }
    impl Redeemer for Store {
        fn fetch<'a>(
            &'a self,
            pointer: &'a S3Pointer,
        ) -> BoxFuture<'a, Result<Vec<u8>, StepError>> {
            async move {
                let n = self.fetches.fetch_add(1, Ordering::SeqCst);
                if n < 2 {
                    // Only finishes when two fetches run at once.
                    self.both_in_flight.wait().await;
                }
                let id = pointer.key.clone();
                Ok(event_with_blob(id.parse().unwrap_or(0), "stored")
                    .to_json()
                    .into_bytes())
            }
            .boxed()
        }
    }
    let store = Arc::new(Store {
        fetches: AtomicUsize::new(0),
        both_in_flight: tokio::sync::Barrier::new(2),
    });
    let pointers: Vec<String> = (0..5)
        .map(|n| {
            format!(
                r#"{{"id":"e{n}","type":"thing-created","timestamp":1,"s3":{{"bucket":"b","key":"{n}"}}}}"#
            )
        })
        .collect();
    let seen = Arc::new(AtomicUsize::new(0));
    let s = Arc::clone(&seen);
    let handler = StreamHandler::with_config(SqsSource::new(), Config::default())
        .redeem_claim_checks(store.clone())
        .pipeline(Pipeline::new("a").delivered())
        .pipeline(
            Pipeline::new("b")
                .tap(move |uow| {
                    let blob: Value = uow.event.field("thing").unwrap_or(Value::Null);
                    if blob["blob"] == "stored" {
                        s.fetch_add(1, Ordering::SeqCst);
                    }
                })
                .delivered(),
        );
    let report = tokio::time::timeout(
        Duration::from_secs(10),
        handler.process(sqs_bodies_event(&pointers), Invocation::local()),
    )
    .await
    .expect("fetches ran concurrently");
    assert_eq!(report.summary.pipelines[0].delivered, 5);
    assert_eq!(
        seen.load(Ordering::SeqCst),
        5,
        "every unit got the stored event"
    );
    assert_eq!(store.fetches.load(Ordering::SeqCst), 5, "once per record");
}

// -- 19: decode faults carry a stack

#[tokio::test]
async fn decode_faults_carry_a_stack() {
    let faults = Arc::new(InMemoryPublisher::new());
    StreamHandler::with_config(SqsSource::new(), Config::default())
        .pipeline(Pipeline::new("p").delivered())
        .faults_to(faults.clone())
        .process(
            sqs_bodies_event(&["not json".to_string()]),
            Invocation::local(),
        )
        .await;
    let err: Value = faults.envelopes()[0].field("err").expect("err");
    let stack = err["stack"].as_str().unwrap_or("");
    assert!(stack.starts_with("DecodeError: "), "{stack}");
}

// -- 9: EventBridge detail kept as sent

#[test]
fn an_eventbridge_detail_is_kept_as_sent_key_order_and_large_numbers_included() {
    let detail = r#"{"type":"thing-created","id":"e1","timestamp":1,"zeta":123456789012345678901234567890,"alpha":{"b":1.10,"a":2}}"#;
    let text = format!(
        r#"{{"version":"0","id":"x","detail-type":"thing-created","source":"custom","account":"1","time":"2019-01-02T12:45:07Z","region":"us-west-2","resources":[],"detail":{detail}}}"#
    );
    let event = lambda_stream::SingleEvent::from_slice(text.as_bytes()).expect("event");
    let source = lambda_stream::EventBridgeSource::new();
    let records = lambda_stream::Source::records(&source, event);
    let record = records.get(0).expect("one record");
    let decoded = lambda_stream::Source::envelope(&source, record).expect("decodes");
    assert_eq!(decoded.to_json(), detail);
}

// -- 2: a step of one's own that panics outside any unit

#[tokio::test]
async fn a_step_whose_stream_panics_stops_its_pipeline_alone() {
    use futures::StreamExt;
    let builds_badly = Pipeline::new("builds-badly")
        .step(
            |_flow: lambda_stream::Flow<()>| -> lambda_stream::Flow<()> {
                panic!("the step could not build its stream")
            },
        )
        .delivered();
    let polls_badly = Pipeline::new("polls-badly")
        .step(|flow| {
            flow.map(|item| {
                let uow = item?;
                assert!(uow.event.id() != "e2", "the stream panicked");
                Ok(uow)
            })
            .boxed()
        })
        .delivered();
    let faults = Arc::new(InMemoryPublisher::new());
    let report = StreamHandler::with_config(SqsSource::new(), Config::default())
        .pipeline(builds_badly)
        .pipeline(polls_badly)
        .pipeline(Pipeline::new("healthy").delivered())
        .faults_to(faults.clone())
        .process(testing::sqs_event(&events(4)), Invocation::local())
        .await;
    assert!(report.response.is_ok());
    // Nothing entered the first: every record is retried there.
    assert_eq!(states(&report, 0), vec![RecordState::Retry; 4]);
    // The second delivered what it settled before the panic; the rest comes again.
    let second = states(&report, 1);
    assert_eq!(
        &second[..2],
        &[RecordState::Delivered, RecordState::Delivered]
    );
    assert!(
        second[2..]
            .iter()
            .all(|s| matches!(s, RecordState::Retry | RecordState::Fault))
    );
    assert_eq!(states(&report, 2), vec![RecordState::Delivered; 4]);
}
