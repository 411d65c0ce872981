//! The Lambda function: `TOPIC_ARN` (the notification system's topic) and `BUS_NAME` (the hub,
//! for faults) from the environment.

use std::sync::Arc;

use lambda_stream::{Config, lambda_runtime};
use lambda_stream_aws::{EventBridgePublisher, SnsPublisher};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_stream::init_tracing();
    let topic = Arc::new(SnsPublisher::from_env().await?);
    let bus = Arc::new(EventBridgePublisher::from_env().await?);
    notification_egress_gateway::handler(topic, bus, Config::from_env())
        .run()
        .await
}
