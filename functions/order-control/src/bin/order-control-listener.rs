//! The listener function: `EVENT_TABLE_NAME` (the event store) and `BUS_NAME` (faults) from
//! the environment ([`order_control::listener_from_env`]).

use lambda_stream::lambda_runtime;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_stream::init_tracing();
    order_control::listener_from_env().await?.run().await
}
