//! Fault events, in the shape the Node library publishes so its tooling can resubmit ours:
//! `{id, partitionKey, type: "fault", timestamp, tags, err: {name, message, stack}, uow}`.
//!
//! `uow` keeps the pipeline and each record verbatim (so it can be replayed), plus the decoded
//! event with the fields named in its `eem.fields` redacted. Nothing a step produced is
//! included, so decrypted values and outgoing requests never leak into a fault.
//!
//! A fault must always be publishable, or one bad record would fail its whole batch on every
//! delivery. [`fault_events`] makes the events fit the fault publisher (as its
//! `entry_size` counts them, which includes what the service adds, and which a claim-check
//! publisher reports as the pointer it will send):
//!
//! 1. the whole unit, with its decoded events;
//! 2. the records without the decoded events;
//! 3. a unit of several records split into several faults, each with some of the records;
//! 4. a single record too large even alone is *trimmed*: its large values are replaced by
//!    their size and SHA-256, and `uow.trimmed` states the loss (the record's size, digest and
//!    why). Configure a claim-check publisher for faults to keep such records whole.

use std::ops::Range;

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::envelope::redact::redacted_event;
use crate::envelope::{Envelope, Tags};
use crate::error::StepError;
use crate::record::SourceRecord;

/// The type of fault events.
pub const FAULT_EVENT_TYPE: &str = "fault";

/// The most a fault event may weigh when no publisher says otherwise (EventBridge's entry
/// limit).
pub const MAX_FAULT_BYTES: usize = 256 * 1024;

/// Values of a trimmed record at most this long are kept.
const KEPT_VALUE_BYTES: usize = 512;

/// One failed record of a unit: the record as delivered and the event decoded from it.
#[derive(Debug, Clone, Copy)]
pub struct FailedRecord<'a> {
    /// The record.
    pub record: SourceRecord<'a>,
    /// The decoded event, when the record could be decoded.
    pub event: Option<&'a Envelope>,
}

/// A fault event and which of the unit's records it carries.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FaultEvent {
    /// The event.
    pub event: Envelope,
    /// The positions, in the records given to [`fault_events`], of the records it carries.
    pub records: Range<usize>,
    /// True when the records were trimmed to fit.
    pub trimmed: bool,
}

#[derive(Serialize)]
struct Err<'a> {
    name: &'a str,
    message: &'a str,
    stack: String,
}

#[derive(Serialize)]
struct UowOut<'a> {
    pipeline: &'a str,
    record: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trimmed: Option<Trimmed>,
}

/// What a trimmed record lost.
#[derive(Serialize)]
struct Trimmed {
    bytes: usize,
    sha256: String,
    reason: &'static str,
}

