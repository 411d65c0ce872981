//! The trigger: the table's changes made by the API become events. A note created or changed
//! is `item-noted` (entity `note`, keyed by the item); the listener's view writes are latched
//! and so never published again (the CDC flavor drops them), which keeps the service from
//! republishing what it heard. Each event's id is its change's, so a redelivered batch
//! publishes the same ids for consumers to drop.

use std::sync::Arc;

use lambda_stream::{
    Config, Delivered, DynamoDbSource, Envelope, Pipeline, Publisher, StepError, StreamHandler, Uow,
};
use lambda_stream_aws::ConfigError;
use lambda_stream_aws::ports::{AwsPorts, Env, Ports, internal_bus};
use serde_json::{Value, json};

use crate::InitError;

/// The event a note becomes.
pub const ITEM_NOTED: &str = "item-noted";

/// The trigger's pipeline: notes created or changed, as `item-noted` on `bus`.
pub fn notes_to_events(bus: Arc<dyn Publisher>) -> Pipeline<Delivered> {
    Pipeline::cdc("notes-to-events", ["note-created", "note-updated"])
        .map(to_event)
        .publish(bus, 4)
}

/// The event for one change of a note.
pub fn to_event(uow: &Uow<()>) -> Result<Envelope, StepError> {
    let raw: Value = uow.event.raw_as()?;
    let note = raw.get("new").unwrap_or(&Value::Null);
    let Some(item) = note["itemId"].as_str().filter(|id| !id.is_empty()) else {
        return Err(StepError::permanent("the note names no item"));
    };
    Envelope::builder(ITEM_NOTED)
        .id(uow.event.id())
        .timestamp(uow.event.timestamp())
        .partition_key(item)
        .entity(
            "note",
            &json!({"itemId": item, "caller": note["caller"], "text": note["text"]}),
        )
        .build()
        .map_err(StepError::from)
}

/// The trigger's whole wiring, for Lambda and for the local hub alike: events and faults to the
/// hub's bus (`BUS_NAME`, claim-checked in `CLAIMCHECK_BUCKET_NAME` when too large).
pub fn build(env: Env<'_>, ports: &dyn Ports) -> Result<StreamHandler<DynamoDbSource>, ConfigError> {
    let bus = internal_bus(env, ports)?;
    let config = Config::from_lookup(env);
    Ok(
        StreamHandler::with_config(DynamoDbSource::for_config(&config), config)
            .pipeline(notes_to_events(Arc::clone(&bus)))
            .faults_to(bus),
    )
}

/// The trigger as Lambda runs it: [`build`] with the process environment and the AWS clients.
pub async fn from_env() -> Result<StreamHandler<DynamoDbSource>, InitError> {
    Ok(build(&crate::process_env, &AwsPorts::from_env().await)?)
}

#[cfg(test)]
mod tests {
    use lambda_stream::{InMemoryPublisher, Invocation};
    use lambda_stream_aws::store::Store;
    use lambda_stream_aws::store::memory::InMemoryStore;
    use lambda_stream_aws::view::Views;

    use super::*;
    use crate::api::{Api, request};

    #[tokio::test]
    async fn notes_become_events_and_views_do_not() {
        let store = Arc::new(InMemoryStore::new());
        // The listener's view (latched), then a note through the API.
        let listener = StreamHandler::new(lambda_stream::KinesisSource::new())
            .pipeline(crate::listener::item_views(&Views::new(store.clone())));
        let published = Envelope::builder(crate::listener::ITEM_PUBLISHED)
            .id("e1")
            .timestamp(1)
            .entity("item", &json!({"id": "i1", "name": "Lamp"}))
            .build()
            .expect("valid");
        listener
            .process(lambda_stream::testing::kinesis_event(&[published]), Invocation::local())
            .await;
        let api = Api::new(store.clone());
        let put = request("PUT", "/items/i1/note", Some("u1"), r#"{"text": "for the hall"}"#)
            .expect("a request");
        assert_eq!(api.handle(put).await.status(), 200);

        let bus = Arc::new(InMemoryPublisher::new());
        let trigger = StreamHandler::new(DynamoDbSource::new()).pipeline(notes_to_events(bus.clone()));
        trigger.process(store.take_stream_event(), Invocation::local()).await;
        let events = bus.published();
        assert_eq!(events.len(), 1, "only the note: the view was latched");
        let event: Value = serde_json::from_str(events[0].json()).expect("JSON");
        assert_eq!(event["type"], ITEM_NOTED);
        assert_eq!(event["partitionKey"], "i1");
        assert_eq!(event["note"]["text"], "for the hall");
        assert_eq!(event["note"]["caller"], "u1");
    }

    #[tokio::test]
    async fn a_note_without_its_item_is_a_fault() {
        let store = Arc::new(InMemoryStore::new());
        store
            .put(json!({"pk": "i1", "sk": "note#u1", "discriminator": "note", "text": "x"}))
            .await
            .expect("put");
        let bus = Arc::new(InMemoryPublisher::new());
        let trigger = StreamHandler::new(DynamoDbSource::new())
            .pipeline(notes_to_events(bus.clone()))
            .faults_to(bus.clone());
        trigger.process(store.take_stream_event(), Invocation::local()).await;
        let events = bus.published();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event_type(), "fault");
    }
}
