//! The two workloads, their record shapes and the library's pipelines for them.
//!
//! - **egress**: the seeds' egress listener. A Kinesis batch of ~524-byte envelopes, 3 of 4
//!   `thing-*`; each is mapped to a smaller external envelope and published to EventBridge in
//!   batches of 10 entries / 256 KB.
//! - **listener**: a hub listener on a shared stream: 1 event in 20 is the `order-placed` the
//!   service wants, mapped and published the same way; the other 19 are filtered out.
//!
//! Every implementation (the library, the hand-written floor, the Node library) reads the
//! same Lambda JSON bytes and writes the same external events, tags included.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_stream::{
    BatchLimits, Config, Delivered, Envelope, Invocation, KinesisSource, Pipeline, PublishEntry,
    Publisher, RecordsEvent, StepError, StreamHandler, Tags,
};
use serde::{Deserialize, Serialize};

/// Records in the standard batch.
pub const RECORDS: usize = 10_000;

/// The most Lambda hands a function in one invocation.
pub const LAMBDA_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;

/// Which workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// 3 of 4 records mapped and published.
    Egress,
    /// 1 of 20 records mapped and published.
    Listener,
}

impl Workload {
    /// Both, in the order reports list them.
    pub const ALL: [Workload; 2] = [Workload::Egress, Workload::Listener];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Egress => "egress",
            Self::Listener => "listener",
        }
    }

    /// The workload of that name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.name() == name)
    }

    /// The type of the `i`th record's event.
    pub fn event_type(self, i: usize) -> &'static str {
        match self {
            Self::Egress => match i % 4 {
                0 => "thing-created",
                1 => "thing-updated",
                2 => "thing-deleted",
                _ => "order-placed",
            },
            Self::Listener => match i % 20 {
                0 => "order-placed",
                n if n % 3 == 0 => "thing-created",
                n if n % 3 == 1 => "thing-updated",
                _ => "restaurant-menu-changed",
            },
        }
    }

    /// The types the workload's pipeline keeps (a glob).
    pub fn wanted(self) -> &'static str {
        match self {
            Self::Egress => "thing-*",
            Self::Listener => "order-placed",
        }
    }

    /// True when the workload keeps events of this type.
    pub fn wants(self, event_type: &str) -> bool {
        match self {
            Self::Egress => event_type.starts_with("thing-"),
            Self::Listener => event_type == "order-placed",
        }
    }

    /// The type of the external events it publishes.
    pub fn shared_type(self) -> &'static str {
        match self {
            Self::Egress => "thing-shared",
            Self::Listener => "order-shared",
        }
    }

    /// How many of `records` it publishes.
    pub fn expected(self, records: usize) -> usize {
        (0..records)
            .filter(|i| self.wants(self.event_type(*i)))
            .count()
    }
}

/// The entity of every event, as producers write it, borrowed from the event.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity<'a> {
    /// Its id.
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    /// Its name.
    #[serde(borrow)]
    pub name: Cow<'a, str>,
    /// Its status.
    #[serde(borrow)]
    pub status: Cow<'a, str>,
}

/// What the external contract shares of it.
#[derive(Debug, Serialize)]
pub struct SharedEntity<'a> {
    /// Its id.
    pub id: &'a str,
    /// Its name.
    pub name: &'a str,
    /// Its status.
    pub status: &'a str,
}

impl<'a> From<&'a Entity<'_>> for SharedEntity<'a> {
    fn from(entity: &'a Entity<'_>) -> Self {
        Self {
            id: &entity.id,
            name: &entity.name,
            status: &entity.status,
        }
    }
}

/// The entity field's name for an event type (`thing` for `thing-created`).
pub fn entity_name(event_type: &str) -> &str {
    event_type.split('-').next().unwrap_or(event_type)
}

/// The `i`th envelope of a workload: about 524 bytes.
pub fn envelope(workload: Workload, i: usize) -> Envelope {
    let event_type = workload.event_type(i);
    let id = format!("{:08x}-7f1c-4b7e-9c1d-{:012x}", i, i * 7919);
    Envelope::builder(event_type)
        .id(format!("{:08x}-0eef-11ea-8d71-{:012x}", i, i))
        .timestamp(1_600_000_000_000 + i64::try_from(i).unwrap_or(0))
        .partition_key(id.clone())
        .tag("account", "dev")
        .tag("region", "us-east-1")
        .tag("stage", "dev")
        .tag("source", "thing-bff")
        .tag("functionname", "thing-bff-dev-trigger")
        .tag("pipeline", "t1")
        .entity(
            entity_name(event_type),
            &serde_json::json!({
                "id": id,
                "name": format!("Thing number {i}"),
                "status": "ACTIVE",
                "description": "A thing in the food-delivery example, with a description long enough to make the event about five hundred bytes",
                "quantity": i % 17,
            }),
        )
        .build()
        .unwrap_or_else(|e| panic!("benchmark envelope: {e}"))
}

