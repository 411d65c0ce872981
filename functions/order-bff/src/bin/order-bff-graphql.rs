//! The GraphQL function: `ENTITY_TABLE_NAME` (the BFF's table) from the environment.

use std::sync::Arc;

use lambda_http::{Request, service_fn};
use lambda_stream_aws::DynamoDbStore;
use order_bff::graphql::{Services, schema};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_stream::init_tracing();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let store = DynamoDbStore::from_env_var(&sdk, "ENTITY_TABLE_NAME")?;
    let schema = Arc::new(schema(Services {
        store: Arc::new(store),
        now: Box::new(lambda_stream::envelope::now_millis),
    }));
    lambda_http::run(service_fn(move |request: Request| {
        let schema = Arc::clone(&schema);
        async move { Ok::<_, std::convert::Infallible>(order_bff::api::handle(&schema, request).await) }
    }))
    .await
}
