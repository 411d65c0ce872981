//! The listener function: `ENTITY_TABLE_NAME` (the views) and `BUS_NAME` (faults).

use std::sync::Arc;

use lambda_stream::{Config, lambda_runtime};
use lambda_stream_aws::view::Views;
use lambda_stream_aws::{
    DynamoDbStore, EventBridgePublisher, claim_checked_from_env, event_readers_from_env,
};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_stream::init_tracing();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let views = Views::new(Arc::new(DynamoDbStore::from_env_var(
        &sdk,
        "ENTITY_TABLE_NAME",
    )?));
    let faults = claim_checked_from_env(Arc::new(EventBridgePublisher::from_env().await?)).await;
    order_bff::listener(&views, faults, Config::from_env())
        .read_with(event_readers_from_env().await?)
        .run()
        .await
}
