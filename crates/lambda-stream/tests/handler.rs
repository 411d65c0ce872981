//! The handler: several pipelines, skip tags, decode failures, fault publishing and its
//! failures, pipeline toggles, and both partial batch responses end to end.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use lambda_stream::encryption::{Encryption, Keyring};
use lambda_stream::testing::{self, InMemoryDataKeys};
use lambda_stream::{
    Config, DynamoDbSource, Envelope, FailureMode, HandlerError, InMemoryPublisher, Invocation,
    KinesisSource, Pipeline, RawRecord, RawSource, RecordState, SqsSource, StepError,
    StreamHandler,
};
use serde_json::{Value, json};

fn event(n: usize, event_type: &str) -> Envelope {
    Envelope::builder(event_type)
        .id(format!("e{n}"))
        .timestamp(1_000)
        .partition_key(format!("k{n}"))
        .entity("thing", &json!({"n": n}))
        .build()
        .expect("valid")
}

fn config(vars: &[(&str, &str)]) -> Config {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    Config::from_lookup(|name| map.get(name).cloned())
}

#[tokio::test(start_paused = true)]
async fn every_unit_flows_through_every_pipeline_concurrently() {
    // Each unit of pipeline `a` waits for the same unit of pipeline `b`, and the other way
    // round: this only finishes if the pipelines run at the same time. (Time is paused, so
    // the timeout fires at once if they do not.)
    let barriers: Arc<Vec<tokio::sync::Barrier>> =
        Arc::new((0..2).map(|_| tokio::sync::Barrier::new(2)).collect());
    let meet = |name: &str| {
        let barriers = Arc::clone(&barriers);
        Pipeline::new(name).then(1, move |uow| {
            let barriers = Arc::clone(&barriers);
            async move {
                let n: usize = uow.event.id().trim_start_matches('e').parse().unwrap_or(0);
                barriers[n].wait().await;
                Ok(())
            }
        })
    };
    let handler = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(meet("a").delivered())
        .pipeline(meet("b").delivered())
        .pipeline(Pipeline::new("things").on_type("thing-*").delivered())
        .faults_to(Arc::new(InMemoryPublisher::new()));
    let events = vec![event(0, "thing-created"), event(1, "order-placed")];
    let report = tokio::time::timeout(
        Duration::from_secs(60),
        handler.process(testing::kinesis_event(&events), Invocation::local()),
    )
    .await
    .expect("the pipelines ran concurrently");
    let names: Vec<_> = report
        .summary
        .pipelines
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, vec!["a", "b", "things"]);
    assert_eq!(report.summary.pipelines[0].delivered, 2);
    assert_eq!(report.summary.pipelines[1].delivered, 2);
    assert_eq!(report.summary.pipelines[2].delivered, 1);
    assert_eq!(report.summary.pipelines[2].filtered, 1);
    for p in &report.summary.pipelines {
        assert_eq!(
            p.total(),
            2,
            "every record in exactly one state per pipeline"
        );
    }
}

#[tokio::test]
async fn pipelines_are_toggled_by_environment() {
    let handler = StreamHandler::with_config(
        KinesisSource::new(),
        config(&[("ENABLED_PIPELINES", "a,b"), ("DISABLED_PIPELINES", "b")]),
    )
    .pipeline(Pipeline::new("a").delivered())
    .pipeline(Pipeline::new("b").delivered())
    .pipeline(Pipeline::new("c").delivered());
    assert_eq!(handler.pipeline_names(), vec!["a"]);
}

#[tokio::test]
async fn skipped_test_events_are_dropped_unless_included() {
    let mut skipped = event(1, "thing-created");
    skipped.tags_mut().insert("skip", true);
    let events = vec![event(0, "thing-created"), skipped];
    let handler = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(Pipeline::new("p").delivered());
    let report = handler
        .process(testing::kinesis_event(&events), Invocation::local())
        .await;
    assert_eq!(report.summary.skipped, 1);
    assert!(report.records[1].skipped);
    assert_eq!(report.records[1].pipelines[0], RecordState::Filtered);
    assert_eq!(report.summary.pipelines[0].delivered, 1);

    let handler = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .include_skipped()
        .pipeline(Pipeline::new("p").delivered());
    let report = handler
        .process(testing::kinesis_event(&events), Invocation::local())
        .await;
    assert_eq!(report.summary.pipelines[0].delivered, 2);
}

