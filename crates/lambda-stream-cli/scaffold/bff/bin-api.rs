//! `{{name}}-api`: [`{{crate}}::api::from_env`] behind the HTTP API, run by the Lambda runtime.

use std::sync::Arc;

use lambda_http::{Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_stream::init_tracing();
    let api = Arc::new({{crate}}::api::from_env().await?);
    lambda_http::run(service_fn(move |request: Request| {
        let api = Arc::clone(&api);
        async move { Ok::<_, std::convert::Infallible>(api.handle(request).await) }
    }))
    .await
}
