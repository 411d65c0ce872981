//! The hand-written floor: each workload written for speed with no library, from the same
//! Lambda JSON bytes to the same published events. It reads the event as `lambda_runtime`
//! hands it over (the one thing every Rust function shares), then picks out only the fields
//! it needs (sonic-rs), decodes base64 into a reused buffer (base64-simd), reads the event's
//! type before anything else, parses the wanted events borrowed (serde_json) and writes the
//! external events into one reused batch buffer. What the library costs above this is the
//! price of its guarantees and its generality.

use serde::Deserialize;
use serde::ser::{SerializeMap, Serializer as _};
use serde_json::value::RawValue;
use sonic_rs::JsonValueTrait;

use crate::workload::{Entity, SharedEntity, Workload, entity_name, read_like_the_runtime};

/// The Lambda event as the runtime hands it over: each record's JSON, nothing else.
#[derive(Deserialize)]
struct Event {
    #[serde(rename = "Records")]
    records: Vec<Box<RawValue>>,
}

/// The fields of an envelope the workloads read.
#[derive(Deserialize)]
struct Wanted<'a> {
    id: &'a str,
    timestamp: i64,
    #[serde(rename = "partitionKey", borrow)]
    partition_key: Option<&'a str>,
    #[serde(borrow)]
    thing: Option<Entity<'a>>,
    #[serde(borrow)]
    order: Option<Entity<'a>>,
}

/// EventBridge's limits per `PutEvents` request.
const MAX_ENTRIES: usize = 10;
const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// Entries of one request, written back to back into one buffer.
struct Request {
    buffer: Vec<u8>,
    entries: usize,
    bytes: usize,
    published: usize,
    requests: usize,
}

impl Request {
    /// "Sends" the request: the floor's sink counts, as the library's benchmark sink does.
    fn send(&mut self) {
        if self.entries > 0 {
            std::hint::black_box(&self.buffer);
            self.published += self.entries;
            self.requests += 1;
        }
        self.buffer.clear();
        self.entries = 0;
        self.bytes = 0;
    }
}

/// Runs a workload over the Lambda JSON bytes; returns the events published.
pub fn run(workload: Workload, json: &[u8], tags: &RawValue) -> usize {
    let Ok(event) = read_like_the_runtime::<Event>(json) else {
        return 0;
    };
    let detail_type = workload.shared_type();
    let mut data: Vec<u8> = Vec::with_capacity(2048);
    let mut entry: Vec<u8> = Vec::with_capacity(1024);
    let mut request = Request {
        buffer: Vec::with_capacity(16 * 1024),
        entries: 0,
        bytes: 0,
        published: 0,
        requests: 0,
    };
    for record in &event.records {
        let Ok(field) = sonic_rs::get_from_str(record.get(), ["kinesis", "data"]) else {
            continue;
        };
        let Some(base64) = field.as_str() else {
            continue;
        };
        data.clear();
        if base64_simd::STANDARD
            .decode_append(base64.as_bytes(), &mut data)
            .is_err()
        {
            continue;
        }
        let Ok(event_type) = sonic_rs::get_from_slice(&data, ["type"]) else {
            continue;
        };
        let Some(event_type) = event_type.as_str() else {
            continue;
        };
        if !workload.wants(event_type) {
            continue;
        }
        let Ok(wanted) = serde_json::from_slice::<Wanted<'_>>(&data) else {
            continue;
        };
        let Some(entity) = wanted.thing.as_ref().or(wanted.order.as_ref()) else {
            continue;
        };
        entry.clear();
        if write_shared(
            &mut entry,
            detail_type,
            &wanted,
            entity_name(event_type),
            entity,
            tags,
        )
        .is_err()
        {
            continue;
        }
        let size = "custom".len() + detail_type.len() + entry.len();
        if request.entries > 0 && request.bytes + size > MAX_REQUEST_BYTES {
            request.send();
        }
        request.buffer.extend_from_slice(&entry);
        request.entries += 1;
        request.bytes += size;
        if request.entries == MAX_ENTRIES {
            request.send();
        }
    }
    request.send();
    std::hint::black_box(request.requests);
    request.published
}

/// Writes the external event: the same bytes the library publishes.
fn write_shared(
    out: &mut Vec<u8>,
    detail_type: &str,
    wanted: &Wanted<'_>,
    entity_name: &str,
    entity: &Entity<'_>,
    tags: &RawValue,
) -> Result<(), serde_json::Error> {
    let mut serializer = serde_json::Serializer::new(out);
    let mut map = serializer.serialize_map(None)?;
    map.serialize_entry("id", wanted.id)?;
    map.serialize_entry("type", detail_type)?;
    map.serialize_entry("timestamp", &wanted.timestamp)?;
    map.serialize_entry("partitionKey", wanted.partition_key.unwrap_or(wanted.id))?;
    map.serialize_entry("tags", tags)?;
    map.serialize_entry(entity_name, &SharedEntity::from(entity))?;
    map.end()
}

/// The standard tags and `pipeline` as the library writes them on every published event,
/// written once.
pub fn tags_json() -> Box<RawValue> {
    let mut tags = crate::workload::standard_tags();
    tags.insert("pipeline", "share");
    serde_json::value::to_raw_value(&tags)
        .unwrap_or_else(|e| panic!("the standard tags serialize: {e}"))
}
