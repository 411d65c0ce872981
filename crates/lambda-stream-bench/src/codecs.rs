//! The measurements behind the fast path's choice of JSON and base64 libraries: each step the
//! library takes, done with the chosen library and with the alternative, over the same
//! 10,000 Kinesis records (`lambda-stream-bench codecs`).

use std::borrow::Cow;
use std::hint::black_box;

use base64::Engine;
use serde::Deserialize;
use serde_json::value::RawValue;
use sonic_rs::JsonValueTrait;

use crate::measure::{Spread, ms, timed};
use crate::workload::{RECORDS, Workload, kinesis_event_json, read_like_the_runtime};

#[derive(Deserialize)]
struct Records {
    #[serde(rename = "Records")]
    records: Vec<Box<RawValue>>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // read to be measured
struct KinesisFields<'a> {
    #[serde(rename = "eventID", borrow)]
    event_id: Option<&'a str>,
    #[serde(borrow)]
    kinesis: Option<KinesisInner<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // read to be measured
struct KinesisInner<'a> {
    #[serde(borrow)]
    data: Option<&'a str>,
    #[serde(borrow)]
    partition_key: Option<&'a str>,
    #[serde(borrow)]
    sequence_number: Option<&'a str>,
    approximate_arrival_timestamp: Option<f64>,
}

#[derive(Deserialize)]
struct TypeOnly<'a> {
    #[serde(rename = "type", borrow)]
    event_type: Cow<'a, str>,
}

/// One measured step: the chosen way and the alternative, as (label, median ms) pairs.
pub type Step = (&'static str, (&'static str, f64), (&'static str, f64));

/// Measures every step `rounds` times, taking turns, and returns the medians.
pub fn measure(rounds: usize) -> Vec<Step> {
    let json = kinesis_event_json(Workload::Egress, RECORDS);
    let records: Records = read_like_the_runtime(&json).unwrap_or_else(|e| panic!("{e}"));
    let data: Vec<String> = records
        .records
        .iter()
        .filter_map(|r| sonic_rs::get_from_str(r.get(), ["kinesis", "data"]).ok())
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let payloads: Vec<Vec<u8>> = data
        .iter()
        .filter_map(|d| base64_simd::STANDARD.decode_to_vec(d).ok())
        .collect();
    let texts: Vec<String> = payloads
        .iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); 10];
    for _ in 0..rounds.max(1) {
        let runs: [&dyn Fn() -> usize; 10] = [
            &|| read_like_the_runtime::<Records>(&json).map_or(0, |e| e.records.len()),
            &|| {
                read_like_the_runtime::<
                    lambda_stream::aws_lambda_events::event::kinesis::KinesisEvent,
                >(&json)
                .map_or(0, |e| e.records.len())
            },
            &|| {
                records
                    .records
                    .iter()
                    .filter_map(|r| sonic_rs::get_from_str(r.get(), ["kinesis", "data"]).ok())
                    .map(|v| v.as_raw_str().len())
                    .sum()
            },
            &|| {
                records
                    .records
                    .iter()
                    .filter_map(|r| serde_json::from_str::<KinesisFields<'_>>(r.get()).ok())
                    .filter_map(|f| f.kinesis.and_then(|k| k.data).map(str::len))
                    .sum()
            },
            &|| {
                data.iter()
                    .filter_map(|d| base64_simd::STANDARD.decode_to_vec(d).ok())
                    .map(|v| v.len())
                    .sum()
            },
            &|| {
                let engine = base64::engine::general_purpose::STANDARD;
                data.iter()
                    .filter_map(|d| engine.decode(d).ok())
                    .map(|v| v.len())
                    .sum()
            },
            &|| {
                texts
                    .iter()
                    .filter_map(|t| sonic_rs::get_from_str(t, ["type"]).ok())
                    .map(|v| v.as_raw_str().len())
                    .sum()
            },
            &|| {
                texts
                    .iter()
                    .filter_map(|t| serde_json::from_str::<TypeOnly<'_>>(t).ok())
                    .map(|t| t.event_type.len())
                    .sum()
            },
            &|| {
                texts
                    .iter()
                    .filter_map(|t| lambda_stream::Envelope::parse(t.as_str()).ok())
                    .map(|e| e.id().len())
                    .sum()
            },
            &|| {
                texts
                    .iter()
                    .map(|t| {
                        sonic_rs::to_object_iter(t.as_str())
                            .filter_map(Result::ok)
                            .map(|(k, v)| k.len() + v.as_raw_str().len())
                            .sum::<usize>()
                    })
                    .sum()
            },
        ];
        for (slot, run) in times.iter_mut().zip(runs) {
            let (time, result) = timed(run);
            black_box(result);
            slot.push(ms(time));
        }
    }
    let m: Vec<f64> = times.iter().map(|t| Spread::of(t).median).collect();
    vec![
        (
            "reading the Lambda event",
            ("each record kept as its JSON", m[0]),
            ("aws_lambda_events types", m[1]),
        ),
        (
            "picking `kinesis.data` out of each record",
            ("sonic-rs get", m[2]),
            ("borrowed serde_json struct of the record's fields", m[3]),
        ),
        (
            "base64-decoding the data",
            ("base64-simd", m[4]),
            ("base64", m[5]),
        ),
        (
            "reading each event's type first",
            ("sonic-rs get", m[6]),
            ("serde_json struct with only `type`", m[7]),
        ),
        (
            "parsing each envelope",
            (
                "Envelope::parse (serde_json, checked, spans, copies the text)",
                m[8],
            ),
            ("sonic-rs object iterator (keys and raw values only)", m[9]),
        ),
    ]
}
