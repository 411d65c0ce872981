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
///
/// The envelope is the event's `detail` (an object, or a JSON string as the Node library
/// writes it); a rule's target invokes the function with one event, so a retry fails the
/// invocation and EventBridge's retry policy (then the target's dead-letter queue) takes
/// over.
///
/// ```
/// use lambda_stream::{Envelope, EventBridgeSource, Invocation, Pipeline, RecordState, StreamHandler, testing};
/// use serde_json::json;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let handler = StreamHandler::new(EventBridgeSource::new())
///     .pipeline(Pipeline::new("menus").on_type("menu-*").delivered());
/// let menu = Envelope::builder("menu-published").entity("menu", &json!({ "id": "m1" })).build()?;
/// let event = testing::eventbridge_event(&menu, "restaurant-subsystem");
/// let report = handler.process(event, Invocation::local()).await;
/// assert_eq!(report.records[0].pipelines, [RecordState::Delivered]);
/// assert!(report.response.is_ok());
/// # Ok(())
/// # }
/// ```
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
