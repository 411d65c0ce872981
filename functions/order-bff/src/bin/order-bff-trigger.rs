//! The trigger function: `BUS_NAME` (the hub) from the environment
//! ([`order_bff::trigger_from_env`]).

use lambda_stream::lambda_runtime;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_stream::init_tracing();
    order_bff::trigger_from_env().await?.run().await
}
