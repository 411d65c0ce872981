//! `payment-egress-gateway`: the egress half of the payment processor's ESG (the asynchronous
//! request-response flow). A `payment-requested` event becomes a `POST /payments` to the
//! processor, rate limited with backpressure, with the event id as the idempotency key; with
//! an idempotency table the charge is also made at most once per event on our side.
//!
//! It never publishes a "succeeded" event: the processor's webhook (the ingress half) reports
//! the outcome. A refused request is a fault; a processor that stays unavailable hands the
//! record back to Lambda.

use std::sync::Arc;
use std::time::Duration;

use lambda_stream::{
    Config, Delivered, FailureMode, KinesisSource, Pipeline, Publisher, StepError, StreamHandler,
    Uow,
};
use lambda_stream_aws::ports::{AwsPorts, Env, Ports, internal_bus};
use lambda_stream_aws::{ConfigError, HttpConfig, HttpRequest, HttpSender, Idempotency};
use serde::{Deserialize, Serialize};

/// The internal entity of `payment-requested`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payment {
    /// Our payment id (the processor's reference).
    pub id: String,
    /// The order paid for.
    pub order_id: String,
    /// The amount, in the currency's minor unit.
    pub amount: i64,
    /// ISO currency code.
    pub currency: String,
    /// The customer's payment method, tokenized by the processor's front-end SDK.
    pub payment_method_token: String,
    /// The customer paying, echoed back in the processor's callback so the outcome can be
    /// told to them.
    #[serde(default)]
    pub customer_id: Option<String>,
}

/// The processor's `POST /payments` body (its contract, not ours).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub struct ChargeRequest {
    /// Our reference, echoed in the webhook.
    pub reference: String,
    /// Minor units.
    pub amount: i64,
    /// ISO currency code.
    pub currency: String,
    /// The tokenized payment method.
    pub source: String,
    /// Free-form metadata the webhook echoes.
    pub metadata: serde_json::Value,
}

/// The processor's test card that is always declined.
pub const DECLINED_TEST_CARD: &str = "tok_chargeDeclined";

impl ChargeRequest {
    /// The callback the processor's webhook posts for this charge, created at `created`
    /// (epoch seconds): `charge.failed` for [`DECLINED_TEST_CARD`], else `charge.succeeded`.
    /// For local stand-ins of the processor (the local hub's, the inter-subsystem tests').
    pub fn processor_callback(&self, created: i64) -> serde_json::Value {
        let declined = self.source == DECLINED_TEST_CARD;
        serde_json::json!({
            "id": format!("evt_{}", self.reference),
            "type": if declined { "charge.failed" } else { "charge.succeeded" },
            "created": created,
            "data": {
                "reference": self.reference,
                "amount": self.amount,
                "currency": self.currency,
                "metadata": self.metadata,
                "failure_code": declined.then_some("card_declined"),
                "failure_message": declined.then_some("Your card was declined."),
            }
        })
    }
}

/// Calls a second when `PAYMENT_API_RATE` is not set.
pub const DEFAULT_CALLS_PER_SECOND: usize = 10;

/// How long a charge is remembered as done: a redelivery within it is not charged again
/// (Lambda redelivers within the stream's retention, a day to a week).
pub const CHARGES_REMEMBERED_FOR: Duration = Duration::from_secs(7 * 24 * 3600);

/// Configuration read once per process.
#[derive(Clone)]
pub struct Settings {
    /// The processor's base URL (`PAYMENT_API_URL`).
    pub api_url: String,
    /// The API key (`PAYMENT_API_KEY`, or read from the secret `PAYMENT_API_KEY_ARN` names),
    /// sent as a bearer token.
    pub api_key: String,
    /// Calls per second allowed by the processor (`PAYMENT_API_RATE`, default 10).
    pub calls_per_second: usize,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("api_url", &self.api_url)
            .field("api_key", &"<redacted>")
            .field("calls_per_second", &self.calls_per_second)
            .finish()
    }
}

