//! The trigger: at each event the listener collected (the event store's stream), the item's
//! events evaluated by [`crate::rules::evaluate`], and what follows published once each.

use std::sync::Arc;

use lambda_stream::{Config, Delivered, DynamoDbSource, Pipeline, Publisher, StreamHandler};
use lambda_stream_aws::ConfigError;
use lambda_stream_aws::event_store::{EventStore, EventStoreSteps};
use lambda_stream_aws::ports::{AwsPorts, Env, Ports, internal_bus};

use crate::{InitError, event_store, item_of, rules};

/// The trigger's pipeline: each item's higher-order events, published to `bus` once each.
pub fn complete_items(events: &EventStore, bus: Arc<dyn Publisher>) -> Pipeline<Delivered> {
    let evaluated = Pipeline::new("complete-items").evaluate(events, item_of, rules::evaluate);
    events.publish_once(evaluated, bus, 4)
}

/// The trigger's whole wiring, for Lambda and for the local hub alike: the event store in
/// `EVENT_TABLE_NAME`, events and faults to the hub's bus (`BUS_NAME`, claim-checked in
/// `CLAIMCHECK_BUCKET_NAME` when too large).
pub fn build(env: Env<'_>, ports: &dyn Ports) -> Result<StreamHandler<DynamoDbSource>, ConfigError> {
    let events = event_store(env, ports)?;
    let bus = internal_bus(env, ports)?;
    let config = Config::from_lookup(env);
    Ok(
        StreamHandler::with_config(DynamoDbSource::for_config(&config), config)
            .pipeline(complete_items(&events, Arc::clone(&bus)))
            .faults_to(bus),
    )
}

/// The trigger as Lambda runs it: [`build`] with the process environment and the AWS clients.
pub async fn from_env() -> Result<StreamHandler<DynamoDbSource>, InitError> {
    Ok(build(&crate::process_env, &AwsPorts::from_env().await)?)
}

#[cfg(test)]
mod tests {
    use lambda_stream::testing::kinesis_event;
    use lambda_stream::{Envelope, InMemoryPublisher, Invocation, KinesisSource};
    use lambda_stream_aws::store::memory::InMemoryStore;

    use super::*;
    use crate::listener::collect_item_events;

    fn event(kind: &str, id: &str, key: &str) -> Envelope {
        Envelope::builder(kind)
            .id(id)
            .timestamp(1_764_547_200_000)
            .partition_key(key)
            .build()
            .expect("valid")
    }

    #[tokio::test]
    async fn an_item_requested_and_approved_completes_once() {
        let store = Arc::new(InMemoryStore::new());
        let events = EventStore::new(store.clone(), 30);
        let bus = Arc::new(InMemoryPublisher::new());
        let listener = StreamHandler::new(KinesisSource::new()).pipeline(collect_item_events(&events));
        let trigger = StreamHandler::new(DynamoDbSource::new()).pipeline(complete_items(&events, bus.clone()));
        // Approved first, then requested, then approved again (a redelivery), and another
        // item only requested.
        listener
            .process(
                kinesis_event(&[
                    event("item-approved", "e1", "i1"),
                    event("item-requested", "e2", "i1"),
                    event("item-approved", "e1", "i1"),
                    event("item-requested", "e3", "i2"),
                    event("something-else", "e4", "i1"),
                ]),
                Invocation::local(),
            )
            .await;
        trigger.process(store.take_stream_event(), Invocation::local()).await;
        // The redelivered batch again: nothing more is published.
        trigger.process(store.take_stream_event(), Invocation::local()).await;
        let published = bus.published();
        assert_eq!(published.len(), 1, "{:?}", published.iter().map(|p| p.json()).collect::<Vec<_>>());
        let completed: serde_json::Value = serde_json::from_str(published[0].json()).expect("JSON");
        assert_eq!(completed["type"], rules::ITEM_COMPLETED);
        assert_eq!(completed["id"], "i1.completed");
        assert_eq!(completed["partitionKey"], "i1");
    }

    #[tokio::test]
    async fn an_event_naming_no_item_is_a_fault() {
        let store = Arc::new(InMemoryStore::new());
        let events = EventStore::new(store.clone(), 30);
        let faults = Arc::new(InMemoryPublisher::new());
        let listener = StreamHandler::new(KinesisSource::new())
            .pipeline(collect_item_events(&events))
            .faults_to(faults.clone());
        let keyless = Envelope::builder("item-requested").id("e9").timestamp(1).build().expect("valid");
        listener.process(kinesis_event(&[keyless]), Invocation::local()).await;
        let faults = faults.published();
        assert_eq!(faults.len(), 1);
        let fault: serde_json::Value = serde_json::from_str(faults[0].json()).expect("JSON");
        assert!(fault.to_string().contains("NoItem"), "{fault}");
        assert!(store.items().is_empty());
    }
}
