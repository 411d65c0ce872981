//! The Lambda function: `BUS_NAME` (the hub) and `CLAIMCHECK_BUCKET_NAME` from the
//! environment; Node's claim checks and encrypted events read with S3 and KMS.

use std::sync::Arc;

use lambda_stream::{Config, lambda_runtime};
use lambda_stream_aws::{EventBridgePublisher, claim_checked_from_env, event_readers_from_env};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_stream::init_tracing();
    let bus = claim_checked_from_env(Arc::new(EventBridgePublisher::from_env().await?)).await;
    restaurant_ingress_gateway::handler(bus, Config::from_env())
        .read_with(event_readers_from_env().await?)
        .run()
        .await
}
