//! The listener function: `ENTITY_TABLE_NAME` (the views) and `BUS_NAME` (faults)
//! ([`order_bff::listener_from_env`]).

use lambda_stream::lambda_runtime;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_stream::init_tracing();
    order_bff::listener_from_env().await?.run().await
}
