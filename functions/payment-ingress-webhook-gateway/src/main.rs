//! The Lambda function behind the HTTP API route: `PAYMENT_WEBHOOK_SECRET` (or the secret
//! holding it, `PAYMENT_WEBHOOK_SECRET_ARN`; the same for `PAYMENT_WEBHOOK_PREVIOUS_SECRET`)
//! and `BUS_NAME` (see [`payment_ingress_webhook_gateway::from_env`]).

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_stream::init_tracing();
    let gateway = payment_ingress_webhook_gateway::from_env().await?;
    lambda_http::run(service_fn(move |request: Request| {
        let gateway = Arc::clone(&gateway);
        async move { Ok::<_, Infallible>(gateway.handle(request).await) }
    }))
    .await
}