/// The Kinesis event Lambda would send for `records` events of a workload, as JSON bytes.
pub fn kinesis_event_json(workload: Workload, records: usize) -> Vec<u8> {
    let engine = base64::engine::general_purpose::STANDARD;
    let mut json = String::with_capacity(records * 1300 + 16);
    json.push_str(r#"{"Records":["#);
    for i in 0..records {
        if i > 0 {
            json.push(',');
        }
        let event = envelope(workload, i);
        let data = engine.encode(event.to_json());
        let key = event.partition_key().unwrap_or_default();
        let seq = lambda_stream::testing::sequence_number(i + 1);
        json.push_str(&format!(
            concat!(
                r#"{{"kinesis":{{"kinesisSchemaVersion":"1.0","partitionKey":"{key}","#,
                r#""sequenceNumber":"{seq}","data":"{data}","approximateArrivalTimestamp":1545084650.987}},"#,
                r#""eventSource":"aws:kinesis","eventVersion":"1.0","eventID":"shardId-000000000000:{seq}","#,
                r#""eventName":"aws:kinesis:record","invokeIdentityArn":"arn:aws:iam::123456789012:role/lambda-role","#,
                r#""awsRegion":"us-east-1","eventSourceARN":"arn:aws:kinesis:us-east-1:123456789012:stream/internal"}}"#
            ),
            key = key,
            seq = seq,
            data = data
        ));
    }
    json.push_str("]}");
    json.into_bytes()
}

/// How many records of a workload fit in one Lambda invocation (6 MB).
pub fn records_in_largest_batch(workload: Workload) -> usize {
    // Records are all about the same size: measure a sample and keep a margin for the rest.
    let sample = 200;
    let bytes = kinesis_event_json(workload, sample).len();
    let per_record = bytes.div_ceil(sample);
    let mut records = LAMBDA_PAYLOAD_LIMIT / per_record;
    while records > 0 && kinesis_event_json(workload, records).len() > LAMBDA_PAYLOAD_LIMIT {
        records -= records / 100 + 1;
    }
    records
}

/// The standard tags of the benchmark's function, as its configuration gives them.
pub fn standard_tags() -> Tags {
    let mut tags = Tags::new();
    tags.insert("account", "dev");
    tags.insert("region", "us-east-1");
    tags.insert("stage", "dev");
    tags.insert("source", "thing-egress-gateway");
    tags.insert("functionname", "thing-egress-gateway-dev-listener");
    tags
}

/// A publisher that counts entries and bytes and keeps nothing, so the benchmark measures
/// the pipeline, not a store.
#[derive(Debug, Default)]
pub struct CountingPublisher {
    /// Entries published.
    pub entries: AtomicUsize,
    /// Bytes of JSON published.
    pub bytes: AtomicUsize,
    /// Requests made.
    pub requests: AtomicUsize,
}

impl CountingPublisher {
    /// Entries published so far.
    pub fn published(&self) -> usize {
        self.entries.load(Ordering::Relaxed)
    }
}

impl Publisher for CountingPublisher {
    fn limits(&self) -> BatchLimits {
        BatchLimits::EVENTBRIDGE
    }

    fn entry_size(&self, entry: &PublishEntry) -> usize {
        // What EventBridge counts: Source ("custom"), DetailType and Detail.
        "custom".len() + entry.event_type().len() + entry.json().len()
    }

    fn publish<'a>(
        &'a self,
        entries: &'a [PublishEntry],
    ) -> BoxFuture<'a, Vec<Result<(), StepError>>> {
        async move {
            self.requests.fetch_add(1, Ordering::Relaxed);
            self.entries.fetch_add(entries.len(), Ordering::Relaxed);
            let bytes: usize = entries.iter().map(|e| e.json().len()).sum();
            self.bytes.fetch_add(bytes, Ordering::Relaxed);
            entries.iter().map(|_| Ok(())).collect()
        }
        .boxed()
    }
}

/// The workload's pipeline with the library: filter on type, map to the external event,
/// publish.
pub fn pipeline(workload: Workload, publisher: Arc<dyn Publisher>) -> Pipeline<Delivered> {
    Pipeline::new("share")
        .on_type(workload.wanted())
        .map(move |uow| {
            let entity: Entity<'_> = uow.event.entity_ref()?;
            let event_type = uow.event.event_type();
            Envelope::builder(workload.shared_type())
                .id(uow.event.id())
                .timestamp(uow.event.timestamp())
                .partition_key(uow.partition_key())
                .entity(entity_name(event_type), &SharedEntity::from(&entity))
                .build()
                .map_err(StepError::from)
        })
        .publish(publisher, 4)
}

/// The workload's handler, as a function builds it at init.
pub fn handler(
    workload: Workload,
    publisher: Arc<CountingPublisher>,
) -> StreamHandler<KinesisSource> {
    let config = Config {
        tags: standard_tags(),
        ..Config::default()
    };
    StreamHandler::with_config(KinesisSource::new(), config)
        .pipeline(pipeline(workload, publisher.clone()))
        .faults_to(publisher)
}

/// One invocation as the runtime runs it, from the Lambda JSON bytes: the event read the way
/// `lambda_runtime` reads it, processed, and the response written. Returns the events
/// published, or why the bytes are not a Lambda event.
pub async fn invoke(
    handler: &StreamHandler<KinesisSource>,
    publisher: &CountingPublisher,
    json: &[u8],
) -> Result<usize, String> {
    let before = publisher.published();
    let event = read_like_the_runtime::<RecordsEvent>(json)
        .map_err(|e| format!("not a Kinesis event: {e}"))?;
    let report = handler.process(event, Invocation::local()).await;
    let response = report
        .response
        .as_ref()
        .map(|r| serde_json::to_vec(r).map_or(0, |v| v.len()))
        .unwrap_or(0);
    std::hint::black_box(response);
    drop(report);
    Ok(publisher.published() - before)
}

/// Reads a Lambda payload as `lambda_runtime` 1.x does: serde_json through
/// `serde_path_to_error`, into an owned type.
pub fn read_like_the_runtime<T: serde::de::DeserializeOwned>(
    json: &[u8],
) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
    let mut de = serde_json::Deserializer::from_slice(json);
    serde_path_to_error::deserialize(&mut de)
}
