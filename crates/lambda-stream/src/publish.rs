//! Publishing events: the [`Publisher`] trait that sinks implement (EventBridge, Kinesis, ...),
//! an in-memory publisher for tests, and the `publish` step.
//!
//! The step serializes each event once, adds the standard tags, groups the entries to the
//! publisher's limits and settles each unit by its own entry's result, so one rejected entry
//! fails only its unit.

use std::sync::{Arc, Mutex, OnceLock};

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};

use serde_json::value::RawValue;

use crate::envelope::{Envelope, standard_tags_json};
use crate::error::StepError;
use crate::pipeline::{Pipeline, Settled, guarded, guarded_async, map_units};
use crate::step::batch::BatchLimits;
use crate::uow::Uow;

/// One event or message ready to send: its type, id, partition key and JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishEntry {
    /// The event type (EventBridge `DetailType`; a `type` message attribute on SNS and SQS).
    pub event_type: String,
    /// The event id, if any (the deduplication id on FIFO topics and queues).
    pub id: Option<String>,
    /// The partition key (Kinesis; the message group on FIFO topics and queues), if any.
    pub partition_key: Option<String>,
    /// The envelope, or the message, as JSON (EventBridge `Detail`, SNS `Message`, SQS body).
    pub json: String,
}

impl PublishEntry {
    /// Serializes an envelope.
    pub fn from_envelope(event: &Envelope) -> Self {
        Self {
            event_type: event.event_type.clone(),
            id: Some(event.id.clone()),
            partition_key: event.partition_key.clone(),
            json: event.to_json(),
        }
    }

    /// A message that is not an envelope, of the given type.
    pub fn message(event_type: impl Into<String>, json: impl Into<String>) -> Self {
        Self {
            event_type: event_type.into(),
            id: None,
            partition_key: None,
            json: json.into(),
        }
    }

    /// Sets the id.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// Sets the partition key.
    #[must_use]
    pub fn with_partition_key(mut self, key: impl Into<String>) -> Self {
        self.partition_key = Some(key.into());
        self
    }
}

/// Where events go: a bus, a stream, a topic. Sinks implement this; so does
/// [`InMemoryPublisher`] for tests.
pub trait Publisher: Send + Sync + 'static {
    /// The most one request may carry.
    fn limits(&self) -> BatchLimits;

    /// An entry's size as the service counts it against [`BatchLimits::max_bytes`].
    fn entry_size(&self, entry: &PublishEntry) -> usize {
        entry.json.len() + entry.event_type.len()
    }

    /// Publishes one batch (within [`Publisher::limits`]) and returns one result per entry,
    /// in order. Entries the service rejected are `Err`; a whole-request failure is an `Err`
    /// for every entry. A missing result counts as a failure.
    fn publish<'a>(
        &'a self,
        entries: &'a [PublishEntry],
    ) -> BoxFuture<'a, Vec<Result<(), StepError>>>;
}

/// Publishes one batch of entries, guarding against panics and short result lists.
pub(crate) async fn publish_batch(
    publisher: &dyn Publisher,
    entries: &[PublishEntry],
) -> Vec<Result<(), StepError>> {
    let results = guarded_async("publish", || async {
        Ok::<_, StepError>(publisher.publish(entries).await)
    })
    .await;
    match results {
        Ok(mut results) => {
            results.truncate(entries.len());
            while results.len() < entries.len() {
                results.push(Err(StepError::new(
                    "the publisher returned no result for this entry",
                )
                .in_step("publish")));
            }
            results
        }
        Err(error) => entries
            .iter()
            .map(|_| {
                Err(StepError::new(error.message().to_string())
                    .with_name(error.name().to_string())
                    .with_class(error.class())
                    .in_step("publish"))
            })
            .collect(),
    }
}

/// A publisher that keeps what it is given, for tests and local runs. It can be told to reject
/// entries (by a predicate) or to fail whole requests, to exercise the error paths.
#[derive(Default)]
pub struct InMemoryPublisher {
    limits: Option<BatchLimits>,
    published: Mutex<Vec<PublishEntry>>,
    requests: Mutex<Vec<usize>>,
    reject: Option<Rejector>,
    fail_requests: Option<StepErrorFactory>,
}

type Rejector = Box<dyn Fn(&PublishEntry) -> Option<StepError> + Send + Sync>;
type StepErrorFactory = Box<dyn Fn() -> StepError + Send + Sync>;

impl std::fmt::Debug for InMemoryPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryPublisher")
            .field("limits", &self.limits())
            .field("published", &self.published().len())
            .finish_non_exhaustive()
    }
}

