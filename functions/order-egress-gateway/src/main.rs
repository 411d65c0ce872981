//! The Lambda function: `BUS_NAME` (the hub) from the environment; Node's claim checks and
//! encrypted events read with S3 and KMS ([`order_egress_gateway::from_env`]).

use lambda_stream::lambda_runtime;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_stream::init_tracing();
    order_egress_gateway::from_env().await?.run().await
}
