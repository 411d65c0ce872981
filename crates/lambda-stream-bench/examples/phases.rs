//! Times the phases of the egress workload separately (decode, map, serialize, drop), to see
//! where a batch's time goes: `cargo run --release -p lambda-stream-bench --example phases`.

use std::hint::black_box;
use std::time::Instant;

use lambda_stream::{Envelope, KinesisSource, Source, Tags};
use lambda_stream_bench::{ExternalThing, RECORDS, Thing, kinesis_event};

fn rss(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let source = KinesisSource::new();
    for _ in 0..3 {
        let event = kinesis_event(RECORDS);
        let before = rss("VmHWM:");
        let t = Instant::now();
        let records = source.records(event);
        let wrap = t.elapsed();
        println!(
            "peak before wrapping {before} KiB, after {} KiB",
            rss("VmHWM:")
        );

        let t = Instant::now();
        let mut n = 0usize;
        for r in &records {
            if let Some(k) = r.as_kinesis() {
                n += Envelope::from_slice(&k.kinesis.data.0)
                    .map(|e| e.id.len())
                    .unwrap_or(0);
            }
        }
        black_box(n);
        let plain = t.elapsed();
        let t = Instant::now();
        let mut n = 0usize;
        for r in &records {
            if let Some(k) = r.as_kinesis() {
                n += serde_json::from_slice::<serde_json::Value>(&k.kinesis.data.0)
                    .map(|e| e.as_object().map_or(0, |o| o.len()))
                    .unwrap_or(0);
            }
        }
        black_box(n);
        let value = t.elapsed();
        println!("from_slice {plain:?} value {value:?}");
        let t = Instant::now();
        let envelopes: Vec<Envelope> = records
            .iter()
            .filter_map(|r| source.decode(r).ok())
            .collect();
        let decode = t.elapsed();

        let t = Instant::now();
        let things: Vec<Thing<'_>> = envelopes
            .iter()
            .filter_map(|e| e.entity_ref::<Thing<'_>>().ok())
            .collect();
        let entity = t.elapsed();

        let t = Instant::now();
        let mapped: Vec<Envelope> = envelopes
            .iter()
            .zip(&things)
            .filter_map(|(e, thing)| {
                Envelope::builder("thing-shared")
                    .id(e.id.clone())
                    .timestamp(e.timestamp)
                    .partition_key(e.partition_key.clone().unwrap_or_default())
                    .entity("thing", &ExternalThing::from(thing))
                    .build()
                    .ok()
            })
            .collect();
        let build = t.elapsed();

        let mut defaults = Tags::new();
        for tag in ["account", "region", "stage", "source", "functionname"] {
            defaults.insert(tag, "value-of-the-tag");
        }
        let t = Instant::now();
        let json: Vec<String> = mapped
            .iter()
            .map(|e| e.to_json_with_tags(&defaults, "pipeline"))
            .collect();
        let serialize = t.elapsed();
        black_box(&json);

        let t = Instant::now();
        drop((things, mapped, json));
        drop(envelopes);
        let drop_work = t.elapsed();
        let t = Instant::now();
        drop(records);
        let drop_input = t.elapsed();
        println!(
            "wrap {wrap:?} decode {decode:?} entity {entity:?} build {build:?} serialize {serialize:?} drop-work {drop_work:?} drop-input {drop_input:?}"
        );
    }
}
