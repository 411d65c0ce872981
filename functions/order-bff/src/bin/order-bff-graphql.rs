//! The GraphQL function: `ENTITY_TABLE_NAME` (the BFF's table) from the environment
//! ([`order_bff::graphql_from_env`]).

use std::sync::Arc;

use lambda_http::{Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_stream::init_tracing();
    let schema = Arc::new(order_bff::graphql_from_env().await?);
    lambda_http::run(service_fn(move |request: Request| {
        let schema = Arc::clone(&schema);
        async move { Ok::<_, std::convert::Infallible>(order_bff::api::handle(&schema, request).await) }
    }))
    .await
}
