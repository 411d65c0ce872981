//! The hub at run time: the deployment's buses, streams, queues, topics and tables in memory,
//! and each function's event source mappings delivering batches to the function in-process
//! with Lambda's behaviour on the response. Time is the hub's own clock: it starts at the
//! wall clock and moves on only when the hub waits (a message's visibility timeout) or is told
//! to ([`Core::advance`]), so a run is quick and repeatable.

mod build;
pub mod bus;
pub mod events;
pub mod function;
pub mod inject;
pub mod ports;
pub mod publishers;
mod pump;
pub mod registry;
pub mod resources;
mod stats;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use lambda_stream::EventReaders;
use lambda_stream::encryption::Keyring;
use lambda_stream::testing::InMemoryClaimChecks;
use serde_json::{Value, json};

use crate::model::{EventSource, HubModel, Subscription};
use crate::routes::BusRules;
pub use bus::BusEntry;
pub use function::{HttpFunction, Invoked, LocalFunction, Runnable};
use resources::{Message, Queue, Stream, Table};
pub use stats::{FunctionStats, Stats};

/// Why the hub cannot start or run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubError(pub String);

impl std::fmt::Display for HubError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HubError {}

/// Everything the hub holds that functions publish to and read from.
pub struct Core {
    model: HubModel,
    buses: BTreeMap<String, BusRules>,
    topics: BTreeMap<String, Vec<Subscription>>,
    tables: BTreeMap<String, Table>,
    /// Claim-checked events, in memory: S3's part of the hub.
    claim_checks: InMemoryClaimChecks,
    /// Data keys in memory: KMS's part, in the deployment's region.
    keyring: Arc<Keyring>,
    state: Mutex<State>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core").finish_non_exhaustive()
    }
}

/// What changes as the hub runs.
#[derive(Debug)]
struct State {
    clock_ms: i64,
    next_sequence: u64,
    streams: BTreeMap<String, Stream>,
    queues: BTreeMap<String, Queue>,
    /// Where targets outside the subsystem received what (log groups, the lake, other
    /// subsystems' buses, topics nobody in the subsystem reads), by ARN.
    sinks: BTreeMap<String, Vec<Value>>,
    /// How many items each of those received (kept even when their contents are not).
    sink_counts: BTreeMap<String, usize>,
    /// Keep what sinks receive (off for long replays: counted only).
    keep_sinks: bool,
    /// Per mapping, per shard: the next record, the attempts at it and a bisected batch size.
    cursors: Vec<Vec<Cursor>>,
    stats: Stats,
    /// Every event put on a bus, when kept ([`Core::keep_log`]).
    log: Option<Vec<Logged>>,
}

/// An event as the bus took it, for traces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// The hub's clock then, epoch milliseconds.
    pub at_ms: i64,
    /// `detail-type`.
    pub detail_type: String,
    /// `source`.
    pub source: String,
    /// The detail's `partitionKey`, if any.
    pub partition_key: Option<String>,
}

#[derive(Debug, Clone, Default)]
struct Cursor {
    next: usize,
    attempts: u64,
    /// Bisected batches still to try, the next one last (their sizes).
    halves: Vec<usize>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Core {
    /// The model the hub runs.
    pub fn model(&self) -> &HubModel {
        &self.model
    }

    /// The hub's claim-check objects (S3 in memory), read from any bucket a stub names.
    pub fn claim_checks(&self) -> &InMemoryClaimChecks {
        &self.claim_checks
    }

    /// The hub's data keys (KMS in memory): what its functions decrypt and encrypt with.
    pub fn keyring(&self) -> &Arc<Keyring> {
        &self.keyring
    }

    /// The readers every consumer of the hub gets: its claim checks and data keys.
    pub fn event_readers(&self) -> EventReaders {
        EventReaders::new(
            Arc::new(self.claim_checks.clone()),
            Arc::clone(&self.keyring),
        )
    }

    /// A table of the deployment, by name.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    /// The hub's clock, epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        lock(&self.state).clock_ms
    }

