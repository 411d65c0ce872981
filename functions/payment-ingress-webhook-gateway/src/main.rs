//! The Lambda function behind the HTTP API route: `PAYMENT_WEBHOOK_SECRET` and `BUS_NAME` from
//! the environment (see [`Settings::from_env`]).

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{Request, service_fn};
use lambda_stream_aws::EventBridgePublisher;
use payment_ingress_webhook_gateway::{Settings, WebhookGateway};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_stream::init_tracing();
    let settings = Settings::from_env()?;
    let bus = EventBridgePublisher::from_env().await?;
    let gateway = Arc::new(WebhookGateway::new(settings, Arc::new(bus)));
    lambda_http::run(service_fn(move |request: Request| {
        let gateway = Arc::clone(&gateway);
        async move { Ok::<_, Infallible>(gateway.handle(request).await) }
    }))
    .await
}
