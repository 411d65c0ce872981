//! The benchmark workload of the core issue, shared by the criterion bench and the
//! `lambda-stream-bench` binary: a Kinesis event of 10,000 envelopes of ~500 bytes, filter
//! `thing-*` (3 of 4 match), map each to a smaller external envelope, publish in
//! EventBridge-sized batches to a publisher that only counts. Beside it, the codec floor: the
//! same records decoded and encoded with serde alone.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_stream::aws_lambda_events::event::kinesis::KinesisEvent;
use lambda_stream::{
    BatchLimits, Config, Envelope, Invocation, KinesisSource, Pipeline, PublishEntry, Publisher,
    RecordsEvent, StepError, StreamHandler,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Records in the workload's batch.
pub const RECORDS: usize = 10_000;

/// The internal entity as producers write it, borrowed from the event.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Thing<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    status: Cow<'a, str>,
}

/// What the external contract shares of it.
#[derive(Debug, Serialize)]
pub struct ExternalThing<'a> {
    id: &'a str,
    name: &'a str,
    status: &'a str,
}

impl<'a> From<&'a Thing<'_>> for ExternalThing<'a> {
    fn from(thing: &'a Thing<'_>) -> Self {
        Self {
            id: &thing.id,
            name: &thing.name,
            status: &thing.status,
        }
    }
}

/// One ~500-byte envelope; every fourth is not a `thing-*` event.
pub fn envelope(i: usize) -> Envelope {
    let event_type = match i % 4 {
        0 => "thing-created",
        1 => "thing-updated",
        2 => "thing-deleted",
        _ => "order-placed",
    };
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
            "thing",
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

/// The workload's Kinesis event, as `lambda_runtime` hands it to the handler: read from the
/// JSON Lambda sends, so the heap looks as it does in a function.
pub fn kinesis_event(records: usize) -> RecordsEvent {
    RecordsEvent::from_slice(&kinesis_event_json(records))
        .unwrap_or_else(|e| panic!("benchmark event: {e}"))
}

/// The same event read into `aws_lambda_events` types, for the floors.
pub fn typed_kinesis_event(records: usize) -> KinesisEvent {
    serde_json::from_slice(&kinesis_event_json(records))
        .unwrap_or_else(|e| panic!("benchmark event: {e}"))
}

/// The same event as the JSON Lambda sends (written directly, without intermediate values).
pub fn kinesis_event_json(records: usize) -> Vec<u8> {
    let engine = base64::engine::general_purpose::STANDARD;
    let mut json = String::with_capacity(records * 1300 + 16);
    json.push_str(r#"{"Records":["#);
    for i in 0..records {
        if i > 0 {
            json.push(',');
        }
        let event = envelope(i);
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

impl Publisher for CountingPublisher {
    fn limits(&self) -> BatchLimits {
        BatchLimits::EVENTBRIDGE
    }

    fn publish<'a>(
        &'a self,
        entries: &'a [PublishEntry],
    ) -> BoxFuture<'a, Vec<Result<(), StepError>>> {
        async move {
            self.requests.fetch_add(1, Ordering::Relaxed);
            self.entries.fetch_add(entries.len(), Ordering::Relaxed);
            let bytes: usize = entries.iter().map(|e| e.json.len()).sum();
            self.bytes.fetch_add(bytes, Ordering::Relaxed);
            entries.iter().map(|_| Ok(())).collect()
        }
        .boxed()
    }
}

/// The egress pipeline of the seeds' listener: filter, map to the external format, publish.
pub fn egress_pipeline(publisher: Arc<dyn Publisher>) -> Pipeline<()> {
    Pipeline::new("things-to-partner")
        .on_type("thing-*")
        .map(|uow| {
            let thing: Thing<'_> = uow.event.entity_ref()?;
            let external = ExternalThing::from(&thing);
            Envelope::builder("thing-shared")
                .id(uow.event.id())
                .timestamp(uow.event.timestamp())
                .partition_key(uow.partition_key())
                .entity("thing", &external)
                .build()
                .map_err(StepError::from)
        })
        .publish(publisher, 4)
}

/// The handler of the workload.
pub fn handler(publisher: Arc<CountingPublisher>) -> StreamHandler<KinesisSource> {
    let mut tags = lambda_stream::Tags::new();
    tags.insert("account", "dev");
    tags.insert("region", "us-east-1");
    tags.insert("stage", "dev");
    tags.insert("source", "thing-egress-gateway");
    tags.insert("functionname", "thing-egress-gateway-dev-listener");
    let config = Config {
        tags,
        ..Config::default()
    };
    StreamHandler::with_config(KinesisSource::new(), config)
        .pipeline(egress_pipeline(publisher.clone()))
        .faults_to(publisher)
}

/// Runs the handler over the event; returns the records delivered.
pub async fn run_pipeline(handler: &StreamHandler<KinesisSource>, event: RecordsEvent) -> usize {
    let report = handler.process(event, Invocation::local()).await;
    report.summary.pipelines.first().map_or(0, |p| p.delivered)
}

/// Runs the handler over the event and returns its report, which still holds the batch: the
/// caller times freeing it on its own.
pub async fn process(
    handler: &StreamHandler<KinesisSource>,
    event: RecordsEvent,
) -> lambda_stream::Report<lambda_stream::aws_lambda_events::event::streams::KinesisEventResponse> {
    handler.process(event, Invocation::local()).await
}

/// The envelope with borrowed strings and the entity kept raw: what serde alone does best.
#[derive(Serialize, Deserialize)]
struct BorrowedEnvelope<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
    timestamp: i64,
    #[serde(rename = "partitionKey", borrow)]
    partition_key: Option<&'a str>,
    #[serde(borrow)]
    tags: &'a RawValue,
    #[serde(borrow)]
    thing: &'a RawValue,
}

/// Codec floor from decoded records (what the handler receives): parse each record's JSON
/// into a borrowed typed envelope and serialize it again. Returns bytes written.
pub fn floor_typed(event: &KinesisEvent) -> usize {
    let mut written = 0;
    for record in &event.records {
        let Ok(envelope) = serde_json::from_slice::<BorrowedEnvelope<'_>>(&record.kinesis.data.0)
        else {
            continue;
        };
        written += serde_json::to_vec(&envelope).map_or(0, |v| v.len());
    }
    written
}

/// Codec floor from decoded records through `serde_json::Value`.
pub fn floor_value(event: &KinesisEvent) -> usize {
    let mut written = 0;
    for record in &event.records {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&record.kinesis.data.0) else {
            continue;
        };
        written += serde_json::to_vec(&value).map_or(0, |v| v.len());
    }
    written
}