#[tokio::test]
async fn undecodable_records_become_faults_or_retries_and_the_rest_goes_on() {
    let good = event(0, "thing-created").to_json().into_bytes();
    let payloads = vec![
        ("k".to_string(), good.clone()),
        ("k".to_string(), b"garbage".to_vec()),
        ("k".to_string(), good),
    ];
    let faults = Arc::new(InMemoryPublisher::new());
    let handler = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(Pipeline::new("p1").delivered())
        .pipeline(Pipeline::new("p2").delivered())
        .faults_to(faults.clone());
    let report = handler
        .process(
            testing::kinesis_event_from_payloads(&payloads),
            Invocation::local(),
        )
        .await;
    assert_eq!(report.summary.undecodable, 1);
    assert!(
        report.records[1]
            .decode_error
            .as_deref()
            .unwrap_or_default()
            .contains("not a JSON")
    );
    assert_eq!(
        report.records[1].pipelines,
        vec![RecordState::Fault, RecordState::Fault]
    );
    assert_eq!(report.summary.pipelines[0].delivered, 2);
    // One fault for the record, carrying it verbatim for resubmission.
    let published = faults.envelopes();
    assert_eq!(published.len(), 1);
    let uow: Value = published[0].field("uow").expect("uow");
    assert_eq!(uow["pipeline"], "decode");
    assert_eq!(uow["record"]["kinesis"]["data"], "Z2FyYmFnZQ==");
    assert!(report.response.expect("ok").batch_item_failures.is_empty());

    let handler = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .on_decode_failure(FailureMode::Retry)
        .pipeline(Pipeline::new("p1").delivered())
        .faults_to(faults.clone());
    faults.clear();
    let report = handler
        .process(
            testing::kinesis_event_from_payloads(&payloads),
            Invocation::local(),
        )
        .await;
    assert!(faults.published().is_empty());
    let response = report.response.expect("ok");
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(
        response.batch_item_failures[0].item_identifier.as_deref(),
        Some(testing::sequence_number(2).as_str())
    );
}

#[tokio::test]
async fn a_failed_fault_publish_retries_the_record_instead_of_failing_the_batch() {
    let faults = Arc::new(InMemoryPublisher::new().failing(|| StepError::new("bus down")));
    let handler = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(
            Pipeline::new("p")
                .map(|uow| {
                    if uow.event.id() == "e1" {
                        Err(StepError::new("boom"))
                    } else {
                        Ok(())
                    }
                })
                .delivered(),
        )
        .faults_to(faults);
    let events: Vec<_> = (0..3).map(|n| event(n, "thing-created")).collect();
    let report = handler
        .process(testing::kinesis_event(&events), Invocation::local())
        .await;
    let response = report
        .response
        .expect("a partial response, not a failed invocation");
    assert_eq!(
        response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect::<Vec<_>>(),
        vec![Some(testing::sequence_number(2))]
    );
    assert!(report.faults.is_empty());
    assert_eq!(report.summary.faults_unpublished, 1);
    assert_eq!(report.summary.faults_published, 0);
    assert_eq!(
        report.records.iter().map(|r| r.retry).collect::<Vec<_>>(),
        vec![false, true, false]
    );
}

