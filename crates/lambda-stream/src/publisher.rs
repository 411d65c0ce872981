//! Where events go: the [`Publisher`] trait that sinks implement (EventBridge, Kinesis, SNS,
//! SQS, ...), the entries they take, and an in-memory publisher for tests. The `publish` and
//! `send` steps that use them are in [`crate::step::publish`].

use std::sync::Mutex;

use futures::FutureExt;
use futures::future::BoxFuture;

use crate::envelope::Envelope;
use crate::error::StepError;
use crate::pipeline::guarded_async;
use crate::step::batch::BatchLimits;

/// One event or message ready to send: its JSON, its type, and its id and partition key if
/// it has them.
///
/// An entry made from an envelope is one string: the type, id and key are read from the JSON
/// written for the event, not copied beside it.
#[derive(Clone)]
pub struct PublishEntry {
    json: String,
    event_type: Part,
    id: Option<Part>,
    partition_key: Option<Part>,
}

/// Where a part of an entry lives: a span of its JSON, or a string of its own.
#[derive(Clone)]
enum Part {
    In { start: u32, end: u32 },
    Own(String),
}

impl Part {
    fn get<'a>(&'a self, json: &'a str) -> &'a str {
        match self {
            Self::In { start, end } => json.get(*start as usize..*end as usize).unwrap_or(""),
            Self::Own(s) => s,
        }
    }

    /// The part at `span` of `json` if it reads `value` there, else a copy of `value`.
    fn of(json: &str, span: Option<(usize, usize)>, value: &str) -> Self {
        if let Some((start, end)) = span
            && json.get(start..end) == Some(value)
            && let (Ok(start), Ok(end)) = (u32::try_from(start), u32::try_from(end))
        {
            return Self::In { start, end };
        }
        Self::Own(value.to_string())
    }
}

impl PublishEntry {
    /// Serializes an envelope.
    pub fn from_envelope(event: &Envelope) -> Self {
        let (json, spans) = event.to_json_with_spans();
        Self::from_written(event, json, spans)
    }

    /// An entry for `event` whose JSON is `json`, with the spans where its id, type and key
    /// were written.
    pub(crate) fn from_written(
        event: &Envelope,
        json: String,
        spans: crate::envelope::Spans,
    ) -> Self {
        let event_type = Part::of(&json, spans.event_type, event.event_type());
        let id = Some(Part::of(&json, spans.id, event.id()));
        let partition_key = event
            .partition_key()
            .map(|key| Part::of(&json, spans.partition_key, key));
        Self {
            json,
            event_type,
            id,
            partition_key,
        }
    }

    /// A message that is not an envelope, of the given type.
    pub fn message(event_type: impl Into<String>, json: impl Into<String>) -> Self {
        Self {
            json: json.into(),
            event_type: Part::Own(event_type.into()),
            id: None,
            partition_key: None,
        }
    }

    /// Sets the id.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(Part::Own(id.into()));
        self
    }

    /// Sets the partition key.
    #[must_use]
    pub fn with_partition_key(mut self, key: impl Into<String>) -> Self {
        self.partition_key = Some(Part::Own(key.into()));
        self
    }

    /// The envelope, or the message, as JSON (EventBridge `Detail`, SNS `Message`, SQS body).
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The event type (EventBridge `DetailType`; a `type` message attribute on SNS and SQS).
    pub fn event_type(&self) -> &str {
        self.event_type.get(&self.json)
    }

    /// The event id, if any (the deduplication id on FIFO topics and queues).
    pub fn id(&self) -> Option<&str> {
        self.id.as_ref().map(|p| p.get(&self.json))
    }

    /// The partition key (Kinesis; the message group on FIFO topics and queues), if any.
    pub fn partition_key(&self) -> Option<&str> {
        self.partition_key.as_ref().map(|p| p.get(&self.json))
    }

    /// The JSON, taken.
    pub fn into_json(self) -> String {
        self.json
    }
}

impl PartialEq for PublishEntry {
    fn eq(&self, other: &Self) -> bool {
        self.json == other.json
            && self.event_type() == other.event_type()
            && self.id() == other.id()
            && self.partition_key() == other.partition_key()
    }
}

impl Eq for PublishEntry {}

impl std::fmt::Debug for PublishEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishEntry")
            .field("event_type", &self.event_type())
            .field("id", &self.id())
            .field("partition_key", &self.partition_key())
            .field("json", &self.json)
            .finish()
    }
}

/// Where events go: a bus, a stream, a topic. Sinks implement this; so does
/// [`InMemoryPublisher`] for tests.
pub trait Publisher: Send + Sync + 'static {
    /// The most one request may carry.
    fn limits(&self) -> BatchLimits;

    /// An entry's size as the service counts it against [`BatchLimits::max_bytes`].
    fn entry_size(&self, entry: &PublishEntry) -> usize {
        entry.json().len() + entry.event_type().len()
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
            .filter_map(|e| Envelope::from_slice(e.json().as_bytes()).ok())
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

#[cfg(test)]
mod entry_tests {
    use super::*;

    #[test]
    fn entries_from_envelopes_point_into_their_json_and_copy_what_was_escaped() {
        let plain = Envelope::builder("thing-created")
            .id("e1")
            .timestamp(1)
            .partition_key("k1")
            .build()
            .expect("valid");
        let entry = PublishEntry::from_envelope(&plain);
        assert_eq!(entry.json(), plain.to_json());
        assert_eq!(
            (entry.event_type(), entry.id(), entry.partition_key()),
            ("thing-created", Some("e1"), Some("k1"))
        );
        assert!(matches!(entry.event_type, Part::In { .. }));
        assert!(matches!(entry.id, Some(Part::In { .. })));

        let escaped = Envelope::builder("thing-created")
            .id("a\"b")
            .timestamp(1)
            .build()
            .expect("valid");
        let entry = PublishEntry::from_envelope(&escaped);
        assert_eq!(entry.id(), Some("a\"b"));
        assert!(matches!(entry.id, Some(Part::Own(_))));
        assert_eq!(entry.partition_key(), None);

        // An envelope read and not changed is written as it came, with its parts copied.
        let read = Envelope::parse(r#"{"type":"x","id":"1","timestamp":2}"#).expect("valid");
        let entry = PublishEntry::from_envelope(&read);
        assert_eq!(entry.json(), r#"{"type":"x","id":"1","timestamp":2}"#);
        assert_eq!((entry.event_type(), entry.id()), ("x", Some("1")));

        let message = PublishEntry::message("t", "{}")
            .with_id("m")
            .with_partition_key("g");
        assert_eq!(
            (
                message.event_type(),
                message.id(),
                message.partition_key(),
                message.json()
            ),
            ("t", Some("m"), Some("g"), "{}")
        );
        assert_eq!(message.clone(), message);
        assert!(format!("{message:?}").contains("event_type: \"t\""));
        assert_eq!(message.into_json(), "{}");
    }
}