/// The fault event for a failed unit of `records` in `pipeline`, within the default
/// 256 KB (use [`fault_events`] to fit a publisher's own limit).
pub fn fault_event(
    pipeline: &str,
    error: &StepError,
    records: &[FailedRecord<'_>],
    tags: &Tags,
) -> Vec<FaultEvent> {
    fault_events(pipeline, error, records, tags, &|event| {
        event.to_json().len() + FAULT_EVENT_TYPE.len() <= MAX_FAULT_BYTES
    })
}

/// The fault events for a failed unit of `records` in `pipeline`, each one accepted by
/// `fits` if anything can be (see the module docs for the order of what is given up).
/// Every record is in exactly one of them.
pub fn fault_events(
    pipeline: &str,
    error: &StepError,
    records: &[FailedRecord<'_>],
    tags: &Tags,
    fits: &dyn Fn(&Envelope) -> bool,
) -> Vec<FaultEvent> {
    let err = Err {
        name: error.name(),
        message: error.message(),
        stack: error.stack(),
    };
    let mut fault_tags = tags.clone();
    fault_tags.insert("pipeline", pipeline);
    let context = Context {
        pipeline,
        err: &err,
        tags: &fault_tags,
        fits,
    };
    let mut out = Vec::new();
    if !records.is_empty() {
        context.fit(records, 0..records.len(), &mut out);
    }
    out
}

struct Context<'c> {
    pipeline: &'c str,
    err: &'c Err<'c>,
    tags: &'c Tags,
    fits: &'c dyn Fn(&Envelope) -> bool,
}

impl Context<'_> {
    fn fit(&self, all: &[FailedRecord<'_>], range: Range<usize>, out: &mut Vec<FaultEvent>) {
        let records = &all[range.clone()];
        for with_events in [true, false] {
            let units: Vec<UowOut<'_>> = records
                .iter()
                .map(|r| UowOut {
                    pipeline: self.pipeline,
                    record: r.record.raw(),
                    event: if with_events {
                        r.event.map(redacted_event)
                    } else {
                        None
                    },
                    trimmed: None,
                })
                .collect();
            let event = self.build(&units, self.err);
            if (self.fits)(&event) {
                out.push(FaultEvent {
                    event,
                    records: range,
                    trimmed: false,
                });
                return;
            }
        }
        if records.len() > 1 {
            let middle = range.start + records.len() / 2;
            self.fit(all, range.start..middle, out);
            self.fit(all, middle..range.end, out);
            return;
        }
        let Some(record) = records.first() else {
            return;
        };
        let json = record.record.json();
        let kept = trim(json);
        let kept_raw = RawValue::from_string(kept).unwrap_or_else(|_| empty_object());
        let unit = UowOut {
            pipeline: self.pipeline,
            record: &kept_raw,
            event: None,
            trimmed: Some(Trimmed {
                bytes: json.len(),
                sha256: hex_sha256(json.as_bytes()),
                reason: "the record does not fit in a fault event and the fault publisher has no claim-check store: values over 512 bytes were replaced by their size and SHA-256",
            }),
        };
        let event = self.build(std::slice::from_ref(&unit), self.err);
        if (self.fits)(&event) {
            out.push(FaultEvent {
                event,
                records: range,
                trimmed: true,
            });
            return;
        }
        // Only the error can still be too large: cut its text.
        let message = cut(self.err.message, 4096);
        let stack = cut(&self.err.stack, 4096);
        let err = Err {
            name: self.err.name,
            message: &message,
            stack: stack.to_string(),
        };
        out.push(FaultEvent {
            event: self.build(std::slice::from_ref(&unit), &err),
            records: range,
            trimmed: true,
        });
    }

    fn build(&self, units: &[UowOut<'_>], err: &Err<'_>) -> Envelope {
        let builder = Envelope::builder(FAULT_EVENT_TYPE)
            .partition_key(uuid::Uuid::new_v4().to_string())
            .tags(self.tags.clone())
            .entity("err", err);
        let builder = match units {
            [single] => builder.entity("uow", single),
            many => builder.entity(
                "uow",
                &serde_json::json!({ "pipeline": self.pipeline, "batch": many }),
            ),
        };
        // Every part is plain data that serializes; fall back to a minimal fault rather than
        // losing the failure if it ever did not.
        builder.build().unwrap_or_else(|e| {
            let mut minimal = Envelope::builder(FAULT_EVENT_TYPE)
                .build()
                .unwrap_or_else(|_| unreachable_fault());
            let _ = minimal.set_field(
                "err",
                &serde_json::json!({"name": "FaultError", "message": e.to_string()}),
            );
            minimal
        })
    }
}

fn cut(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes in all)", &text[..end], text.len()).into()
}

fn empty_object() -> Box<RawValue> {
    RawValue::from_string("{}".to_string()).unwrap_or_else(|_| unreachable!("{{}} is JSON"))
}

fn hex_sha256(bytes: &[u8]) -> String {
    use std::fmt::Write;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// The JSON `json` with every value longer than [`KEPT_VALUE_BYTES`] that is not an object
/// or array replaced by `{"trimmed": {"bytes", "sha256"}}`; objects and arrays are walked, so
/// ids, sequence numbers and attributes stay. Numbers keep their text.
fn trim(json: &str) -> String {
    if json.len() <= KEPT_VALUE_BYTES {
        return json.to_string();
    }
    let marker = || {
        serde_json::json!({ "trimmed": { "bytes": json.len(), "sha256": hex_sha256(json.as_bytes()) } })
            .to_string()
    };
    let trimmed = json.trim_start();
    if trimmed.starts_with('{') {
        // Key order is not kept (metadata only); values keep their text.
        match serde_json::from_str::<std::collections::BTreeMap<String, Box<RawValue>>>(json) {
            Ok(map) => {
                let mut out = String::from("{");
                for (i, (key, value)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(
                        &serde_json::to_string(key).unwrap_or_else(|_| String::from("\"\"")),
                    );
                    out.push(':');
                    out.push_str(&trim(value.get()));
                }
                out.push('}');
                out
            }
            Err(_) => marker(),
        }
    } else if trimmed.starts_with('[') {
        match serde_json::from_str::<Vec<Box<RawValue>>>(json) {
            Ok(items) => {
                let parts: Vec<String> = items.iter().map(|v| trim(v.get())).collect();
                format!("[{}]", parts.join(","))
            }
            Err(_) => marker(),
        }
    } else {
        marker()
    }
}

#[cold]
fn unreachable_fault() -> Envelope {
    // `Envelope::builder("fault").build()` only fails for an empty type.
    Envelope::from_slice(br#"{"id":"fault","type":"fault","timestamp":0}"#)
        .unwrap_or_else(|_| unreachable!("a constant envelope parses"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{RawRecord, Records};

    fn raw_record(body: &str) -> Records {
        Records::from_values(&[RawRecord {
            id: "r1".into(),
            timestamp: 1,
            body: body.into(),
        }])
        .expect("serializes")
    }

    fn first(records: &Records) -> SourceRecord<'_> {
        records.get(0).expect("one record")
    }

    fn one(mut faults: Vec<FaultEvent>) -> Envelope {
        assert_eq!(faults.len(), 1, "one fault event");
        faults.remove(0).event
    }

    #[test]
    fn fault_has_the_node_shape_and_keeps_the_record_verbatim() {
        let record = raw_record("payload");
        let event = Envelope::from_slice(
            br#"{"id":"e1","type":"thing-created","timestamp":1,"thing":{"name":"n","ssn":"123"},"eem":{"fields":["ssn"]}}"#,
        )
        .expect("valid");
        let mut tags = Tags::new();
        tags.insert("functionname", "fn");
        let error = StepError::new("boom").with_name("MappingError");
        let fault = one(fault_event(
            "p1",
            &error,
            &[FailedRecord {
                record: first(&record),
                event: Some(&event),
            }],
            &tags,
        ));
        let json: Value = serde_json::from_str(&fault.to_json()).expect("json");
        assert_eq!(json["type"], "fault");
        assert!(json["id"].is_string() && json["partitionKey"].is_string());
        assert!(json["timestamp"].is_i64());
        assert_eq!(json["tags"]["functionname"], "fn");
        assert_eq!(json["tags"]["pipeline"], "p1");
        assert_eq!(json["err"]["name"], "MappingError");
        assert_eq!(json["err"]["message"], "boom");
        assert_eq!(
            json["err"]["stack"].as_str(),
            Some("MappingError: boom"),
            "a stack is never empty"
        );
        assert_eq!(json["uow"]["pipeline"], "p1");
        assert_eq!(json["uow"]["record"]["body"], "payload");
        assert_eq!(json["uow"]["event"]["thing"]["ssn"], "[REDACTED]");
        assert_eq!(json["uow"]["event"]["thing"]["name"], "n");
        assert_eq!(json["uow"]["event"]["eem"]["fields"][0], "ssn");
    }

    #[test]
    fn batches_list_every_record() {
        let a = raw_record("a");
        let b = raw_record("b");
        let fault = one(fault_event(
            "p",
            &StepError::new("x"),
            &[
                FailedRecord {
                    record: first(&a),
                    event: None,
                },
                FailedRecord {
                    record: first(&b),
                    event: None,
                },
            ],
            &Tags::new(),
        ));
        let uow: Value = fault.field("uow").expect("uow");
        assert_eq!(uow["batch"].as_array().map(Vec::len), Some(2));
        assert_eq!(uow["batch"][1]["record"]["body"], "b");
    }

    #[test]
    fn oversized_faults_are_cut_down_to_the_records() {
        let record = raw_record("small");
        let big = "x".repeat(300 * 1024);
        let event = Envelope::builder("thing-created")
            .entity("thing", &serde_json::json!({ "blob": big }))
            .build()
            .expect("valid");
        let fault = one(fault_event(
            "p",
            &StepError::new("x"),
            &[FailedRecord {
                record: first(&record),
                event: Some(&event),
            }],
            &Tags::new(),
        ));
        assert!(fault.to_json().len() <= MAX_FAULT_BYTES);
        let uow: Value = fault.field("uow").expect("uow");
        assert!(uow.get("event").is_none());
        assert_eq!(uow["record"]["body"], "small");
    }
}