#[tokio::test]
async fn a_partially_rejected_fault_publish_retries_only_the_rejected_faults_records() {
    let faults = Arc::new(InMemoryPublisher::new().rejecting(|e| {
        e.json()
            .contains(r#""id":"e1""#)
            .then(|| StepError::new("rejected"))
    }));
    let handler = StreamHandler::with_config(SqsSource::new(), Config::default())
        .pipeline(
            Pipeline::new("p")
                .map(|_| Err::<(), _>(StepError::new("boom")))
                .delivered(),
        )
        .faults_to(faults.clone());
    let events: Vec<_> = (0..3).map(|n| event(n, "thing-created")).collect();
    let report = handler
        .process(testing::sqs_event(&events), Invocation::local())
        .await;
    let response = report.response.expect("a partial response");
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(faults.published().len(), 2);
    assert_eq!(report.summary.faults_published, 2);
    assert_eq!(report.summary.faults_unpublished, 1);
    assert_eq!(
        report.records.iter().map(|r| r.retry).collect::<Vec<_>>(),
        vec![false, true, false]
    );
}

#[tokio::test]
async fn faults_are_published_in_batches_within_limits() {
    let faults = Arc::new(InMemoryPublisher::new());
    let handler = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(
            Pipeline::new("p")
                .map(|_| Err::<(), _>(StepError::new("boom")))
                .delivered(),
        )
        .faults_to(faults.clone());
    let events: Vec<_> = (0..23).map(|n| event(n, "thing-created")).collect();
    let report = handler
        .process(testing::kinesis_event(&events), Invocation::local())
        .await;
    assert_eq!(report.summary.faults_published, 23);
    assert_eq!(faults.request_sizes(), vec![10, 10, 3]);
}

#[tokio::test]
async fn without_a_fault_publisher_failures_are_retried_not_lost() {
    let handler = StreamHandler::with_config(SqsSource::new(), Config::default()).pipeline(
        Pipeline::new("p")
            .filter(|uow| uow.event.id() != "e2")
            .map(|uow| {
                if uow.event.id() == "e1" {
                    Err(StepError::new("boom"))
                } else {
                    Ok(())
                }
            })
            .delivered(),
    );
    let events: Vec<_> = (0..3).map(|n| event(n, "thing-created")).collect();
    let report = handler
        .process(testing::sqs_event(&events), Invocation::local())
        .await;
    assert!(report.faults.is_empty());
    assert_eq!(report.records[1].pipelines[0], RecordState::Retry);
    let response = report.response.expect("ok");
    let ids: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(ids, vec!["059f36b4-87a3-44ab-83d2-661975830a01"]);
}

#[tokio::test]
async fn a_record_retried_by_one_pipeline_is_retried_and_not_faulted_there() {
    let faults = Arc::new(InMemoryPublisher::new());
    let handler = StreamHandler::with_config(SqsSource::new(), Config::default())
        .pipeline(Pipeline::new("ok").delivered())
        .pipeline(
            Pipeline::new("flaky")
                .map(|_| Err::<(), _>(StepError::retryable("timeout")))
                .delivered(),
        )
        .faults_to(faults.clone());
    let report = handler
        .process(
            testing::sqs_event(&[event(0, "thing-created")]),
            Invocation::local(),
        )
        .await;
    assert_eq!(
        report.records[0].pipelines,
        vec![RecordState::Delivered, RecordState::Retry]
    );
    assert!(report.records[0].retry);
    assert!(faults.published().is_empty());
    assert_eq!(report.response.expect("ok").batch_item_failures.len(), 1);
}

#[tokio::test]
async fn fault_events_carry_tags_error_and_the_redacted_event() {
    let faults = Arc::new(InMemoryPublisher::new());
    let keyring = Arc::new(Keyring::new(Arc::new(InMemoryDataKeys::new("us-east-1"))));
    let handler = StreamHandler::with_config(
        KinesisSource::new(),
        config(&[("AWS_LAMBDA_FUNCTION_NAME", "egress-fn"), ("STAGE", "dev")]),
    )
    .pipeline(
        Pipeline::new("p")
            .map(|_| Err::<(), _>(StepError::new("boom").with_name("SendError")))
            .delivered(),
    )
    .decrypt_with(Arc::clone(&keyring))
    .faults_to(faults.clone());
    let mut plain = event(0, "thing-created");
    plain
        .set_field("card", &json!({"number": "4111"}))
        .expect("ok");
    let secret = Encryption::new("alias/eem", ["number"])
        .encrypt_event(&plain, &keyring)
        .await
        .expect("encrypts");
    handler
        .handle(testing::kinesis_event(&[secret]))
        .await
        .expect("ok");
    let fault = &faults.envelopes()[0];
    assert_eq!(fault.event_type(), "fault");
    assert_eq!(fault.tags().get_str("functionname"), Some("egress-fn"));
    assert_eq!(fault.tags().get_str("stage"), Some("dev"));
    assert_eq!(fault.tags().get_str("pipeline"), Some("p"));
    let err: Value = fault.field("err").expect("err");
    assert_eq!(err["name"], "SendError");
    assert!(
        err["stack"]
            .as_str()
            .unwrap_or_default()
            .contains("at step map")
    );
    let uow: Value = fault.field("uow").expect("uow");
    assert_eq!(uow["event"]["card"]["number"], "[REDACTED]");
    assert!(
        !fault.to_json().contains("4111"),
        "no plaintext in the fault"
    );
    // The record itself is verbatim (its data is the base64 of the original, unredacted).
    assert!(uow["record"]["kinesis"]["data"].is_string());
    assert_eq!(uow["record"]["eventSource"], "aws:kinesis");
}

#[tokio::test]
async fn dynamodb_trigger_end_to_end() {
    let changes = vec![lambda_stream::testing::Change::new(
        "INSERT",
        json!({"pk": "o1", "sk": "order"}),
        Some(json!({"pk": "o1", "sk": "order", "discriminator": "order", "total": 10})),
        None,
    )];
    let publisher = Arc::new(InMemoryPublisher::new());
    let handler = StreamHandler::with_config(DynamoDbSource::new(), Config::default())
        .pipeline(
            Pipeline::new("trigger")
                .on_type("order-created")
                .map(|uow| {
                    let raw: Value = uow.event.raw_as()?;
                    Envelope::builder("order-placed")
                        .id(uow.event.id())
                        .partition_key(uow.partition_key())
                        .entity("order", &raw["new"])
                        .build()
                        .map_err(StepError::from)
                })
                .publish(publisher.clone(), 1),
        )
        .faults_to(Arc::new(InMemoryPublisher::new()));
    let response = handler
        .handle(testing::dynamodb_event(&changes))
        .await
        .expect("ok");
    assert!(response.batch_item_failures.is_empty());
    let published = publisher.envelopes();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].event_type(), "order-placed");
    assert_eq!(published[0].partition_key(), Some("o1"));
    assert_eq!(published[0].entity::<Value>().expect("order")["total"], 10);
}

