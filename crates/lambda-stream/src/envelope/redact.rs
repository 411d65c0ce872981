//! Redaction: how an event is shown where its encrypted fields must not be (fault events,
//! `Debug`). The fields are the ones its `eem` names, and the ones decrypted on the way in.

use serde_json::Value;

use super::Envelope;

const REDACTED: &str = "[REDACTED]";

/// The event as JSON with the fields listed in its `eem.fields` (or decrypted on the way in)
/// replaced by `[REDACTED]`, wherever they appear. An `eem` that cannot be read fails closed:
/// every field but the envelope's own (`id`, `type`, `timestamp`, `partitionKey`, `tags`,
/// `eem`) is redacted.
pub(crate) fn redacted_event(event: &Envelope) -> Value {
    let mut json = serde_json::from_str(&event.to_json()).unwrap_or(Value::Null);
    match event.eem_fields() {
        Ok(mut fields) => {
            if let Some(decrypted) = &event.decrypted {
                fields.extend(decrypted.iter().cloned());
            }
            if !fields.is_empty() {
                redact(&mut json, &fields);
            }
        }
        Err(_) => {
            if let Value::Object(map) = &mut json {
                for (key, value) in map.iter_mut() {
                    if !matches!(
                        key.as_str(),
                        "id" | "type" | "timestamp" | "partitionKey" | "tags" | "eem"
                    ) {
                        *value = Value::String(REDACTED.into());
                    }
                }
            }
        }
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
