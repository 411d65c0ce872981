//! The soak test: batches of records through four pipelines under chaos, each invocation with
//! a deadline on a paused clock (hangs cost no wall time), every record's end checked against
//! an independent record of what happened.
//!
//! | pipeline | what it does | chaos |
//! |---|---|---|
//! | `publish` | map, `publish` to a chaos bus | entry failures (0-50 %), throttles, permanent refusals, slow calls, hung calls, panics in `publish` and `entry_size` |
//! | `ordered` | `then_ordered` over the partition key | errors, retryable errors, panics, hangs |
//! | `batched` | `send` of messages to a second chaos bus | as `publish` |
//! | `others` | `on_type("other-*")`, delivered | none |
//!
//! The fault bus itself refuses a few faults. What is checked per batch:
//!
//! - no panic escapes the handler and no invocation outlives its deadline;
//! - every record has one end per pipeline;
//! - a record *delivered* by `publish` or `batched` was accepted by that bus (and every
//!   accepted entry is a delivered record);
//! - every record that ends as a *fault* and is not retried is in exactly one published fault
//!   event of that pipeline, its record byte for byte the one sent; no retried record is;
//! - the response asks for exactly the retried records (SQS) or the lowest of them (Kinesis).

use std::collections::{HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_stream::testing;
use lambda_stream::{
    BatchLimits, Config, Delivered, Envelope, InMemoryPublisher, Invocation, KinesisSource,
    Pipeline, PublishEntry, Publisher, RecordState, SqsSource, StepError, StreamHandler,
};
use serde_json::json;

use crate::{FaultDoc, Violations};

/// Records per invocation.
pub const BATCH: usize = 500;

const PIPELINES: [&str; 4] = ["publish", "ordered", "batched", "others"];

/// The counts of a soak run.
#[derive(Debug, Default)]
pub struct SoakReport {
    /// Records sent.
    pub records: usize,
    /// Invocations.
    pub invocations: usize,
    /// Per pipeline: delivered, filtered, faults, retries.
    pub states: [[usize; 4]; 4],
    /// Records that could not be decoded.
    pub undecodable: usize,
    /// Fault events published.
    pub faults_published: usize,
    /// Fault events that could not be published (their records retried).
    pub faults_unpublished: usize,
    /// Records retried.
    pub retried: usize,
    /// Panics injected into steps and sinks.
    pub panics_injected: u64,
    /// Calls and steps that hung until the deadline cut them.
    pub hangs_injected: u64,
    /// Panics that escaped the handler.
    pub escaped_panics: usize,
    /// Invocations that did not answer before their deadline.
    pub hung_invocations: usize,
    /// Entries a bus accepted whose units were then cut by the deadline before they settled:
    /// retried or faulted, so delivered again (at least once), never lost.
    pub accepted_then_cut: usize,
    /// Fault events published for a record that is retried because another of its faults
    /// could not be published (they come again on the redelivery).
    pub faults_before_a_refused_fault: usize,
    /// Everything that did not hold.
    pub violations: Violations,
}

impl std::fmt::Display for SoakReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "records {}, invocations {}",
            self.records, self.invocations
        )?;
        writeln!(
            f,
            "{:<10} {:>10} {:>10} {:>10} {:>10}",
            "pipeline", "delivered", "filtered", "faults", "retries"
        )?;
        for (name, [d, fl, fa, r]) in PIPELINES.iter().zip(self.states) {
            writeln!(f, "{name:<10} {d:>10} {fl:>10} {fa:>10} {r:>10}")?;
        }
        writeln!(
            f,
            "undecodable {}, fault events {} (+{} unpublished, retried instead), records retried {}",
            self.undecodable, self.faults_published, self.faults_unpublished, self.retried
        )?;
        writeln!(
            f,
            "injected: {} panics, {} hangs; escaped panics {}, hung invocations {}, unaccounted {}",
            self.panics_injected,
            self.hangs_injected,
            self.escaped_panics,
            self.hung_invocations,
            self.violations.total()
        )?;
        writeln!(
            f,
            "accepted by a bus, then cut by the deadline and sent again: {}; faults published for a record retried because another of its faults was refused: {}",
            self.accepted_then_cut, self.faults_before_a_refused_fault
        )?;
        write!(f, "{}", self.violations)
    }
}

/// Shared randomness and counters of one run.
struct Chaos {
    rng: Mutex<fastrand::Rng>,
    /// The entry failure rate of the current invocation, in percent.
    failure_rate: AtomicU64,
    panics: AtomicU64,
    hangs: AtomicU64,
}

