//! The fast path end to end: records read as Lambda sent them (the Node library's own test
//! events included), fault records byte for byte, replays, records no pipeline wants left
//! unread past their type, and steps of one's own.

use std::sync::Arc;

use futures::StreamExt;
use lambda_stream::testing;
use lambda_stream::{
    Config, Envelope, InMemoryPublisher, Invocation, KinesisSource, Pipeline, RecordState,
    RecordsEvent, Settled, SqsSource, StepError, StreamHandler,
};
use serde_json::Value;

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).expect("fixture exists")
}

fn event(text: &str) -> RecordsEvent {
    RecordsEvent::from_slice(text.as_bytes()).expect("a Lambda event")
}

/// Maps `thing-*` events to a shared event and publishes them.
fn share(bus: Arc<InMemoryPublisher>) -> Pipeline<lambda_stream::Delivered> {
    Pipeline::new("share")
        .on_type("thing-*")
        .map(|uow| {
            let thing: Value = uow.event.entity()?;
            Envelope::builder("thing-shared")
                .id(uow.event.id())
                .partition_key(uow.partition_key())
                .entity("thing", &serde_json::json!({ "name": thing["name"] }))
                .build()
                .map_err(StepError::from)
        })
        .publish(bus, 1)
}

/// Runs `share` over an event with `source`; returns each record's state, after checking that
/// nothing faulted and nothing is to be retried.
async fn share_states<S>(source: S, text: &str, bus: Arc<InMemoryPublisher>) -> Vec<RecordState>
where
    S: lambda_stream::Source<Event = RecordsEvent>,
{
    let faults = Arc::new(InMemoryPublisher::new());
    let handler = StreamHandler::with_config(source, Config::default())
        .pipeline(share(bus).delivered())
        .faults_to(faults.clone());
    let report = handler.process(event(text), Invocation::local()).await;
    let response = serde_json::to_value(report.response.expect("a response")).expect("json");
    assert_eq!(response["batchItemFailures"], serde_json::json!([]));
    assert!(faults.published().is_empty());
    report.records.iter().map(|r| r.pipelines[0]).collect()
}

#[tokio::test]
async fn the_node_librarys_kinesis_and_sqs_test_events_are_processed_whole() {
    for sqs in [false, true] {
        let bus = Arc::new(InMemoryPublisher::new());
        let states = if sqs {
            let text = fixture("node-to-sqs-event-records.json");
            share_states(SqsSource::new(), &text, bus.clone()).await
        } else {
            let text = fixture("node-to-kinesis-records.json");
            share_states(KinesisSource::new(), &text, bus.clone()).await
        };
        assert_eq!(states, vec![RecordState::Delivered, RecordState::Filtered]);
        let shared = bus.envelopes();
        assert_eq!(shared[0].id(), "n1");
        assert_eq!(shared[0].partition_key(), Some("t1"));
        assert_eq!(
            shared[0].entity::<Value>().expect("thing")["name"],
            "Thing One"
        );
    }
}

