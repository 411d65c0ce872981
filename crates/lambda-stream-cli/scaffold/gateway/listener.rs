//! The gateway's listener: each external `item-published` from the hub's ingress stream
//! published to the bus as the internal `item-received`, with the same id (so a redelivery
//! publishes the same id for consumers to drop) and keyed by the item.

use std::sync::Arc;

use lambda_stream::{
    Config, Delivered, Envelope, KinesisSource, Pipeline, Publisher, StepError, StreamHandler, Uow,
};
use lambda_stream_aws::ConfigError;
use lambda_stream_aws::ports::{AwsPorts, Env, Ports, internal_bus};
use serde::{Deserialize, Serialize};

use crate::InitError;

/// The other subsystem's event the gateway takes.
pub const ITEM_PUBLISHED: &str = "item-published";

/// What the gateway publishes for it.
pub const ITEM_RECEIVED: &str = "item-received";

/// The item, as the other subsystem publishes it (version 1) in its `item` field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalItem {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// The internal event for an external one.
pub fn to_internal(uow: &Uow<()>) -> Result<Envelope, StepError> {
    let item: ExternalItem = uow.event.field("item")?;
    if item.id.trim().is_empty() {
        return Err(StepError::permanent("the item has no id"));
    }
    Envelope::builder(ITEM_RECEIVED)
        .id(uow.event.id())
        .timestamp(uow.event.timestamp())
        .partition_key(item.id.clone())
        .entity("item", &item)
        .build()
        .map_err(StepError::from)
}

/// The gateway's pipeline.
pub fn items_received(bus: Arc<dyn Publisher>) -> Pipeline<Delivered> {
    Pipeline::new("items-received")
        .on_type(ITEM_PUBLISHED)
        .map(to_internal)
        .publish(bus, 2)
}

/// The whole wiring, for Lambda and for the local hub alike: internal events and faults to the
/// hub's bus (`BUS_NAME`, claim-checked in `CLAIMCHECK_BUCKET_NAME` when too large), and the
/// Node library's claim checks and encrypted events read with the ports' readers.
pub fn build(env: Env<'_>, ports: &dyn Ports) -> Result<StreamHandler<KinesisSource>, ConfigError> {
    let bus = internal_bus(env, ports)?;
    Ok(
        StreamHandler::with_config(KinesisSource::new(), Config::from_lookup(env))
            .pipeline(items_received(Arc::clone(&bus)))
            .faults_to(bus)
            .read_with(ports.readers()?),
    )
}

/// The gateway as Lambda runs it: [`build`] with the process environment and the AWS clients.
pub async fn from_env() -> Result<StreamHandler<KinesisSource>, InitError> {
    Ok(build(&crate::process_env, &AwsPorts::from_env().await)?)
}

#[cfg(test)]
mod tests {
    use lambda_stream::testing::kinesis_event;
    use lambda_stream::{InMemoryPublisher, Invocation, RecordState};
    use serde_json::{Value, json};

    use super::*;

    fn external(kind: &str, id: &str, item: Value) -> Envelope {
        Envelope::builder(kind)
            .id(id)
            .timestamp(1_764_547_200_000)
            .entity("item", &item)
            .build()
            .expect("valid")
    }

    #[tokio::test]
    async fn known_events_are_published_unknown_ones_filtered_bad_ones_faulted() {
        let bus = Arc::new(InMemoryPublisher::new());
        let handler = StreamHandler::new(KinesisSource::new())
            .pipeline(items_received(bus.clone()))
            .faults_to(bus.clone());
        let report = handler
            .process(
                kinesis_event(&[
                    external(ITEM_PUBLISHED, "e1", json!({"id": "i1", "name": "Lamp", "new": true})),
                    external("item-withdrawn", "e2", json!({"id": "i1"})),
                    external(ITEM_PUBLISHED, "e3", json!({"id": "i2"})),
                ]),
                Invocation::local(),
            )
            .await;
        let states: Vec<RecordState> = report.records.iter().map(|r| r.pipelines[0]).collect();
        assert_eq!(states, [RecordState::Delivered, RecordState::Filtered, RecordState::Fault]);
        let published = bus.published();
        assert_eq!(published.len(), 2, "the event and the fault");
        let received: Value = serde_json::from_str(published[0].json()).expect("JSON");
        assert_eq!(received["type"], ITEM_RECEIVED);
        assert_eq!(received["id"], "e1");
        assert_eq!(received["partitionKey"], "i1");
        assert_eq!(received["item"], json!({"id": "i1", "name": "Lamp"}));
        assert_eq!(published[1].event_type(), "fault");
    }
}
