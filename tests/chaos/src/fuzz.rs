//! Fuzzing every source decoder and the envelope with the seeded mutator.
//!
//! A source target mutates records of a valid Lambda event (the payload as text or as JSON,
//! and the record's own fields), runs batches through a handler whose only pipeline delivers
//! everything, and checks: no panic escapes, no batch hangs, every record has an end, every
//! record that cannot be decoded is in a fault event byte for byte (or retried), nothing else
//! faults. The envelope target parses mutated envelopes and checks that every one that
//! parses answers its accessors and writes back to an envelope equal to it.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use fastrand::Rng;
use lambda_stream::testing::{self, Change};
use lambda_stream::{
    Config, DynamoDbSource, Envelope, EventBridgeSource, InMemoryPublisher, Invocation,
    KinesisSource, Pipeline, RecordState, RecordsEvent, SingleEvent, SnsSource, Source, SqsSource,
    StreamHandler,
};
use serde_json::{Value, json};

use crate::mutate::{mutate_text, mutate_value};
use crate::{FaultDoc, Violations};

/// What can be fuzzed.
pub const TARGETS: &[&str] = &[
    "kinesis",
    "sqs",
    "sns",
    "dynamodb",
    "eventbridge",
    "envelope",
];

/// Records per batch for the stream and queue sources.
const BATCH: usize = 64;

/// A batch that takes longer than this is a hang.
const HANG: Duration = Duration::from_secs(10);

/// What a fuzz run did.
#[derive(Debug, Default)]
pub struct FuzzReport {
    /// Inputs tried.
    pub inputs: usize,
    /// Inputs the decoder (or parser) refused with an error.
    pub refused: usize,
    /// Inputs decoded (or parsed).
    pub accepted: usize,
    /// What went wrong.
    pub violations: Violations,
    /// Wall time.
    pub elapsed: Duration,
}

/// Fuzzes `target` with `inputs` mutated inputs from `seed`.
pub fn run(target: &str, inputs: usize, seed: u64) -> Result<FuzzReport, String> {
    let started = Instant::now();
    let mut rng = Rng::with_seed(seed);
    let mut report = match target {
        "envelope" => envelope(&mut rng, inputs),
        "kinesis" => records(
            &mut rng,
            inputs,
            KinesisSource::new(),
            kinesis_seeds,
            mutate_kinesis,
        ),
        "sqs" => records(&mut rng, inputs, SqsSource::new(), sqs_seeds, mutate_sqs),
        "sns" => records(&mut rng, inputs, SnsSource::new(), sns_seeds, mutate_sns),
        "dynamodb" => records(
            &mut rng,
            inputs,
            DynamoDbSource::new(),
            dynamodb_seeds,
            mutate_dynamodb,
        ),
        "eventbridge" => eventbridge(&mut rng, inputs),
        // Payloads that are not envelopes (the sources' `raw()` mode, and `RawSource`): the
        // same decoder wraps whatever bytes arrive.
        "raw" => records(
            &mut rng,
            inputs,
            KinesisSource::new().raw(),
            kinesis_seeds,
            mutate_kinesis,
        ),
        other => {
            return Err(format!(
                "unknown target `{other}` (one of {})",
                TARGETS.join(", ")
            ));
        }
    };
    report.elapsed = started.elapsed();
    Ok(report)
}

fn sample_events() -> Vec<Envelope> {
    let mut events = Vec::new();
    for n in 0..4 {
        let mut builder = Envelope::builder(if n == 3 {
            "other-thing"
        } else {
            "thing-created"
        })
        .id(format!("e{n}"))
        .timestamp(1_548_967_022_000 + n)
        .partition_key(format!("k{n}"))
        .entity(
            "thing",
            &json!({"id": n, "name": "a \"name\" é😀", "price": 19.9, "tags": [1, 2]}),
        )
        .tag("account", "dev")
        .tag("skip", n == 2);
        if n == 1 {
            builder = builder
                .eem(&json!({"dek": "abc", "fields": ["name"]}))
                .raw(&json!({"original": {"x": [1, {"y": null}]}}));
        }
        if let Ok(event) = builder.build() {
            events.push(event);
        }
    }
    // The Node library's formats: a compressed entity (a small threshold, so the seed stays
    // small) and a claim-check stub (refused: this handler has no store).
    if let Some(event) = events.first()
        && let Ok(Some(json)) =
            lambda_stream::compression::Compression::threshold(16).compress(&event.to_json())
        && let Ok(mut compressed) = Envelope::parse(json)
    {
        compressed.set_id("e-compressed");
        events.push(compressed);
    }
    if let Ok(stub) = Envelope::builder("thing-created")
        .id("e-stub")
        .timestamp(1_548_967_022_000)
        .s3(lambda_stream::S3Pointer {
            bucket: "claims".into(),
            key: "claimchecks/thing-created/e-stub.json".into(),
        })
        .build()
    {
        events.push(stub);
    }
    events
}