/// A Kinesis event as Lambda might write it: spacing, field order, a long fractional arrival
/// time and a field no SDK knows.
fn odd_kinesis_event(payloads: &[&str]) -> String {
    use base64::Engine;
    let records: Vec<String> = payloads
        .iter()
        .enumerate()
        .map(|(i, payload)| {
            let data = base64::engine::general_purpose::STANDARD.encode(payload);
            format!(
                r#"{{ "eventID" : "shardId-000000000007:{i}0", "kinesis": {{"data":"{data}", "sequenceNumber":"{i}0","partitionKey":"k{i}","approximateArrivalTimestamp":1545084650.98700001,"encryptionType":null}}, "futureField": {{"a":[1, 2.50]}}, "eventSource":"aws:kinesis" }}"#
            )
        })
        .collect();
    format!(r#"{{"Records": [{}], "extra": true}}"#, records.join(" , "))
}

#[tokio::test]
async fn fault_events_carry_each_record_byte_for_byte_and_replay() {
    let payload = r#"{"id":"e1","type":"thing-created","timestamp":1,"thing":{"name":"bad"}}"#;
    let text = odd_kinesis_event(&[payload]);
    let faults = Arc::new(InMemoryPublisher::new());
    let failing = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(
            Pipeline::new("p")
                .on_type("thing-*")
                .map(|_| Err::<(), _>(StepError::permanent("refused")))
                .delivered(),
        )
        .faults_to(faults.clone());
    let report = failing.process(event(&text), Invocation::local()).await;
    assert_eq!(report.records[0].pipelines[0], RecordState::Fault);

    let fault = &faults.envelopes()[0];
    let uow = fault.field_json("uow").expect("uow");
    let record_start = text.find("{ \"eventID\"").expect("the record");
    let record_end = text.rfind(" }").expect("its end") + 2;
    let as_sent = &text[record_start..record_end];
    assert!(
        uow.contains(&format!(r#""record":{as_sent}"#)),
        "the fault's record is not the record as sent:\n{uow}\nvs\n{as_sent}"
    );

    // Resubmitted as it was faulted, it decodes and goes through once the cause is fixed.
    let record: Value = serde_json::from_str::<Value>(uow).expect("json")["record"].clone();
    let replay = format!(r#"{{"Records":[{record}]}}"#);
    let bus = Arc::new(InMemoryPublisher::new());
    let fixed = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(share(bus.clone()).delivered());
    let report = fixed.process(event(&replay), Invocation::local()).await;
    assert_eq!(report.records[0].pipelines[0], RecordState::Delivered);
    assert_eq!(bus.envelopes()[0].id(), "e1");
}

#[tokio::test]
async fn records_no_pipeline_wants_are_not_read_past_their_type() {
    // The type comes first and is not wanted; the rest of the JSON is broken.
    let unwanted = r#"{"id":"o1","type":"order-placed","timestamp":1,"order":{"total":"#;
    let wanted_but_broken = r#"{"id":"t1","type":"thing-created","timestamp":1,"thing":{"n":"#;
    let fine = r#"{"id":"t2","type":"thing-created","timestamp":1,"thing":{"name":"x"}}"#;
    let text = odd_kinesis_event(&[unwanted, wanted_but_broken, fine]);

    let faults = Arc::new(InMemoryPublisher::new());
    let bus = Arc::new(InMemoryPublisher::new());
    let typed = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(share(bus.clone()).delivered())
        .faults_to(faults.clone());
    let report = typed.process(event(&text), Invocation::local()).await;
    let states: Vec<RecordState> = report.records.iter().map(|r| r.pipelines[0]).collect();
    assert_eq!(
        states,
        vec![
            RecordState::Filtered,
            RecordState::Fault,
            RecordState::Delivered
        ]
    );
    assert!(
        report.records[0].decode_error.is_none(),
        "never read past its type"
    );
    assert!(
        report.records[1]
            .decode_error
            .as_deref()
            .is_some_and(|e| e.contains("not a JSON event envelope")),
        "{:?}",
        report.records[1]
    );
    assert_eq!(report.summary.undecodable, 1);

    // A pipeline that reads every event (no leading type filter) reads them all.
    let all = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(Pipeline::new("all").filter(|_| true).delivered())
        .faults_to(Arc::new(InMemoryPublisher::new()));
    let report = all.process(event(&text), Invocation::local()).await;
    let states: Vec<RecordState> = report.records.iter().map(|r| r.pipelines[0]).collect();
    assert_eq!(
        states,
        vec![
            RecordState::Fault,
            RecordState::Fault,
            RecordState::Delivered
        ]
    );

    // A type filter after another step is an ordinary step: it sees decoded events only.
    let late = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(
            Pipeline::new("late")
                .filter(|_| true)
                .on_type("thing-*")
                .delivered(),
        )
        .faults_to(Arc::new(InMemoryPublisher::new()));
    let report = late.process(event(&text), Invocation::local()).await;
    assert_eq!(report.records[0].pipelines[0], RecordState::Fault);
}

#[tokio::test]
async fn steps_of_ones_own_settle_units_and_lost_units_are_retried() {
    let events: Vec<Envelope> = (0..4)
        .map(|i| {
            Envelope::builder("thing-created")
                .id(format!("e{i}"))
                .timestamp(1)
                .partition_key(format!("k{}", i % 2))
                .build()
                .expect("valid")
        })
        .collect();
    let faults = Arc::new(InMemoryPublisher::new());
    // Fails e0, filters e1, keeps the rest.
    let own = Pipeline::new("own").step(|flow| {
        flow.map(|item| {
            let uow = item?;
            match uow.event.id() {
                "e0" => Err(Settled::fail(uow, StepError::permanent("e0 is refused"))),
                "e1" => Err(Settled::filter_out(uow)),
                _ => Ok(uow),
            }
        })
        .boxed()
    });
    // Drops every unit without settling it: a bug in a step, which must not lose records.
    let lossy =
        Pipeline::new("lossy").step(|flow| flow.filter(|_| futures::future::ready(false)).boxed());
    let handler = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(own.delivered())
        .pipeline(lossy.delivered())
        .faults_to(faults.clone());
    let report = handler
        .process(testing::kinesis_event(&events), Invocation::local())
        .await;
    let own_states: Vec<RecordState> = report.records.iter().map(|r| r.pipelines[0]).collect();
    assert_eq!(
        own_states,
        vec![
            RecordState::Fault,
            RecordState::Filtered,
            RecordState::Delivered,
            RecordState::Delivered
        ]
    );
    assert!(
        report
            .records
            .iter()
            .all(|r| r.pipelines[1] == RecordState::Retry)
    );
    assert_eq!(report.summary.pipelines[1].retries, 4);
    let response = report.response.expect("a response");
    assert_eq!(
        response.batch_item_failures.len(),
        1,
        "the lowest sequence number"
    );
    // e0 failed for good in `own` but is retried by `lossy`: no fault event this time (it
    // faults on the delivery where nothing retries it, once).
    assert!(faults.published().is_empty());
}
