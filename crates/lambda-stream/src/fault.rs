//! Fault events, in the shape the Node library publishes so its tooling can resubmit ours:
//! `{id, partitionKey, type: "fault", timestamp, tags, err: {name, message, stack}, uow}`.
//!
//! `uow` keeps the pipeline and each record verbatim (so it can be replayed), plus the decoded
//! event with the fields named in its `eem.fields` redacted. Nothing a step produced is
//! included, so decrypted values and outgoing requests never leak into a fault. A fault over
//! 256 KB is cut down to the records.

use serde::Serialize;
use serde_json::Value;

use crate::envelope::{Envelope, Tags};
use crate::error::StepError;
use crate::record::SourceRecord;

/// The type of fault events.
pub const FAULT_EVENT_TYPE: &str = "fault";

/// The most a fault event may weigh before it is cut down to its records (EventBridge's
/// entry limit).
pub const MAX_FAULT_BYTES: usize = 256 * 1024;

const REDACTED: &str = "[REDACTED]";

/// One failed record of a unit: the record as delivered and the event decoded from it.
#[derive(Debug, Clone, Copy)]
pub struct FailedRecord<'a> {
    /// The record.
    pub record: SourceRecord<'a>,
    /// The decoded event, when the record could be decoded.
    pub event: Option<&'a Envelope>,
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
    record: SourceRecord<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<Value>,
}

/// Builds the fault event for a failed unit of `records` in `pipeline`.
pub fn fault_event(
    pipeline: &str,
    error: &StepError,
    records: &[FailedRecord<'_>],
    tags: &Tags,
) -> Envelope {
    let err = Err {
        name: error.name(),
        message: error.message(),
        stack: error.chain(),
    };
    let full = build(pipeline, &err, records, tags, true);
    if full.to_json().len() <= MAX_FAULT_BYTES {
        return full;
    }
    build(pipeline, &err, records, tags, false)
}

fn build(
    pipeline: &str,
    err: &Err<'_>,
    records: &[FailedRecord<'_>],
    tags: &Tags,
    with_events: bool,
) -> Envelope {
    let units: Vec<UowOut<'_>> = records
        .iter()
        .map(|r| UowOut {
            pipeline,
            record: r.record,
            event: if with_events {
                r.event.map(redacted_event)
            } else {
                None
            },
        })
        .collect();
    let mut fault_tags = tags.clone();
    fault_tags.insert("pipeline", pipeline);
    let builder = Envelope::builder(FAULT_EVENT_TYPE)
        .partition_key(uuid::Uuid::new_v4().to_string())
        .tags(fault_tags)
        .entity("err", err);
    let builder = match units.as_slice() {
        [single] => builder.entity("uow", single),
        many => builder.entity(
            "uow",
            &serde_json::json!({ "pipeline": pipeline, "batch": many }),
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

#[cold]
fn unreachable_fault() -> Envelope {
    // `Envelope::builder("fault").build()` only fails for an empty type.
    Envelope::from_slice(br#"{"id":"fault","type":"fault","timestamp":0}"#)
        .unwrap_or_else(|_| unreachable!("a constant envelope parses"))
}

/// The event as JSON with the fields listed in its `eem.fields` replaced by `[REDACTED]`,
/// wherever they appear.
fn redacted_event(event: &Envelope) -> Value {
    let mut json = serde_json::from_str(&event.to_json()).unwrap_or(Value::Null);
    let fields = event.encrypted_fields();
    if !fields.is_empty() {
        redact(&mut json, &fields);
    }
    json
}

fn redact(value: &mut Value, fields: &[String]) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key != "eem" && fields.iter().any(|f| f == key) {
                    *v = Value::String(REDACTED.into());
                } else {
                    redact(v, fields);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact(v, fields)),
        _ => {}
    }
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
        let fault = fault_event(
            "p1",
            &error,
            &[FailedRecord {
                record: first(&record),
                event: Some(&event),
            }],
            &tags,
        );
        let json: Value = serde_json::from_str(&fault.to_json()).expect("json");
        assert_eq!(json["type"], "fault");
        assert!(json["id"].is_string() && json["partitionKey"].is_string());
        assert!(json["timestamp"].is_i64());
        assert_eq!(json["tags"]["functionname"], "fn");
        assert_eq!(json["tags"]["pipeline"], "p1");
        assert_eq!(json["err"]["name"], "MappingError");
        assert_eq!(json["err"]["message"], "boom");
        assert!(json["err"]["stack"].is_string());
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
        let fault = fault_event(
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
        );
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
        let fault = fault_event(
            "p",
            &StepError::new("x"),
            &[FailedRecord {
                record: first(&record),
                event: Some(&event),
            }],
            &Tags::new(),
        );
        assert!(fault.to_json().len() <= MAX_FAULT_BYTES);
        let uow: Value = fault.field("uow").expect("uow");
        assert!(uow.get("event").is_none());
        assert_eq!(uow["record"]["body"], "small");
    }
}
