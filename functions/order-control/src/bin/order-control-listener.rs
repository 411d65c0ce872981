//! The listener function: `EVENT_TABLE_NAME` (the event store) and `BUS_NAME` (faults) from
//! the environment.

use std::sync::Arc;

use lambda_stream::{Config, lambda_runtime};
use lambda_stream_aws::event_store::EventStore;
use lambda_stream_aws::{
    DynamoDbStore, EventBridgePublisher, claim_checked_from_env, event_readers_from_env,
};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_stream::init_tracing();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let table = DynamoDbStore::from_env_var(&sdk, "EVENT_TABLE_NAME")?;
    let events = EventStore::new(Arc::new(table), order_control::EVENT_TTL_DAYS);
    let faults = claim_checked_from_env(Arc::new(EventBridgePublisher::from_env().await?)).await;
    order_control::listener(&events, Config::from_env())
        .faults_to(faults)
        .read_with(event_readers_from_env().await?)
        .run()
        .await
}
