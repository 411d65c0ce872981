//! The trigger function: `BUS_NAME` (the hub) from the environment.

use std::sync::Arc;

use lambda_stream::{Config, lambda_runtime};
use lambda_stream_aws::{EventBridgePublisher, claim_checked_from_env};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_stream::init_tracing();
    let bus = claim_checked_from_env(Arc::new(EventBridgePublisher::from_env().await?)).await;
    order_bff::trigger(bus, Config::from_env()).run().await
}
