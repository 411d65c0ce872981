//! The listener: each `item-published` from the hub's internal stream kept as the item's
//! view (`pk` the item's id, `sk` `item`), written only when newer than the one there, so
//! that redelivered and out-of-order events leave the newest.

use lambda_stream::{Config, Delivered, KinesisSource, Pipeline, StepError, StreamHandler};
use lambda_stream_aws::ConfigError;
use lambda_stream_aws::ports::{AwsPorts, Env, Ports, internal_bus, table_named};
use lambda_stream_aws::store::Key;
use lambda_stream_aws::view::{MaterializeStep, View, Views};
use serde::{Deserialize, Serialize};

use crate::{InitError, TABLE_VARIABLE};

/// The event the listener keeps.
pub const ITEM_PUBLISHED: &str = "item-published";

/// An item, as `item-published` carries it in its `item` field (a tolerant reader: fields it
/// does not know are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// The key of an item's view.
pub fn item_key(id: &str) -> Key {
    Key::new(id, "item")
}

/// The listener's pipeline: each item published, as its view.
pub fn item_views(views: &Views) -> Pipeline<Delivered> {
    Pipeline::new("item-views")
        .on_type(ITEM_PUBLISHED)
        .materialize(views, |uow| {
            let item: Item = uow.event.field("item")?;
            if item.id.trim().is_empty() {
                return Err(StepError::permanent("the item has no id"));
            }
            View::new(item_key(&item.id), "item", &item)
        })
}

/// The listener's whole wiring, for Lambda and for the local hub alike: the table in
/// `ENTITY_TABLE_NAME`, faults to the hub's bus (`BUS_NAME`), and the Node library's claim
/// checks and encrypted events read with the ports' readers.
pub fn build(env: Env<'_>, ports: &dyn Ports) -> Result<StreamHandler<KinesisSource>, ConfigError> {
    let views = Views::new(table_named(env, ports, TABLE_VARIABLE)?);
    Ok(
        StreamHandler::with_config(KinesisSource::new(), Config::from_lookup(env))
            .pipeline(item_views(&views))
            .faults_to(internal_bus(env, ports)?)
            .read_with(ports.readers()?),
    )
}

/// The listener as Lambda runs it: [`build`] with the process environment and the AWS clients.
pub async fn from_env() -> Result<StreamHandler<KinesisSource>, InitError> {
    Ok(build(&crate::process_env, &AwsPorts::from_env().await)?)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use lambda_stream::testing::kinesis_event;
    use lambda_stream::{Envelope, InMemoryPublisher, Invocation, RecordState};
    use lambda_stream_aws::store::memory::InMemoryStore;
    use serde_json::json;

    use super::*;

    fn published(id: &str, timestamp: i64, name: &str) -> Envelope {
        Envelope::builder(ITEM_PUBLISHED)
            .id(id)
            .timestamp(timestamp)
            .partition_key("i1")
            .entity("item", &json!({"id": "i1", "name": name, "colour": "red"}))
            .build()
            .expect("a valid event")
    }

    #[tokio::test]
    async fn the_newest_view_wins_and_a_bad_item_is_a_fault() {
        let store = Arc::new(InMemoryStore::new());
        let faults = Arc::new(InMemoryPublisher::new());
        let handler = StreamHandler::new(KinesisSource::new())
            .pipeline(item_views(&Views::new(store.clone())))
            .faults_to(faults.clone());
        let nameless = Envelope::builder(ITEM_PUBLISHED)
            .id("e4")
            .timestamp(4)
            .entity("item", &json!({"id": "i2"}))
            .build()
            .expect("a valid event");
        let report = handler
            .process(
                kinesis_event(&[
                    published("e2", 2, "Lamp"),
                    published("e2", 2, "Lamp"),
                    published("e1", 1, "Old lamp"),
                    nameless,
                ]),
                Invocation::local(),
            )
            .await;
        let states: Vec<RecordState> = report.records.iter().map(|r| r.pipelines[0]).collect();
        assert_eq!(
            states,
            [
                RecordState::Delivered,
                RecordState::Duplicate,
                RecordState::Stale,
                RecordState::Fault
            ]
        );
        let items = store.items();
        assert_eq!(items.len(), 1, "{items:?}");
        assert_eq!(items[0]["pk"], "i1");
        assert_eq!(items[0]["name"], "Lamp");
        // The item without a name is a fault on the bus, and the batch goes on.
        let faults = faults.published();
        assert_eq!(faults.len(), 1);
        assert_eq!(faults[0].event_type(), "fault");
    }
}