    /// Puts events on the bus named `bus` (`PutEvents`): one result per entry, the event id
    /// or why the entry was refused.
    pub fn put_events(&self, bus: &str, entries: &[BusEntry]) -> Vec<Result<String, String>> {
        let mut state = lock(&self.state);
        let Some(rules) = self.buses.get(bus) else {
            return entries
                .iter()
                .map(|_| {
                    Err(format!(
                        "ResourceNotFoundException: no rules on the bus {bus}"
                    ))
                })
                .collect();
        };
        entries
            .iter()
            .map(|entry| {
                let id = uuid::Uuid::new_v4().to_string();
                let time = rfc3339(state.clock_ms);
                let event = bus::event(
                    entry,
                    &id,
                    &self.model.deployment.account,
                    &self.model.deployment.region,
                    &time,
                )?;
                state.stats.put += 1;
                *state
                    .stats
                    .put_by_type
                    .entry(entry.detail_type.clone())
                    .or_default() += 1;
                let at_ms = state.clock_ms;
                if let Some(log) = &mut state.log {
                    log.push(Logged {
                        at_ms,
                        detail_type: entry.detail_type.clone(),
                        source: entry.source.clone(),
                        partition_key: event["detail"]["partitionKey"].as_str().map(str::to_string),
                    });
                }
                let matched = rules.matching(&event);
                if matched.is_empty() {
                    state.stats.unrouted += 1;
                }
                for rule in matched {
                    for target in &self.model.rules[rule].targets {
                        let delivered = bus::input(target, &event).and_then(|input| {
                            self.deliver(&mut state, &target.arn, input, || {
                                bus::partition_key(target, &event)
                            })
                        });
                        if let Err(error) = delivered {
                            state.stats.target_failures.push(format!(
                                "{} -> {}: {error}",
                                self.model.rules[rule].name, target.id
                            ));
                        }
                    }
                }
                Ok(id)
            })
            .collect()
    }

    /// Sends `input` to the resource at `arn`: a stream, a queue, a topic, or (outside the
    /// subsystem) a sink that keeps it.
    fn deliver(
        &self,
        state: &mut State,
        arn: &str,
        input: String,
        partition_key: impl FnOnce() -> Result<String, String>,
    ) -> Result<(), String> {
        if state.streams.contains_key(arn) {
            let key = partition_key()?;
            let sequence = state.next_sequence;
            state.next_sequence += 1;
            let now = state.clock_ms;
            if let Some(stream) = state.streams.get_mut(arn) {
                stream.put(&key, input.into_bytes(), sequence, now);
            }
            *state
                .stats
                .stream_records
                .entry(arn.to_string())
                .or_default() += 1;
            return Ok(());
        }
        if state.queues.contains_key(arn) {
            Self::send(state, arn, input);
            return Ok(());
        }
        if self.topics.contains_key(arn) {
            self.publish_to_topic(state, arn, &input);
            return Ok(());
        }
        Self::sink(state, arn, &input);
        Ok(())
    }

    /// A target outside the subsystem received `input`.
    fn sink(state: &mut State, arn: &str, input: &str) {
        *state.sink_counts.entry(arn.to_string()).or_default() += 1;
        if state.keep_sinks {
            let value = serde_json::from_str(input).unwrap_or(Value::String(input.to_string()));
            state.sinks.entry(arn.to_string()).or_default().push(value);
        }
    }

    /// From now on, only count what targets outside the subsystem receive (a long replay
    /// would keep every event the lake gets).
    pub fn count_sinks_only(&self) {
        let mut state = lock(&self.state);
        state.keep_sinks = false;
        state.sinks.clear();
    }

    /// How many items each target outside the subsystem received, by ARN.
    pub fn sink_counts(&self) -> BTreeMap<String, usize> {
        lock(&self.state).sink_counts.clone()
    }

    fn send(state: &mut State, queue: &str, body: String) {
        let now = state.clock_ms;
        if let Some(queue) = state.queues.get_mut(queue) {
            queue.messages.push_back(Message {
                id: uuid::Uuid::new_v4().to_string(),
                body,
                receive_count: 0,
                visible_at_ms: now,
                sent_ms: now,
            });
        }
    }

    /// Publishes `message` to the topic at `arn`: to each subscribed queue (wrapped in the SNS
    /// notification unless delivery is raw), or kept when nobody in the subsystem subscribes.
    fn publish_to_topic(&self, state: &mut State, arn: &str, message: &str) {
        *state
            .stats
            .topic_messages
            .entry(arn.to_string())
            .or_default() += 1;
        let subscriptions = self.topics.get(arn).cloned().unwrap_or_default();
        let queues: Vec<&Subscription> = subscriptions
            .iter()
            .filter(|s| s.protocol == "sqs" && state.queues.contains_key(&s.endpoint))
            .collect();
        if queues.is_empty() {
            Self::sink(state, arn, message);
            return;
        }
        let time = rfc3339(state.clock_ms);
        for subscription in queues {
            let body = if subscription.raw {
                message.to_string()
            } else {
                json!({
                    "Type": "Notification",
                    "MessageId": uuid::Uuid::new_v4().to_string(),
                    "TopicArn": arn,
                    "Message": message,
                    "Timestamp": time,
                    "SignatureVersion": "1",
                    "Signature": "local",
                    "SigningCertURL": "https://sns.local/cert.pem",
                    "UnsubscribeURL": "https://sns.local/unsubscribe",
                })
                .to_string()
            };
            Self::send(state, &subscription.endpoint, body);
        }
    }

    /// Publishes `messages` to the topic at `arn` (`PublishBatch`, as a function's SNS
    /// publisher or an external system does).
    pub fn publish(&self, arn: &str, messages: &[String]) {
        let mut state = lock(&self.state);
        for message in messages {
            self.publish_to_topic(&mut state, arn, message);
        }
    }