impl Chaos {
    fn roll(&self, below: u64) -> bool {
        self.rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .u64(0..1000)
            < below
    }

    fn millis(&self, max: u64) -> u64 {
        self.rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .u64(0..max)
    }
}

/// A bus that fails in every way a service can, and records what it accepted.
struct ChaosBus {
    chaos: Arc<Chaos>,
    accepted: Mutex<Vec<String>>,
}

impl ChaosBus {
    fn accepted(&self) -> Vec<String> {
        self.accepted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn clear(&self) {
        self.accepted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }
}

fn id_of(entry: &PublishEntry) -> String {
    entry.id().map(str::to_string).unwrap_or_default()
}

impl Publisher for ChaosBus {
    fn limits(&self) -> BatchLimits {
        BatchLimits::EVENTBRIDGE
    }

    fn entry_size(&self, entry: &PublishEntry) -> usize {
        // Deterministic per entry: the same entry panics however often it is sized.
        if id_of(entry).ends_with("37") {
            self.chaos.panics.fetch_add(1, Ordering::Relaxed);
            panic!("entry_size panicked for {}", id_of(entry));
        }
        entry.json().len() + entry.event_type().len()
    }

    fn publish<'a>(
        &'a self,
        entries: &'a [PublishEntry],
    ) -> BoxFuture<'a, Vec<Result<(), StepError>>> {
        let chaos = Arc::clone(&self.chaos);
        async move {
            if chaos.roll(10) {
                chaos.panics.fetch_add(1, Ordering::Relaxed);
                panic!("the bus client panicked");
            }
            if chaos.roll(5) {
                chaos.hangs.fetch_add(1, Ordering::Relaxed);
                futures::future::pending::<()>().await;
            }
            tokio::time::sleep(Duration::from_millis(chaos.millis(50))).await;
            if chaos.roll(20) {
                return entries
                    .iter()
                    .map(|_| {
                        Err(StepError::retryable(
                            "RequestTimeout: the request timed out",
                        ))
                    })
                    .collect();
            }
            let rate = chaos.failure_rate.load(Ordering::Relaxed) * 10;
            let mut accepted = self
                .accepted
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            entries
                .iter()
                .map(|entry| {
                    if chaos.roll(rate) {
                        return Err(match chaos.millis(3) {
                            0 => StepError::retryable("ThrottlingException"),
                            1 => StepError::permanent("ValidationException: refused"),
                            _ => StepError::new("InternalFailure"),
                        });
                    }
                    accepted.push(id_of(entry));
                    Ok(())
                })
                .collect()
        }
        .boxed()
    }
}

fn events(first: usize, count: usize, rng: &mut fastrand::Rng) -> Vec<String> {
    (first..first + count)
        .map(|n| {
            let roll = rng.u8(0..100);
            if roll < 3 {
                return format!("not json {n}");
            }
            if roll < 4 {
                // Valid JSON whose tags are not valid tags: a decode error, not empty tags.
                return format!(
                    r#"{{"id":"e{n}","type":"thing-created","timestamp":1,"tags":{{"n":1e400}}}}"#
                );
            }
            let event_type = if roll < 14 {
                "other-created"
            } else {
                "thing-created"
            };
            Envelope::builder(event_type)
                .id(format!("e{n}"))
                .timestamp(1_000)
                .partition_key(format!("k{}", n % 61))
                .entity("thing", &json!({"n": n}))
                .build()
                .map(|e| e.to_json())
                .unwrap_or_default()
        })
        .collect()
}