impl Settings {
    /// Reads `PAYMENT_API_URL`, `PAYMENT_API_KEY` and `PAYMENT_API_RATE` from the environment.
    pub fn from_env() -> Result<Self, StepError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the same variables through `lookup`: the function passes the environment with
    /// `PAYMENT_API_KEY` read from Secrets Manager (`PAYMENT_API_KEY_ARN`), tests pass a map.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, StepError> {
        let get = |name: &str| {
            lookup(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| StepError::permanent(format!("{name} is not set")))
        };
        let calls_per_second = match lookup("PAYMENT_API_RATE").filter(|v| !v.trim().is_empty()) {
            None => DEFAULT_CALLS_PER_SECOND,
            Some(rate) => rate.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                StepError::permanent(format!(
                    "PAYMENT_API_RATE must be a positive whole number of calls a second, not {rate:?}"
                ))
            })?,
        };
        Ok(Self {
            api_url: get("PAYMENT_API_URL")?,
            api_key: get("PAYMENT_API_KEY")?,
            calls_per_second,
        })
    }

    /// The sender for these settings: bearer auth and the processor's rate limit.
    pub fn sender(&self) -> Result<HttpSender, StepError> {
        HttpSender::new(
            HttpConfig::new(&self.api_url)
                .header("Authorization", format!("Bearer {}", self.api_key))
                .rate_limit(self.calls_per_second, Duration::from_secs(1)),
        )
    }
}

/// The processor's request for a `payment-requested` event.
pub fn charge_request(uow: &Uow<()>) -> Result<HttpRequest, StepError> {
    let payment: Payment = uow.event.entity()?;
    let body = ChargeRequest {
        reference: payment.id,
        amount: payment.amount,
        currency: payment.currency,
        source: payment.payment_method_token,
        metadata: match payment.customer_id {
            Some(customer) => {
                serde_json::json!({"orderId": payment.order_id, "customerId": customer})
            }
            None => serde_json::json!({"orderId": payment.order_id}),
        },
    };
    Ok(HttpRequest::post_json("/payments", &body)?.header("Idempotency-Key", uow.event.id()))
}

/// The gateway's one pipeline: payments of one order in order, different orders concurrently,
/// every call within the processor's rate limit.
pub fn request_payments(
    sender: HttpSender,
    idempotency: Option<Arc<Idempotency>>,
) -> Pipeline<Delivered> {
    let call = move |uow: Uow<HttpRequest>| {
        let sender = sender.clone();
        let idempotency = idempotency.clone();
        async move {
            let request = uow.value.clone();
            match idempotency {
                Some(idempotency) => idempotency
                    .once(
                        &uow.pipeline,
                        uow.event.id(),
                        uow.invocation.deadline,
                        || async { sender.send(request).await.map(|_| ()) },
                    )
                    .await
                    .map(|_| Delivered),
                None => sender.send(request).await.map(|_| Delivered),
            }
        }
    };
    Pipeline::new("request-payments")
        // A processor that stays unavailable: let Lambda retry rather than fault the payment.
        .on_failure(FailureMode::Retry)
        .on_type("payment-requested")
        .map(charge_request)
        .then_ordered(4, call)
}

/// The handler: the hub's stream in, faults to the bus.
pub fn handler(
    sender: HttpSender,
    idempotency: Option<Arc<Idempotency>>,
    faults: Arc<dyn Publisher>,
    config: Config,
) -> StreamHandler<KinesisSource> {
    StreamHandler::with_config(KinesisSource::new(), config)
        .pipeline(request_payments(sender, idempotency))
        .faults_to(faults)
}

