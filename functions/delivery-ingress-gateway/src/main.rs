//! The Lambda function: `BUS_NAME` (the hub) and `CLAIMCHECK_BUCKET_NAME` from the environment.

use std::sync::Arc;

use lambda_stream::{Config, lambda_runtime};
use lambda_stream_aws::{EventBridgePublisher, claim_checked_from_env};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_stream::init_tracing();
    // The delivery system's messages are its own, not the Node library's events: nothing to
    // redeem or decrypt; what it publishes is claim-checked when too large.
    let bus = claim_checked_from_env(Arc::new(EventBridgePublisher::from_env().await?)).await;
    delivery_ingress_gateway::handler(bus, Config::from_env())
        .run()
        .await
}
