//! The Lambda function: `BUS_NAME` (the hub) from the environment; Node's claim checks and
//! encrypted events read with S3 and KMS. The external events are not claim-checked: a stub
//! would point another account at this subsystem's bucket.

use std::sync::Arc;

use lambda_stream::{Config, lambda_runtime};
use lambda_stream_aws::{EventBridgePublisher, claim_checked_from_env, event_readers_from_env};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_stream::init_tracing();
    let bus = EventBridgePublisher::from_env().await?;
    let external = Arc::new(bus.with_source("external"));
    let faults = claim_checked_from_env(Arc::new(bus)).await;
    order_egress_gateway::handler(external, faults, Config::from_env())
        .read_with(event_readers_from_env().await?)
        .run()
        .await
}
