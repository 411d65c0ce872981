//! The Lambda function behind the HTTP API route: `PAYMENT_WEBHOOK_SECRET` (or the secret
//! holding it, `PAYMENT_WEBHOOK_SECRET_ARN`; the same for `PAYMENT_WEBHOOK_PREVIOUS_SECRET`)
//! and `BUS_NAME` (see [`Settings::from_lookup`]).

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{Request, service_fn};
use lambda_stream_aws::secrets::Secrets;
use lambda_stream_aws::{EventBridgePublisher, claim_checked_from_env};
use payment_ingress_webhook_gateway::{Settings, WebhookGateway};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_stream::init_tracing();
    let environment = Secrets::from_env()
        .await
        .environment(&["PAYMENT_WEBHOOK_SECRET", "PAYMENT_WEBHOOK_PREVIOUS_SECRET"])
        .await?;
    let settings = Settings::from_lookup(|name| environment.get(name))?;
    let bus = claim_checked_from_env(Arc::new(EventBridgePublisher::from_env().await?)).await;
    let gateway = Arc::new(WebhookGateway::new(settings, bus));
    lambda_http::run(service_fn(move |request: Request| {
        let gateway = Arc::clone(&gateway);
        async move { Ok::<_, Infallible>(gateway.handle(request).await) }
    }))
    .await
}