/// The records' data as base64 strings, as they arrive in the Lambda event.
pub fn base64_records(event: &KinesisEvent) -> Vec<String> {
    let engine = base64::engine::general_purpose::STANDARD;
    event
        .records
        .iter()
        .map(|r| engine.encode(&r.kinesis.data.0))
        .collect()
}

/// Codec floor with the base64 decoding: decode, parse typed, serialize.
pub fn floor_base64_typed(records: &[String]) -> usize {
    let engine = base64::engine::general_purpose::STANDARD;
    let mut written = 0;
    for data in records {
        let Ok(bytes) = engine.decode(data) else {
            continue;
        };
        let Ok(envelope) = serde_json::from_slice::<BorrowedEnvelope<'_>>(&bytes) else {
            continue;
        };
        written += serde_json::to_vec(&envelope).map_or(0, |v| v.len());
    }
    written
}

/// For comparison only: the Lambda event with each record kept as its raw JSON (one
/// allocation per record instead of eleven), the representation a leaner source could use.
#[derive(Deserialize)]
pub struct RawRecordsEvent {
    /// The records, verbatim.
    #[serde(rename = "Records")]
    pub records: Vec<Box<RawValue>>,
}

/// Builds the PutEvents requests (entries of 10) for `events`: serializing each envelope and
/// making the SDK's entries. Returns the entries built.
pub fn build_put_events(events: &[Envelope]) -> usize {
    let entries: Vec<PublishEntry> = events.iter().map(PublishEntry::from_envelope).collect();
    let mut built = 0;
    for chunk in entries.chunks(lambda_stream_aws::eventbridge::request::MAX_ENTRIES) {
        let refs: Vec<&PublishEntry> = chunk.iter().collect();
        built +=
            lambda_stream_aws::eventbridge::request::sdk_entries("hub-bus", "custom", &refs).len();
    }
    built
}

/// Builds the PutRecords requests (records of 500) for `events`.
pub fn build_put_records(events: &[Envelope]) -> usize {
    let entries: Vec<PublishEntry> = events.iter().map(PublishEntry::from_envelope).collect();
    let mut built = 0;
    for chunk in entries.chunks(lambda_stream_aws::kinesis::request::MAX_RECORDS) {
        let refs: Vec<&PublishEntry> = chunk.iter().collect();
        built += lambda_stream_aws::kinesis::request::sdk_entries(&refs).map_or(0, |e| e.len());
    }
    built
}