/// The whole wiring of the function, for AWS and for the local hub alike: the settings read
/// through `env` (see [`Settings::from_lookup`]), the idempotency table from
/// `ENTITY_TABLE_NAME` (optional), and faults to the bus (`BUS_NAME`, claim-checked in
/// `CLAIMCHECK_BUCKET_NAME` when too large); Node's claim checks and encrypted events read
/// with the ports' readers.
pub fn build(env: Env<'_>, ports: &dyn Ports) -> Result<StreamHandler<KinesisSource>, ConfigError> {
    let settings = Settings::from_lookup(env).map_err(|e| ConfigError::new(e.to_string()))?;
    let idempotency = match env("ENTITY_TABLE_NAME").filter(|t| !t.trim().is_empty()) {
        Some(table) => Some(Arc::new(Idempotency::with_store(
            ports.claims(&table)?,
            CHARGES_REMEMBERED_FOR,
        ))),
        None => {
            // Said once per cold start, so nobody runs without the table unknowingly.
            tracing::warn!(
                "no idempotency table (ENTITY_TABLE_NAME): a redelivered batch calls the processor again, and only its Idempotency-Key stops a second charge"
            );
            None
        }
    };
    let sender = settings
        .sender()
        .map_err(|e| ConfigError::new(e.to_string()))?;
    let bus = internal_bus(env, ports)?;
    Ok(handler(sender, idempotency, bus, Config::from_lookup(env)).read_with(ports.readers()?))
}

/// The function as Lambda runs it (`main.rs`): [`build`] with the process environment (the
/// API key read from Secrets Manager when `PAYMENT_API_KEY_ARN` names it) and the AWS SDK
/// clients.
pub async fn from_env() -> Result<StreamHandler<KinesisSource>, lambda_stream::lambda_runtime::Error>
{
    let environment = lambda_stream_aws::secrets::Secrets::from_env()
        .await
        .environment(&["PAYMENT_API_KEY"])
        .await?;
    let ports = AwsPorts::from_env().await;
    Ok(build(&|name| environment.get(name), &ports)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        let pairs = pairs.to_vec();
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_string())
        }
    }

    #[test]
    fn settings_need_the_url_and_the_key_and_default_the_rate() {
        let settings = Settings::from_lookup(lookup(&[
            ("PAYMENT_API_URL", "https://processor.example"),
            ("PAYMENT_API_KEY", "sk_live_1"),
        ]))
        .expect("valid");
        assert_eq!(settings.api_url, "https://processor.example");
        assert_eq!(settings.api_key, "sk_live_1");
        assert_eq!(settings.calls_per_second, DEFAULT_CALLS_PER_SECOND);

        let missing = Settings::from_lookup(lookup(&[("PAYMENT_API_URL", "https://p.example")]))
            .expect_err("no key");
        assert!(
            missing.to_string().contains("PAYMENT_API_KEY is not set"),
            "{missing}"
        );
    }

    #[test]
    fn a_rate_that_is_not_a_positive_number_is_an_error_not_the_default() {
        for rate in ["0", "ten", "-3"] {
            let error = Settings::from_lookup(lookup(&[
                ("PAYMENT_API_URL", "https://processor.example"),
                ("PAYMENT_API_KEY", "sk_live_1"),
                ("PAYMENT_API_RATE", rate),
            ]))
            .expect_err("invalid rate");
            assert!(error.to_string().contains("PAYMENT_API_RATE"), "{error}");
        }
        let settings = Settings::from_lookup(lookup(&[
            ("PAYMENT_API_URL", "https://processor.example"),
            ("PAYMENT_API_KEY", "sk_live_1"),
            ("PAYMENT_API_RATE", " 25 "),
        ]))
        .expect("valid");
        assert_eq!(settings.calls_per_second, 25);
    }

    #[test]
    fn debug_never_shows_the_api_key() {
        let settings = Settings::from_lookup(lookup(&[
            ("PAYMENT_API_URL", "https://processor.example"),
            ("PAYMENT_API_KEY", "sk_live_1"),
        ]))
        .expect("valid");
        let shown = format!("{settings:?}");
        assert!(!shown.contains("sk_live_1"), "{shown}");
        assert!(shown.contains("processor.example"), "{shown}");
    }
}