fn handler_pipelines(
    chaos: &Arc<Chaos>,
    bus: &Arc<ChaosBus>,
    queue: &Arc<ChaosBus>,
) -> [Pipeline<Delivered>; 4] {
    let step_chaos = Arc::clone(chaos);
    [
        Pipeline::new("publish")
            .on_type("thing-*")
            .map(|uow| Ok::<_, StepError>(uow.event.as_ref().clone()))
            .publish(Arc::clone(bus) as Arc<dyn Publisher>, 4),
        Pipeline::new("ordered")
            .on_type("thing-*")
            .then_ordered(8, move |uow| {
                let chaos = Arc::clone(&step_chaos);
                async move {
                    tokio::time::sleep(Duration::from_millis(chaos.millis(20))).await;
                    if chaos.roll(5) {
                        chaos.panics.fetch_add(1, Ordering::Relaxed);
                        panic!("the step panicked on {}", uow.event.id());
                    }
                    if chaos.roll(2) {
                        chaos.hangs.fetch_add(1, Ordering::Relaxed);
                        futures::future::pending::<()>().await;
                    }
                    match chaos.millis(100) {
                        0..=3 => Err(StepError::retryable("the store is busy")),
                        4..=5 => Err(StepError::permanent("the thing is invalid")),
                        6 => Err(StepError::new("unexpected")),
                        _ => Ok(Delivered),
                    }
                }
            }),
        Pipeline::new("batched")
            .on_type("thing-*")
            .map(|uow| {
                Ok::<_, StepError>(
                    PublishEntry::message("thing-message", uow.event.to_json())
                        .with_id(uow.event.id()),
                )
            })
            .send(Arc::clone(queue) as Arc<dyn Publisher>, 2),
        Pipeline::new("others").on_type("other-*").delivered(),
    ]
}

/// Runs `records` records through the chaos in batches, from `seed`.
pub fn run(records: usize, seed: u64) -> SoakReport {
    let chaos = Arc::new(Chaos {
        rng: Mutex::new(fastrand::Rng::with_seed(seed)),
        failure_rate: AtomicU64::new(0),
        panics: AtomicU64::new(0),
        hangs: AtomicU64::new(0),
    });
    let bus = Arc::new(ChaosBus {
        chaos: Arc::clone(&chaos),
        accepted: Mutex::new(Vec::new()),
    });
    let queue = Arc::new(ChaosBus {
        chaos: Arc::clone(&chaos),
        accepted: Mutex::new(Vec::new()),
    });
    let refusals = Arc::new(AtomicU64::new(seed));
    let r = Arc::clone(&refusals);
    let faults = Arc::new(InMemoryPublisher::new().rejecting(move |_| {
        // About one fault in forty is refused.
        r.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .is_multiple_of(40)
            .then(|| StepError::retryable("the fault bus is throttling"))
    }));
    let [a, b, c, d] = handler_pipelines(&chaos, &bus, &queue);
    let config = Config::default();
    let sqs = StreamHandler::with_config(SqsSource::new(), config.clone())
        .pipeline(a.clone())
        .pipeline(b.clone())
        .pipeline(c.clone())
        .pipeline(d.clone())
        .faults_to(faults.clone());
    let kinesis = StreamHandler::with_config(KinesisSource::new(), config)
        .pipeline(a)
        .pipeline(b)
        .pipeline(c)
        .pipeline(d)
        .faults_to(faults.clone());
    let runtime = crate::paused_runtime();
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x5EED);
    let mut report = SoakReport::default();
    let mut sent_so_far = 0;
    while sent_so_far < records {
        let n = BATCH.min(records - sent_so_far);
        let bodies = events(sent_so_far, n, &mut rng);
        sent_so_far += n;
        chaos.failure_rate.store(rng.u64(0..=50), Ordering::Relaxed);
        bus.clear();
        queue.clear();
        faults.clear();
        report.invocations += 1;
        report.records += n;
        let use_kinesis = report.invocations % 2 == 0;
        let deadline = Duration::from_secs(6);
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            runtime.block_on(async {
                let invocation = {
                    let mut invocation = Invocation::local();
                    invocation.deadline = Some(lambda_stream::deadline::now() + deadline);
                    invocation
                };
                let started = tokio::time::Instant::now();
                let checked = if use_kinesis {
                    let payloads: Vec<(String, Vec<u8>)> = bodies
                        .iter()
                        .enumerate()
                        .map(|(i, b)| (format!("k{i}"), b.clone().into_bytes()))
                        .collect();
                    let event = testing::kinesis_event_from_payloads(&payloads);
                    let sent: Vec<String> = event
                        .records()
                        .iter()
                        .map(|r| r.json().to_string())
                        .collect();
                    let processed = kinesis.process(event, invocation).await;
                    let response = processed.response.as_ref().map(|r| {
                        r.batch_item_failures
                            .iter()
                            .filter_map(|f| f.item_identifier.clone())
                            .collect::<Vec<_>>()
                    });
                    Checked::new(&processed, sent, response, Ids::Kinesis)
                } else {
                    let event = testing::sqs_event_from_bodies(&bodies);
                    let sent: Vec<String> = event
                        .records()
                        .iter()
                        .map(|r| r.json().to_string())
                        .collect();
                    let processed = sqs.process(event, invocation).await;
                    let response = processed.response.as_ref().map(|r| {
                        r.batch_item_failures
                            .iter()
                            .map(|f| f.item_identifier.clone())
                            .collect::<Vec<_>>()
                    });
                    Checked::new(&processed, sent, response, Ids::Sqs)
                };
                (checked, started.elapsed())
            })
        }));
        let Ok((checked, took)) = outcome else {
            report.escaped_panics += 1;
            continue;
        };
        if took >= deadline {
            report.hung_invocations += 1;
        }
        checked.verify(
            &bus.accepted(),
            &queue.accepted(),
            &faults.published(),
            &mut report,
        );
    }
    report.panics_injected = chaos.panics.load(Ordering::Relaxed);
    report.hangs_injected = chaos.hangs.load(Ordering::Relaxed);
    report
}