fn records_of(event: &RecordsEvent) -> Vec<Value> {
    event
        .records()
        .iter()
        .filter_map(|r| serde_json::from_str(r.json()).ok())
        .collect()
}

fn kinesis_seeds() -> Vec<Value> {
    records_of(&testing::kinesis_event(&sample_events()))
}

fn sqs_seeds() -> Vec<Value> {
    records_of(&testing::sqs_event(&sample_events()))
}

fn sns_seeds() -> Vec<Value> {
    records_of(&testing::sns_event(&sample_events()))
}

fn dynamodb_seeds() -> Vec<Value> {
    let thing = |n: i64| json!({"pk": format!("t{n}"), "sk": "thing", "discriminator": "thing", "name": "n", "count": n, "flags": [true, false], "nested": {"a": [1, "b"]}});
    records_of(&testing::dynamodb_event(&[
        Change::new(
            "INSERT",
            json!({"pk": "t1", "sk": "thing"}),
            Some(thing(1)),
            None,
        ),
        Change::new(
            "MODIFY",
            json!({"pk": "t2", "sk": "thing"}),
            Some(thing(2)),
            Some(thing(1)),
        ),
        Change::new(
            "REMOVE",
            json!({"pk": "t3", "sk": "thing"}),
            None,
            Some(thing(3)),
        ),
    ]))
}

/// Mutates the text at `path` (a string), or the JSON value it holds as text.
fn mutate_payload_text(rng: &mut Rng, record: &mut Value, path: &[&str]) {
    let Some(slot) = path.iter().try_fold(&mut *record, |v, k| v.get_mut(*k)) else {
        return;
    };
    let Some(text) = slot.as_str().map(str::to_string) else {
        mutate_value(rng, slot);
        return;
    };
    let changed = if rng.bool() {
        mutate_text(rng, &text)
    } else {
        match serde_json::from_str::<Value>(&text) {
            Ok(mut value) => {
                mutate_value(rng, &mut value);
                value.to_string()
            }
            Err(_) => mutate_text(rng, &text),
        }
    };
    *slot = Value::String(changed);
}

fn mutate_kinesis(rng: &mut Rng, record: &mut Value) {
    let engine = base64::engine::general_purpose::STANDARD;
    let data = record
        .pointer("/kinesis/data")
        .and_then(Value::as_str)
        .and_then(|d| engine.decode(d).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
    match (rng.u8(0..5), data) {
        (0, _) => mutate_value(rng, record),
        (1, _) => mutate_payload_text(rng, record, &["kinesis", "data"]),
        (_, Some(text)) => {
            let mut holder = json!({ "t": text });
            mutate_payload_text(rng, &mut holder, &["t"]);
            let mutated = holder["t"].as_str().unwrap_or_default().to_string();
            record["kinesis"]["data"] = Value::String(engine.encode(mutated));
        }
        (_, None) => mutate_value(rng, record),
    }
}

fn mutate_sqs(rng: &mut Rng, record: &mut Value) {
    if rng.u8(0..4) == 0 {
        mutate_value(rng, record);
    } else {
        mutate_payload_text(rng, record, &["body"]);
    }
}

fn mutate_sns(rng: &mut Rng, record: &mut Value) {
    if rng.u8(0..4) == 0 {
        mutate_value(rng, record);
    } else {
        mutate_payload_text(rng, record, &["Sns", "Message"]);
    }
}

fn mutate_dynamodb(rng: &mut Rng, record: &mut Value) {
    let part = match rng.u8(0..6) {
        0 => None,
        1 => Some("Keys"),
        2 => Some("OldImage"),
        _ => Some("NewImage"),
    };
    match part.and_then(|p| record.get_mut("dynamodb").and_then(|d| d.get_mut(p))) {
        Some(image) => mutate_value(rng, image),
        None => mutate_value(rng, record),
    }
}

/// Builds batches of mutated records and checks what the handler made of them.
fn records<S: Source<Event = RecordsEvent>>(
    rng: &mut Rng,
    inputs: usize,
    source: S,
    seeds: fn() -> Vec<Value>,
    mutate: fn(&mut Rng, &mut Value),
) -> FuzzReport
where
    S::Response: std::fmt::Debug,
{
    let seeds = seeds();
    let faults = Arc::new(
        InMemoryPublisher::new().with_limits(lambda_stream::BatchLimits {
            max_count: 10,
            max_bytes: 1024 * 1024,
        }),
    );
    let handler = StreamHandler::with_config(source, Config::default())
        .pipeline(Pipeline::new("all").delivered())
        .faults_to(faults.clone());
    let runtime = crate::paused_runtime();
    let mut report = FuzzReport::default();
    while report.inputs < inputs {
        let n = BATCH.min(inputs - report.inputs);
        let batch: Vec<Value> = (0..n)
            .map(|_| {
                let mut record = seeds[rng.usize(0..seeds.len())].clone();
                mutate(rng, &mut record);
                if rng.u8(0..4) == 0 {
                    mutate(rng, &mut record);
                }
                record
            })
            .collect();
        report.inputs += n;
        let text = json!({ "Records": batch }).to_string();
        let Ok(event) = RecordsEvent::from_slice(text.as_bytes()) else {
            report
                .violations
                .add("the batch is not a Lambda event", || {
                    text.chars().take(200).collect()
                });
            continue;
        };
        let sent: Vec<String> = event
            .records()
            .iter()
            .map(|r| r.json().to_string())
            .collect();
        faults.clear();
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            runtime.block_on(handler.process(event, Invocation::local()))
        }));
        if started.elapsed() > HANG {
            report
                .violations
                .add("a batch hung", || format!("{:?}", started.elapsed()));
        }
        let Ok(processed) = outcome else {
            report
                .violations
                .add("a panic escaped the handler", || sent[0].clone());
            continue;
        };
        check_batch(&processed, &sent, &faults, &mut report);
    }
    report
}

