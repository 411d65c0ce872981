//! The trigger function: `EVENT_TABLE_NAME` (the event store) and `BUS_NAME` (the hub) from
//! the environment.

use std::sync::Arc;

use lambda_stream::{Config, lambda_runtime};
use lambda_stream_aws::event_store::EventStore;
use lambda_stream_aws::{DynamoDbStore, EventBridgePublisher, claim_checked_from_env};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_stream::init_tracing();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let table = DynamoDbStore::from_env_var(&sdk, "EVENT_TABLE_NAME")?;
    let events = EventStore::new(Arc::new(table), order_control::EVENT_TTL_DAYS);
    let bus = claim_checked_from_env(Arc::new(EventBridgePublisher::from_env().await?)).await;
    order_control::trigger(&events, bus, Config::from_env())
        .run()
        .await
}