enum Ids {
    Sqs,
    Kinesis,
}

/// What one invocation reported, kept for checking once the runtime let go.
struct Checked {
    sent: Vec<String>,
    states: Vec<Vec<RecordState>>,
    retry: Vec<bool>,
    undecoded: Vec<bool>,
    undecodable: usize,
    faults_published: usize,
    faults_unpublished: usize,
    response: Result<Vec<String>, String>,
    ids: Ids,
    event_ids: Vec<Option<String>>,
}

impl Checked {
    fn new<R>(
        processed: &lambda_stream::Report<R>,
        sent: Vec<String>,
        response: Result<Vec<String>, &lambda_stream::HandlerError>,
        ids: Ids,
    ) -> Self {
        let event_ids = sent
            .iter()
            .map(|record| {
                let body = match ids {
                    Ids::Sqs => serde_json::from_str::<serde_json::Value>(record)
                        .ok()
                        .and_then(|v| v["body"].as_str().map(str::to_string)),
                    Ids::Kinesis => serde_json::from_str::<serde_json::Value>(record)
                        .ok()
                        .and_then(|v| v["kinesis"]["data"].as_str().map(str::to_string))
                        .and_then(|d| {
                            use base64::Engine;
                            base64::engine::general_purpose::STANDARD.decode(d).ok()
                        })
                        .map(|b| String::from_utf8_lossy(&b).into_owned()),
                };
                body.and_then(|b| Envelope::parse(b).ok())
                    .map(|e| e.id().to_string())
            })
            .collect();
        Self {
            states: processed
                .records
                .iter()
                .map(|r| r.pipelines.clone())
                .collect(),
            retry: processed.records.iter().map(|r| r.retry).collect(),
            undecoded: processed
                .records
                .iter()
                .map(|r| r.decode_error.is_some())
                .collect(),
            undecodable: processed.summary.undecodable,
            faults_published: processed.summary.faults_published,
            faults_unpublished: processed.summary.faults_unpublished,
            response: response.map_err(|e| e.to_string()),
            ids,
            event_ids,
            sent,
        }
    }

    fn record_id(&self, i: usize) -> Option<String> {
        let record: serde_json::Value = serde_json::from_str(&self.sent[i]).ok()?;
        match self.ids {
            Ids::Sqs => record["messageId"].as_str().map(str::to_string),
            Ids::Kinesis => record["kinesis"]["sequenceNumber"]
                .as_str()
                .map(str::to_string),
        }
    }