fn check_batch<R: std::fmt::Debug>(
    processed: &lambda_stream::Report<R>,
    sent: &[String],
    faults: &InMemoryPublisher,
    report: &mut FuzzReport,
) {
    if processed.records.len() != sent.len() {
        report
            .violations
            .add("records missing from the report", || {
                format!("{} of {}", processed.records.len(), sent.len())
            });
        return;
    }
    let faulted: Vec<String> = faults
        .envelopes()
        .iter()
        .filter_map(|f| f.field::<Value>("uow").ok())
        .filter_map(|uow| uow.get("record").map(|r| r.to_string()))
        .collect();
    // Records that decode but carry what the handler must not pass on (an `eem` it has no
    // keyring for, a claim-check stub it has no store for): refused as a fault, like
    // undecodable ones, with the record in it.
    let refused_input: Vec<String> = faults
        .envelopes()
        .iter()
        .filter(|f| {
            f.field::<Value>("err").is_ok_and(|err| {
                matches!(
                    err["name"].as_str(),
                    Some("DecryptionError" | "InvalidClaimCheck")
                )
            })
        })
        .filter_map(|f| f.field::<Value>("uow").ok())
        .filter_map(|uow| uow.get("record").map(|r| r.to_string()))
        .collect();
    let mut refused_after_decoding = 0;
    for (record, text) in processed.records.iter().zip(sent) {
        match (&record.decode_error, record.pipelines.first()) {
            (Some(_), _) => {
                report.refused += 1;
                let as_value = serde_json::from_str::<Value>(text)
                    .map(|v| v.to_string())
                    .ok();
                let in_a_fault = as_value.is_some_and(|v| faulted.contains(&v));
                if !in_a_fault && !record.retry {
                    report.violations.add(
                        "an undecodable record was neither faulted nor retried",
                        || text.clone(),
                    );
                }
            }
            (None, Some(RecordState::Delivered | RecordState::Filtered)) => report.accepted += 1,
            (None, Some(RecordState::Fault))
                if serde_json::from_str::<Value>(text)
                    .is_ok_and(|v| refused_input.contains(&v.to_string())) =>
            {
                report.refused += 1;
                refused_after_decoding += 1;
            }
            (None, state) => report
                .violations
                .add("a decoded record did not end delivered or filtered", || {
                    format!("{state:?}: {text}")
                }),
        }
    }
    // Only undecodable records fault: the pipeline fails nothing.
    let undecodable = processed
        .records
        .iter()
        .filter(|r| r.decode_error.is_some())
        .count();
    let undecodable = undecodable + refused_after_decoding;
    if processed.summary.faults_published + processed.summary.faults_unpublished != undecodable {
        report
            .violations
            .add("fault events do not match the undecodable records", || {
                format!(
                    "{} faults, {undecodable} undecodable",
                    processed.summary.faults_published
                )
            });
    }
    // Records kept whole in the faults: the published record is the one sent, byte for byte.
    for fault in faults.published() {
        let Ok(doc) = serde_json::from_str::<FaultDoc<'_>>(fault.json()) else {
            report
                .violations
                .add("a fault event that does not parse", || {
                    fault.json().to_string()
                });
            continue;
        };
        if doc.uow.trimmed.is_some() {
            continue;
        }
        for record in doc.uow.records() {
            if !sent.iter().any(|s| s == record.get()) {
                report
                    .violations
                    .add("a fault's record is not the record sent", || {
                        record.get().to_string()
                    });
            }
        }
    }
}

