//! The Lambda function: `BUS_NAME` (the hub) and `CLAIMCHECK_BUCKET_NAME` from the environment
//! ([`delivery_ingress_gateway::from_env`]).

use lambda_stream::lambda_runtime;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_stream::init_tracing();
    delivery_ingress_gateway::from_env().await?.run().await
}
