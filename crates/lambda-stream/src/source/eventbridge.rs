//! EventBridge delivered to Lambda directly: `detail` is the envelope, as an object or as a
//! JSON string. One event per invocation; a retry fails the invocation.

use super::{
    Decoded, Payload, SingleEvent, Source, decode_payload, label, retry_whole_invocation,
    rfc3339_millis,
};
use crate::envelope::RecordFacts;
use crate::error::{DecodeError, HandlerError};
use crate::record::{Records, SourceRecord};

/// Reads EventBridge events.
#[derive(Debug, Clone, Default)]
pub struct EventBridgeSource {
    payload: Payload,
}

impl EventBridgeSource {
    /// `detail` is an envelope.
    pub fn new() -> Self {
        Self::default()
    }

    /// `detail` is not an envelope (see the [module docs](super)).
    #[must_use]
    pub fn raw(mut self) -> Self {
        self.payload = Payload::Raw;
        self
    }
}

impl Source for EventBridgeSource {
    type Event = SingleEvent;
    type Response = ();

    fn name(&self) -> &'static str {
        "eventbridge"
    }

    fn records(&self, event: SingleEvent) -> Records {
        Records::new(vec![event.0])
    }

    fn decode(&self, record: SourceRecord<'_>) -> Result<Decoded, DecodeError> {
        let detail = record.get(&["detail"]).ok_or_else(|| {
            DecodeError::new(format!(
                "event {} has no `detail`",
                label(&self.facts(record))
            ))
        })?;
        // Some producers put the envelope in `detail` as a JSON string.
        let text = match detail.as_str() {
            Some(json) => json.into_owned(),
            None => detail.json().to_string(),
        };
        decode_payload(self.payload, text.into_bytes(), &|| self.facts(record))
    }

    fn facts(&self, record: SourceRecord<'_>) -> RecordFacts {
        RecordFacts::new(record.get_str(&["id"]).map(Into::into))
            .timestamp(record.get_str(&["time"]).and_then(|t| rfc3339_millis(&t)))
    }

    fn respond(&self, retry: &[SourceRecord<'_>]) -> Result<(), HandlerError> {
        retry_whole_invocation(retry)
    }
}
