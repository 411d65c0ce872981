//! The Lambda function: `PAYMENT_API_URL`, `PAYMENT_API_KEY` (or the secret holding it,
//! `PAYMENT_API_KEY_ARN`), `PAYMENT_API_RATE`, `BUS_NAME`, and `ENTITY_TABLE_NAME` for the
//! idempotency records (optional).

use std::sync::Arc;

use lambda_stream::{Config, lambda_runtime};
use lambda_stream_aws::secrets::Secrets;
use lambda_stream_aws::{
    DynamoDbStore, EventBridgePublisher, Idempotency, claim_checked_from_env,
    event_readers_from_env,
};
use payment_egress_gateway::{Settings, handler};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_stream::init_tracing();
    let environment = Secrets::from_env()
        .await
        .environment(&["PAYMENT_API_KEY"])
        .await?;
    let settings =
        Settings::from_lookup(|name| environment.get(name)).map_err(|e| e.to_string())?;
    let bus = claim_checked_from_env(Arc::new(EventBridgePublisher::from_env().await?)).await;
    let idempotency = match DynamoDbStore::from_env().await {
        Ok(store) => Some(Arc::new(Idempotency::new(
            store,
            payment_egress_gateway::CHARGES_REMEMBERED_FOR,
        ))),
        Err(missing) => {
            // Said once per cold start, so nobody runs without the table unknowingly.
            tracing::warn!(
                %missing,
                "no idempotency table: a redelivered batch calls the processor again, and only its Idempotency-Key stops a second charge"
            );
            None
        }
    };
    let sender = settings.sender().map_err(|e| e.to_string())?;
    handler(sender, idempotency, bus, Config::from_env())
        .read_with(event_readers_from_env().await?)
        .run()
        .await
}
