//! What a claim check stores and sends: the object key of a stored event, and the small
//! envelope that travels in its place (the event's id, type, timestamp, partition key and
//! tags, plus `s3: {bucket, key}`).

use lambda_stream::{Envelope, PublishEntry, S3Pointer};

/// The object key of an event: `<prefix><type>/<id>.json`.
pub fn object_key(prefix: &str, event: &Envelope) -> String {
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!(
        "{prefix}{}/{}.json",
        safe(event.event_type()),
        safe(event.id())
    )
}

/// The envelope that travels in place of `event`, stored at `pointer`.
pub fn pointer_envelope(event: &Envelope, pointer: S3Pointer) -> Envelope {
    let mut small = event.clone();
    for name in event
        .fields()
        .map(|(n, _)| n.to_string())
        .collect::<Vec<_>>()
    {
        small.remove_field(&name);
    }
    small.remove_raw();
    small.remove_eem();
    small.set_s3(Some(pointer));
    small
}

/// The entry for a pointer envelope, keeping the original entry's type and key.
pub fn pointer_entry(original: &PublishEntry, pointer: &Envelope) -> PublishEntry {
    let mut entry = PublishEntry::message(original.event_type(), pointer.to_json());
    if let Some(id) = original.id() {
        entry = entry.with_id(id);
    }
    if let Some(key) = original.partition_key() {
        entry = entry.with_partition_key(key);
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pointer_keeps_the_header_and_drops_the_payload() {
        let event = Envelope::builder("thing-created")
            .id("e/1")
            .timestamp(5)
            .partition_key("t1")
            .tag("source", "svc")
            .entity("thing", &serde_json::json!({"blob": "x".repeat(1000)}))
            .raw(&serde_json::json!({"new": {}}))
            .build()
            .expect("valid");
        assert_eq!(
            object_key("claims/", &event),
            "claims/thing-created/e_1.json"
        );
        let small = pointer_envelope(
            &event,
            S3Pointer {
                bucket: "b".into(),
                key: "k".into(),
            },
        );
        assert_eq!(
            small.to_json(),
            r#"{"id":"e/1","type":"thing-created","timestamp":5,"partitionKey":"t1","tags":{"source":"svc"},"s3":{"bucket":"b","key":"k"}}"#
        );
    }
}
