//! The Lambda function: `TOPIC_ARN` (the notification system's topic) and `BUS_NAME` (the hub,
//! for faults) from the environment; Node's claim checks and encrypted events read with S3
//! and KMS.

use std::sync::Arc;

use lambda_stream::{Config, lambda_runtime};
use lambda_stream_aws::{
    EventBridgePublisher, SnsPublisher, claim_checked_from_env, event_readers_from_env,
};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_stream::init_tracing();
    let topic = Arc::new(SnsPublisher::from_env().await?);
    let bus = claim_checked_from_env(Arc::new(EventBridgePublisher::from_env().await?)).await;
    notification_egress_gateway::handler(topic, bus, Config::from_env())
        .read_with(event_readers_from_env().await?)
        .run()
        .await
}
