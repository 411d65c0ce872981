//! `payment-ingress-webhook-gateway`: the ingress half of the payment processor's ESG. The
//! processor calls this webhook (a Lambda function behind an HTTP API route) with the outcome
//! of each payment the egress gateway requested; the gateway verifies the signature, maps the
//! callback to `payment-authorized` or `payment-declined`, publishes it to the bus, and only
//! then answers 2xx, so the processor retries anything that did not reach the bus.
//!
//! | module | what |
//! |---|---|
//! | [`signature`] | HMAC-SHA256 over timestamp and body, replay window, constant-time check |
//! | [`callback`] | the processor's callback and the internal event it maps to |
//! | [`gateway`] | the HTTP endpoint: size, signature, body, publish, and the status codes |
//!
//! | answer | when | reaches the bus |
//! |---|---|---|
//! | 200 | published (or a callback type we ignore) | yes (or nothing to publish) |
//! | 401 | signature missing, wrong, or signed more than 5 minutes away from now | no |
//! | 400 | correctly signed but not a callback we understand | no |
//! | 413 | body larger than the limit (64 KiB by default) | no |
//! | 405 | not a `POST` | no |
//! | 503 | the bus did not take the event for a reason that may pass: the processor retries | no |
//! | 422 | the bus refused the event for good: the processor stops; the event is logged whole | no |

pub mod callback;
pub mod gateway;
pub mod signature;

pub use callback::{MalformedCallback, Mapped, PaymentOutcome, to_internal};
pub use gateway::{Accepted, Rejection, Settings, WebhookGateway, signed_callback};
pub use signature::{Secret, SignatureCheck, SignatureError};

use std::sync::Arc;

use lambda_stream_aws::ConfigError;
use lambda_stream_aws::ports::{AwsPorts, Env, Ports, internal_bus};

/// The whole wiring of the function, for AWS and for the local hub alike: the settings read
/// through `env` ([`Settings::from_lookup`]) and the bus from `BUS_NAME`, claim-checking what
/// is too large for it (`CLAIMCHECK_BUCKET_NAME`).
pub fn build(env: Env<'_>, ports: &dyn Ports) -> Result<WebhookGateway, ConfigError> {
    let settings = Settings::from_lookup(env).map_err(ConfigError::new)?;
    Ok(WebhookGateway::new(settings, internal_bus(env, ports)?))
}

/// The function as Lambda runs it (`main.rs`): [`build`] with the process environment (the
/// signing secrets read from Secrets Manager when `PAYMENT_WEBHOOK_SECRET_ARN` and
/// `PAYMENT_WEBHOOK_PREVIOUS_SECRET_ARN` name them) and the AWS SDK clients.
pub async fn from_env() -> Result<Arc<WebhookGateway>, lambda_stream::lambda_runtime::Error> {
    let environment = lambda_stream_aws::secrets::Secrets::from_env()
        .await
        .environment(&["PAYMENT_WEBHOOK_SECRET", "PAYMENT_WEBHOOK_PREVIOUS_SECRET"])
        .await?;
    let ports = AwsPorts::from_env().await;
    Ok(Arc::new(build(&|name| environment.get(name), &ports)?))
}