    fn verify(
        &self,
        bus: &[String],
        queue: &[String],
        faults: &[PublishEntry],
        report: &mut SoakReport,
    ) {
        let v = &mut report.violations;
        if self.states.len() != self.sent.len() {
            v.add("records missing from the report", || {
                format!("{} of {}", self.states.len(), self.sent.len())
            });
            return;
        }
        report.undecodable += self.undecodable;
        report.faults_published += self.faults_published;
        report.faults_unpublished += self.faults_unpublished;
        report.retried += self.retry.iter().filter(|r| **r).count();
        for states in &self.states {
            if states.len() != PIPELINES.len() {
                v.add("a record without an end in every pipeline", || {
                    format!("{states:?}")
                });
                continue;
            }
            for (p, state) in states.iter().enumerate() {
                let column = match state {
                    RecordState::Delivered => 0,
                    RecordState::Filtered => 1,
                    RecordState::Fault => 2,
                    _ => 3,
                };
                report.states[p][column] += 1;
            }
        }
        // Delivered by a bus pipeline ⇒ accepted by that bus; accepted ⇒ delivered, or cut by
        // the deadline after the bus answered and so sent again (never lost).
        for (p, accepted) in [(0, bus), (2, queue)] {
            let state_of: HashMap<&str, RecordState> = (0..self.sent.len())
                .filter_map(|i| {
                    self.event_ids[i]
                        .as_deref()
                        .map(|id| (id, self.states[i][p]))
                })
                .collect();
            let accepted_set: HashSet<&str> = accepted.iter().map(String::as_str).collect();
            if accepted_set.len() != accepted.len() {
                v.add("an entry accepted twice in one invocation", || {
                    format!("{} entries", accepted.len())
                });
            }
            for (id, state) in &state_of {
                if *state == RecordState::Delivered && !accepted_set.contains(id) {
                    v.add(
                        "a record counted delivered that the bus never accepted",
                        || format!("{}: {id}", PIPELINES[p]),
                    );
                }
            }
            for id in &accepted_set {
                match state_of.get(id) {
                    Some(RecordState::Delivered) => {}
                    Some(RecordState::Retry | RecordState::Fault) => report.accepted_then_cut += 1,
                    other => v.add(
                        "the bus accepted an entry for a record that ended otherwise",
                        || format!("{}: {id} {other:?}", PIPELINES[p]),
                    ),
                }
            }
        }
        // Faults: each faulted, not retried record once per pipeline, byte for byte.
        let mut in_faults: HashMap<(String, String), usize> = HashMap::new();
        for fault in faults {
            let Ok(doc) = serde_json::from_str::<FaultDoc<'_>>(fault.json()) else {
                v.add("a fault event that does not parse", || {
                    fault.json().to_string()
                });
                continue;
            };
            let pipeline = doc.uow.pipeline.clone().unwrap_or_default();
            for record in doc.uow.records() {
                *in_faults
                    .entry((pipeline.clone(), record.get().to_string()))
                    .or_default() += 1;
            }
        }
        for (i, states) in self.states.iter().enumerate() {
            for (p, state) in states.iter().enumerate() {
                let key = (PIPELINES[p].to_string(), self.sent[i].clone());
                let count = in_faults.remove(&key).unwrap_or(0);
                // An undecodable record has one `decode` fault, not one per pipeline.
                let expected = usize::from(
                    *state == RecordState::Fault && !self.retry[i] && !self.undecoded[i],
                );
                // A fault state on a retried record only comes from a fault of the same
                // record that the fault bus refused after this one was published.
                if count == 1
                    && expected == 0
                    && *state == RecordState::Fault
                    && self.retry[i]
                    && self.faults_unpublished > 0
                {
                    report.faults_before_a_refused_fault += 1;
                    continue;
                }
                if count != expected {
                    v.add(
                        "a fault event missing, repeated or for a retried record",
                        || {
                            format!(
                                "{} {state:?} retry={} in {count} faults",
                                PIPELINES[p], self.retry[i]
                            )
                        },
                    );
                }
            }
            let decode_key = ("decode".to_string(), self.sent[i].clone());
            let count = in_faults.remove(&decode_key).unwrap_or(0);
            let expected = usize::from(self.undecoded[i] && !self.retry[i]);
            if count != expected {
                v.add(
                    "a decode fault missing, repeated or for a retried record",
                    || format!("{count} faults: {}", self.sent[i]),
                );
            }
        }
        if let Some(((pipeline, record), _)) = in_faults.into_iter().next() {
            v.add("a fault event for a record that did not fault", || {
                format!("{pipeline}: {record}")
            });
        }
        // The response.
        let retried: Vec<String> = (0..self.sent.len())
            .filter(|i| self.retry[*i])
            .filter_map(|i| self.record_id(i))
            .collect();
        match (&self.response, &self.ids) {
            (Err(error), _) => v.add(
                "the invocation failed instead of a partial response",
                || error.clone(),
            ),
            (Ok(asked), Ids::Sqs) => {
                let asked: HashSet<&String> = asked.iter().collect();
                let expected: HashSet<&String> = retried.iter().collect();
                if asked != expected {
                    v.add("the SQS response is not the retried records", || {
                        format!("{} asked, {} retried", asked.len(), expected.len())
                    });
                }
            }
            (Ok(asked), Ids::Kinesis) => {
                let lowest = retried
                    .iter()
                    .min_by(|a, b| lambda_stream::source::cmp_sequence_numbers(a, b));
                if asked.first() != lowest || asked.len() > 1 {
                    v.add(
                        "the Kinesis response is not the lowest retried record",
                        || format!("{asked:?} vs {lowest:?}"),
                    );
                }
            }
        }
    }
}
