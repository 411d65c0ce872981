//! EventBridge delivered to Lambda directly: `detail` is the envelope, as an object or as a
//! JSON string. One event per invocation; a retry fails the invocation.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde_json::Value;

use super::{Payload, RecordFacts, Source, decode_payload, retry_whole_invocation};
use crate::envelope::Envelope;
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
    type Event = EventBridgeEvent<Value>;
    type Response = ();

    fn name(&self) -> &'static str {
        "eventbridge"
    }

    fn records(&self, event: EventBridgeEvent<Value>) -> Records {
        Records::EventBridge(vec![event])
    }

    fn decode(&self, record: SourceRecord<'_>) -> Result<Envelope, DecodeError> {
        let SourceRecord::EventBridge(event) = record else {
            return Err(DecodeError::new("not an EventBridge event"));
        };
        let facts = RecordFacts {
            id: event.id.as_deref(),
            timestamp: event.time.map(|t| t.timestamp_millis()),
            partition_key: None,
        };
        let bytes = match &event.detail {
            Value::String(json) => json.clone().into_bytes(),
            other => serde_json::to_vec(other)
                .map_err(|e| DecodeError::new(format!("detail cannot be read: {e}")))?,
        };
        decode_payload(self.payload, &bytes, &facts)
    }

    fn respond(&self, retry: &[SourceRecord<'_>]) -> Result<(), HandlerError> {
        retry_whole_invocation(retry)
    }
}