impl InMemoryPublisher {
    /// Accepts everything, 10 entries and 256 KB per request (EventBridge's limits).
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses other limits.
    #[must_use]
    pub fn with_limits(mut self, limits: BatchLimits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// Rejects the entries for which `reject` returns an error, as a service rejects single
    /// entries of a batch.
    #[must_use]
    pub fn rejecting<F>(mut self, reject: F) -> Self
    where
        F: Fn(&PublishEntry) -> Option<StepError> + Send + Sync + 'static,
    {
        self.reject = Some(Box::new(reject));
        self
    }

    /// Fails every request with the error `make` returns.
    #[must_use]
    pub fn failing<F>(mut self, make: F) -> Self
    where
        F: Fn() -> StepError + Send + Sync + 'static,
    {
        self.fail_requests = Some(Box::new(make));
        self
    }

    /// Everything published so far.
    pub fn published(&self) -> Vec<PublishEntry> {
        lock(&self.published).clone()
    }

    /// The published entries parsed back into envelopes (entries that do not parse are left
    /// out; tests compare counts).
    pub fn envelopes(&self) -> Vec<Envelope> {
        lock(&self.published)
            .iter()
            .filter_map(|e| Envelope::from_slice(e.json.as_bytes()).ok())
            .collect()
    }

    /// The number of entries of each request, in order.
    pub fn request_sizes(&self) -> Vec<usize> {
        lock(&self.requests).clone()
    }

    /// Forgets what was published.
    pub fn clear(&self) {
        lock(&self.published).clear();
        lock(&self.requests).clear();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Publisher for InMemoryPublisher {
    fn limits(&self) -> BatchLimits {
        self.limits.unwrap_or(BatchLimits::EVENTBRIDGE)
    }

    fn publish<'a>(
        &'a self,
        entries: &'a [PublishEntry],
    ) -> BoxFuture<'a, Vec<Result<(), StepError>>> {
        async move {
            lock(&self.requests).push(entries.len());
            if let Some(make) = &self.fail_requests {
                return entries.iter().map(|_| Err(make())).collect();
            }
            let mut results = Vec::with_capacity(entries.len());
            let mut published = lock(&self.published);
            for entry in entries {
                match self.reject.as_ref().and_then(|reject| reject(entry)) {
                    Some(error) => results.push(Err(error)),
                    None => {
                        published.push(entry.clone());
                        results.push(Ok(()));
                    }
                }
            }
            results
        }
        .boxed()
    }
}

impl Pipeline<Envelope> {
    /// Publishes each unit's event: adds the standard tags (the event's own tags win),
    /// serializes it once, then [`send`](Pipeline::send)s the entries. Each unit ends by its
    /// own entry's result.
    pub fn publish(self, publisher: Arc<dyn Publisher>, concurrency: usize) -> Pipeline<()> {
        self.stage(move |flow| {
            // The standard tags are the same for every event of this run: write them once.
            let standard = OnceLock::new();
            map_units(flow, move |uow: Uow<Envelope>| {
                let (uow, event) = uow.replace(());
                match guarded("publish", || {
                    Ok::<_, StepError>(prepare(&uow, event, &standard))
                }) {
                    Ok(entry) => Ok(uow.with_value(entry)),
                    Err(error) => Err(Settled::failed(uow.members, error)),
                }
            })
        })
        .send(publisher, concurrency)
    }
}

impl Pipeline<PublishEntry> {
    /// Sends entries already built (a message for a topic or queue, say, that is not an
    /// envelope): groups them to the publisher's limits by its entry sizes and sends up to
    /// `concurrency` requests at a time. Each unit ends by its own entry's result.
    pub fn send(self, publisher: Arc<dyn Publisher>, concurrency: usize) -> Pipeline<()> {
        let limits = publisher.limits();
        let sizer = Arc::clone(&publisher);
        self.batch(limits, move |uow| sizer.entry_size(&uow.value))
            .stage(move |flow| {
                let publisher = Arc::clone(&publisher);
                flow.map(move |item| {
                    let publisher = Arc::clone(&publisher);
                    async move {
                        let batch = match item {
                            Ok(batch) => batch,
                            Err(settled) => return vec![Err(settled)],
                        };
                        let (_, units) = batch.replace(());
                        let (units, entries): (Vec<Uow<()>>, Vec<PublishEntry>) =
                            units.into_iter().map(|uow| uow.replace(())).unzip();
                        let results = publish_batch(publisher.as_ref(), &entries).await;
                        units
                            .into_iter()
                            .zip(results)
                            .map(|(uow, result)| match result {
                                Ok(()) => Ok(uow),
                                Err(error) => Err(Settled::failed(uow.members, error)),
                            })
                            .collect()
                    }
                })
                .buffered(concurrency.max(1))
                .flat_map(futures::stream::iter)
                .boxed()
            })
    }
}

/// The entry for an event: its JSON with the standard tags.
fn prepare(
    uow: &Uow<()>,
    event: Envelope,
    standard: &OnceLock<Option<Box<RawValue>>>,
) -> PublishEntry {
    let cached = if event.tags.is_empty() {
        standard
            .get_or_init(|| standard_tags_json(&uow.invocation.tags, &uow.pipeline))
            .as_deref()
    } else {
        None
    };
    let json = match cached {
        Some(tags) => event.to_json_with_raw_tags(tags),
        None => event.to_json_with_tags(&uow.invocation.tags, &uow.pipeline),
    };
    let Envelope {
        id,
        event_type,
        partition_key,
        ..
    } = event;
    PublishEntry {
        event_type,
        id: Some(id),
        partition_key,
        json,
    }
}
