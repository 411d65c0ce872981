//! The Lambda function: `TOPIC_ARN` (the notification system's topic) and `BUS_NAME` (the hub,
//! for faults) from the environment; Node's claim checks and encrypted events read with S3
//! and KMS ([`notification_egress_gateway::from_env`]).

use lambda_stream::lambda_runtime;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_stream::init_tracing();
    notification_egress_gateway::from_env().await?.run().await
}