#[tokio::test]
async fn raw_source_retries_fail_the_call() {
    let handler = StreamHandler::with_config(RawSource::new(), Config::default()).pipeline(
        Pipeline::new("webhook")
            .map(|_| Err::<(), _>(StepError::retryable("bus throttled")))
            .delivered(),
    );
    let err = handler
        .handle(vec![RawRecord {
            id: "r".into(),
            timestamp: 1,
            body: "{}".into(),
        }])
        .await
        .expect_err("retry fails the call");
    assert!(matches!(err, HandlerError::RetryInvocation { records: 1 }));
}

#[tokio::test]
async fn the_handler_answers_a_lambda_json_event_like_the_runtime_would() {
    // The runtime deserializes the JSON payload into the source's event type.
    let json =
        serde_json::to_string(&testing::sqs_event(&[event(0, "thing-created")])).expect("json");
    let event = serde_json::from_str(&json).expect("event");
    let handler = StreamHandler::with_config(SqsSource::new(), Config::default()).pipeline(
        Pipeline::new("p")
            .on_failure(FailureMode::Retry)
            .map(|_| Err::<(), _>(StepError::new("x")))
            .delivered(),
    );
    let response = handler.handle(event).await.expect("ok");
    assert_eq!(
        serde_json::to_value(response).expect("json"),
        json!({"batchItemFailures": [{"itemIdentifier": "059f36b4-87a3-44ab-83d2-661975830a00"}]})
    );
}

/// Collects what a subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn one_structured_summary_line_per_invocation() {
    use lambda_stream::lambda_runtime::tracing::{Dispatch, dispatcher, subscriber};
    let captured = Captured::default();
    let writer = captured.clone();
    let json_logs = subscriber::fmt()
        .json()
        .with_writer(move || writer.clone())
        .finish();
    let _guard = dispatcher::set_default(&Dispatch::new(json_logs));
    // Tests on other threads run without a subscriber; a callsite they reached first may
    // have been cached as never interesting. Ask again now that this thread has one.
    lambda_stream::lambda_runtime::tracing::callsite::rebuild_interest_cache();

    let handler = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(Pipeline::new("things").on_type("thing-*").delivered())
        .faults_to(Arc::new(InMemoryPublisher::new()));
    let events = vec![event(0, "thing-created"), event(1, "order-placed")];
    handler
        .handle(testing::kinesis_event(&events))
        .await
        .expect("ok");

    let text = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf8");
    let summaries: Vec<Value> = text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["fields"]["message"] == "invocation summary")
        .collect();
    assert_eq!(summaries.len(), 1, "{text}");
    let summary: Value = serde_json::from_str(
        summaries[0]["fields"]["summary"]
            .as_str()
            .expect("summary field"),
    )
    .expect("summary is JSON");
    assert_eq!(summary["source"], "kinesis");
    assert_eq!(summary["records"], 2);
    assert_eq!(summary["pipelines"][0]["name"], "things");
    assert_eq!(summary["pipelines"][0]["delivered"], 1);
    assert_eq!(summary["pipelines"][0]["filtered"], 1);
    assert!(summary["duration_ms"].is_number());
}

