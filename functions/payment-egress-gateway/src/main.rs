//! The Lambda function: `PAYMENT_API_URL`, `PAYMENT_API_KEY` (or the secret holding it,
//! `PAYMENT_API_KEY_ARN`), `PAYMENT_API_RATE`, `BUS_NAME`, and `ENTITY_TABLE_NAME` for the
//! idempotency records (optional) ([`payment_egress_gateway::from_env`]).

use lambda_stream::lambda_runtime;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_stream::init_tracing();
    payment_egress_gateway::from_env().await?.run().await
}