fn eventbridge(rng: &mut Rng, inputs: usize) -> FuzzReport {
    let seeds: Vec<Value> = sample_events()
        .iter()
        .filter_map(|e| serde_json::to_value(testing::eventbridge_event(e, "custom")).ok())
        .collect();
    let faults = Arc::new(InMemoryPublisher::new());
    let handler = StreamHandler::with_config(EventBridgeSource::new(), Config::default())
        .pipeline(Pipeline::new("all").delivered())
        .faults_to(faults.clone());
    let runtime = crate::paused_runtime();
    let mut report = FuzzReport::default();
    for _ in 0..inputs {
        let mut event = seeds[rng.usize(0..seeds.len())].clone();
        if rng.u8(0..4) == 0 {
            mutate_value(rng, &mut event);
        } else {
            match event.get_mut("detail") {
                Some(detail) if rng.bool() => mutate_value(rng, detail),
                Some(detail) => *detail = Value::String(mutate_text(rng, &detail.to_string())),
                None => mutate_value(rng, &mut event),
            }
        }
        report.inputs += 1;
        let text = event.to_string();
        let Ok(single) = SingleEvent::from_slice(text.as_bytes()) else {
            continue;
        };
        faults.clear();
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            runtime.block_on(handler.process(single, Invocation::local()))
        }));
        let Ok(processed) = outcome else {
            report
                .violations
                .add("a panic escaped the handler", || text.clone());
            continue;
        };
        check_batch(&processed, &[text], &faults, &mut report);
    }
    report
}

fn envelope(rng: &mut Rng, inputs: usize) -> FuzzReport {
    let seeds: Vec<String> = sample_events().iter().map(Envelope::to_json).collect();
    let mut report = FuzzReport::default();
    for _ in 0..inputs {
        let seed = &seeds[rng.usize(0..seeds.len())];
        let text = if rng.bool() {
            mutate_text(rng, seed)
        } else {
            match serde_json::from_str::<Value>(seed) {
                Ok(mut value) => {
                    mutate_value(rng, &mut value);
                    value.to_string()
                }
                Err(_) => mutate_text(rng, seed),
            }
        };
        report.inputs += 1;
        let outcome = std::panic::catch_unwind(|| exercise(&text));
        match outcome {
            Err(_) => report
                .violations
                .add("a panic in the envelope", || text.clone()),
            Ok(Err(Some(problem))) => report.violations.add(problem, || text.clone()),
            Ok(Err(None)) => report.refused += 1,
            Ok(Ok(())) => report.accepted += 1,
        }
    }
    report
}

/// Parses and uses an envelope: `Err(None)` when it does not parse, `Err(Some(problem))`
/// when something it promises does not hold.
fn exercise(text: &str) -> Result<(), Option<&'static str>> {
    let event = Envelope::parse(text).map_err(|_| None)?;
    let _ = (
        event.id(),
        event.event_type(),
        event.timestamp(),
        event.partition_key(),
    );
    let _ = (
        event.tags().len(),
        event.s3(),
        event.entity_name(),
        event.encrypted_fields(),
    );
    let _ = event.entity::<Value>();
    let _ = event.fields().count();
    let _ = format!("{event:?}");
    let written = event.to_json();
    let again = Envelope::parse(&written)
        .map_err(|_| Some("an envelope that parsed writes JSON that does not"))?;
    if again != event {
        return Err(Some(
            "an envelope written and read back is not equal to itself",
        ));
    }
    // Changed, it is written from its parts: that must read back too.
    let mut changed = event.clone();
    changed.tags_mut().insert("fuzzed", true);
    let written = changed.to_json();
    let again = Envelope::parse(&written)
        .map_err(|_| Some("a changed envelope writes JSON that does not parse"))?;
    if again != changed {
        return Err(Some(
            "a changed envelope written and read back is not equal to itself",
        ));
    }
    Ok(())
}