#[tokio::test]
async fn the_handler_is_a_tower_service_of_lambda_events() {
    use lambda_stream::lambda_runtime::tower::ServiceExt;
    use lambda_stream::lambda_runtime::{Context, LambdaEvent};
    let service = StreamHandler::with_config(SqsSource::new(), Config::default())
        .pipeline(
            Pipeline::new("p")
                .on_failure(FailureMode::Retry)
                .map(|uow| match uow.event.id() {
                    "e1" => Err(StepError::new("x")),
                    _ => Ok(()),
                })
                .delivered(),
        )
        .into_service();
    let events = vec![event(0, "thing-created"), event(1, "thing-created")];
    let lambda_event = LambdaEvent::new(testing::sqs_event(&events), Context::default());
    let response = service.clone().oneshot(lambda_event).await.expect("ok");
    assert_eq!(
        response.batch_item_failures[0].item_identifier,
        "059f36b4-87a3-44ab-83d2-661975830a01"
    );
    assert_eq!(response.batch_item_failures.len(), 1);
}

/// Claim checks kept in memory: key → stored JSON; the key `down` is an unavailable store.
struct MemoryClaimChecks(std::collections::HashMap<String, String>);

impl lambda_stream::Redeemer for MemoryClaimChecks {
    fn fetch<'a>(
        &'a self,
        pointer: &'a lambda_stream::S3Pointer,
    ) -> futures::future::BoxFuture<'a, Result<Vec<u8>, StepError>> {
        Box::pin(async move {
            if pointer.key == "down" {
                return Err(StepError::retryable("SlowDown"));
            }
            self.0
                .get(&pointer.key)
                .map(|json| json.clone().into_bytes())
                .ok_or_else(|| StepError::permanent(format!("NoSuchKey: {}", pointer.key)))
        })
    }
}

#[tokio::test]
async fn claim_checked_events_are_redeemed_before_the_pipelines_see_them() {
    let big = Envelope::builder("thing-created")
        .id("big-1")
        .timestamp(1)
        .partition_key("t1")
        .entity("thing", &json!({"blob": "x".repeat(300 * 1024)}))
        .build()
        .expect("valid");
    let pointer = |key: &str| {
        // The stub carries the stored event's id and type (checked on redemption).
        let id = key.strip_suffix(".json").unwrap_or(key).to_string();
        let mut small = Envelope::builder("thing-created")
            .id(id)
            .timestamp(1)
            .partition_key("t1")
            .build()
            .expect("valid");
        small.set_s3(Some(lambda_stream::S3Pointer {
            bucket: "claims".into(),
            key: key.into(),
        }));
        small
    };
    let store = MemoryClaimChecks([("big-1.json".to_string(), big.to_json())].into());
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let faults = Arc::new(InMemoryPublisher::new());
    let handler = StreamHandler::with_config(SqsSource::new(), Config::default())
        .pipeline(
            Pipeline::new("p")
                .tap(move |uow| {
                    let blob: Value = uow.event.entity().unwrap_or(Value::Null);
                    seen2.lock().expect("lock").push((
                        uow.event.id().to_string(),
                        blob["blob"].as_str().map_or(0, str::len),
                    ));
                })
                .delivered(),
        )
        .redeem_claim_checks(Arc::new(store))
        .faults_to(faults.clone());
    let events = vec![
        pointer("big-1.json"),
        pointer("missing.json"),
        pointer("down"),
        event(3, "thing-created"),
    ];
    let report = handler
        .process(testing::sqs_event(&events), Invocation::local())
        .await;
    assert_eq!(
        *seen.lock().expect("lock"),
        vec![("big-1".to_string(), 300 * 1024), ("e3".to_string(), 0)]
    );
    let states: Vec<RecordState> = report.records.iter().map(|r| r.pipelines[0]).collect();
    assert_eq!(
        states,
        vec![
            RecordState::Delivered,
            RecordState::Fault,
            RecordState::Retry,
            RecordState::Delivered
        ]
    );
    let fault: Value = faults.envelopes()[0].field("err").expect("err");
    assert!(
        fault["message"]
            .as_str()
            .unwrap_or_default()
            .contains("NoSuchKey")
    );
}