    /// Keeps every event put on a bus from now on (for traces; off by default, as a long
    /// replay would keep them all).
    pub fn keep_log(&self) {
        lock(&self.state).log.get_or_insert_with(Vec::new);
    }

    /// The events kept since [`Core::keep_log`].
    pub fn log(&self) -> Vec<Logged> {
        lock(&self.state).log.clone().unwrap_or_default()
    }

    /// What targets outside the subsystem received, by ARN.
    pub fn sinks(&self) -> BTreeMap<String, Vec<Value>> {
        lock(&self.state).sinks.clone()
    }

    /// The counts so far.
    pub fn stats(&self) -> Stats {
        lock(&self.state).stats.clone()
    }

    /// Appends what functions wrote to tables since the last call to the tables' streams.
    fn collect_table_changes(&self) {
        let mut state = lock(&self.state);
        for table in self.tables.values() {
            let Some(stream_arn) = &table.stream_arn else {
                // Changes of a table without a stream go nowhere.
                let _ = table.take_changes();
                continue;
            };
            for record in table.take_changes() {
                let sequence = state.next_sequence;
                state.next_sequence += 1;
                let now = state.clock_ms;
                let record = resources::table_record(record, stream_arn, sequence, now);
                if let Some(stream) = state.streams.get_mut(stream_arn) {
                    stream.put("", record.to_string().into_bytes(), sequence, now);
                }
                *state
                    .stats
                    .stream_records
                    .entry(stream_arn.clone())
                    .or_default() += 1;
            }
        }
    }

    /// Moves the clock on by `by`, and lets TTL remove what expired by then.
    pub fn advance(&self, by: Duration) {
        let now = {
            let mut state = lock(&self.state);
            state.clock_ms += by.as_millis() as i64;
            state.clock_ms
        };
        for table in self.tables.values() {
            if let Some(attribute) = &table.ttl_attribute {
                table.store.expire_by_before(attribute, now / 1_000);
            }
        }
    }

    /// The event source mappings, in the model's order.
    fn sources(&self) -> &[EventSource] {
        &self.model.sources
    }
}

/// Epoch milliseconds as EventBridge writes `time` (seconds, UTC).
fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The hub with its functions: what `demo`, `replay` and `serve` run.
pub struct Hub {
    core: Arc<Core>,
    functions: BTreeMap<String, Runnable>,
    /// How long an invocation may take.
    timeout: Duration,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("functions", &self.functions.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// The hub over `core` with `functions` (by `stack/LogicalId`). Every function the
    /// templates deploy must be given, and nothing else.
    pub fn new(core: Arc<Core>, functions: BTreeMap<String, Runnable>) -> Result<Self, HubError> {
        let deployed: Vec<&str> = core
            .model
            .functions
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        let missing: Vec<&str> = deployed
            .iter()
            .copied()
            .filter(|name| !functions.contains_key(*name))
            .collect();
        let extra: Vec<&str> = functions
            .keys()
            .map(String::as_str)
            .filter(|name| !deployed.contains(name))
            .collect();
        if !missing.is_empty() || !extra.is_empty() {
            return Err(HubError(format!(
                "the templates and the functions the hub can run differ: deployed but not runnable {missing:?}; runnable but not deployed {extra:?}"
            )));
        }
        for source in &core.model.sources {
            if !matches!(functions.get(&source.function), Some(Runnable::Events(_))) {
                return Err(HubError(format!(
                    "{} reads {} but is not a function that takes event batches",
                    source.function, source.arn
                )));
            }
        }
        Ok(Self {
            core,
            functions,
            timeout: Duration::from_secs(30),
        })
    }

    /// The HTTP function deployed as `name` (`stack/LogicalId`).
    pub fn http(&self, name: &str) -> Option<Arc<dyn HttpFunction>> {
        match self.functions.get(name) {
            Some(Runnable::Http(function)) => Some(Arc::clone(function)),
            _ => None,
        }
    }

    /// The resources.
    pub fn core(&self) -> &Arc<Core> {
        &self.core
    }

    /// Runs every event source mapping until nothing is left to deliver (moving the clock to
    /// the next visibility timeout when only hidden messages remain).
    pub async fn run_until_idle(&self) -> Result<(), HubError> {
        pump::run_until_idle(self).await
    }

    /// Messages on queues no function reads (on-failure destinations, dead-letter queues):
    /// kept there for a replay.
    pub fn parked(&self) -> usize {
        let state = lock(&self.core.state);
        state
            .queues
            .values()
            .filter(|q| !self.core.model.sources.iter().any(|s| s.arn == q.arn))
            .map(|q| q.messages.len())
            .sum()
    }

    /// Records still waiting for a function (none after [`Hub::run_until_idle`]), by
    /// mapping.
    pub fn pending(&self) -> Vec<(String, usize)> {
        pump::pending(self)
    }
}
