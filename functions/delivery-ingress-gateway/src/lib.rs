//! `delivery-ingress-gateway`: the basic ingress of the Customer subsystem. The delivery
//! system emits status messages on its SNS topic; this gateway's queue is subscribed to it.
//! Each message (`toInternalFormat`) becomes an internal `delivery-<status>` event with the
//! delivery as its entity, published to the hub's bus.
//!
//! A tolerant reader: fields the delivery system adds are ignored, and a message without an
//! order or a status is a fault with the message kept for resubmission.

use std::sync::Arc;

use lambda_stream::{
    Config, Delivered, Envelope, Pipeline, Publisher, SqsSource, StepError, StreamHandler, Uow,
};
use lambda_stream_aws::ConfigError;
use lambda_stream_aws::ports::{AwsPorts, Env, Ports, internal_bus};
use serde::{Deserialize, Serialize};

/// A message of the delivery system (its contract, not ours).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryMessage {
    /// The order being delivered.
    pub order_id: String,
    /// `assigned`, `picked-up`, `delivered`, ...
    pub status: String,
    /// The courier, once assigned.
    #[serde(default)]
    pub courier: Option<String>,
    /// Estimated arrival, epoch milliseconds, when known.
    #[serde(default)]
    pub eta: Option<i64>,
}

/// The internal entity of `delivery-*` events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// The order.
    pub order_id: String,
    /// The status, as the delivery system names it.
    pub status: String,
    /// The courier, if known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub courier: Option<String>,
    /// Estimated arrival, if known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub eta: Option<i64>,
}

fn status_slug(status: &str) -> String {
    status
        .trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// Maps a delivery-system message to an internal event.
pub fn to_internal(uow: &Uow<()>) -> Result<Envelope, StepError> {
    let message: DeliveryMessage = uow.event.raw_as()?;
    let status = status_slug(&message.status);
    if message.order_id.is_empty() || status.is_empty() {
        return Err(
            StepError::permanent("the message has no order or no status")
                .with_name("InvalidMessage"),
        );
    }
    let delivery = Delivery {
        order_id: message.order_id,
        status: status.clone(),
        courier: message.courier,
        eta: message.eta,
    };
    Envelope::builder(format!("delivery-{status}"))
        // The message id makes the event id: redeliveries publish the same event.
        .id(uow.event.id())
        .timestamp(uow.event.timestamp())
        .partition_key(delivery.order_id.clone())
        .entity("delivery", &delivery)
        .build()
        .map_err(StepError::from)
}

/// The gateway's one pipeline.
pub fn delivery_updates(bus: Arc<dyn Publisher>) -> Pipeline<Delivered> {
    Pipeline::new("delivery-updates")
        .map(to_internal)
        .publish(bus, 2)
}

/// The handler: the queue subscribed to the delivery system's topic in, the bus out.
pub fn handler(bus: Arc<dyn Publisher>, config: Config) -> StreamHandler<SqsSource> {
    StreamHandler::with_config(SqsSource::new().sns_wrapped().raw(), config)
        .pipeline(delivery_updates(Arc::clone(&bus)))
        .faults_to(bus)
}

/// The whole wiring of the function, for AWS and for the local hub alike: the bus from
/// `BUS_NAME`, claim-checking what is too large for it (`CLAIMCHECK_BUCKET_NAME`). The
/// delivery system's messages are its own, not the Node library's events: there is nothing to
/// redeem or decrypt.
pub fn build(env: Env<'_>, ports: &dyn Ports) -> Result<StreamHandler<SqsSource>, ConfigError> {
    Ok(handler(internal_bus(env, ports)?, Config::from_lookup(env)))
}

/// The function as Lambda runs it (`main.rs`): [`build`] with the process environment and
/// the AWS SDK clients.
pub async fn from_env() -> Result<StreamHandler<SqsSource>, lambda_stream::lambda_runtime::Error> {
    Ok(build(
        &|name| std::env::var(name).ok(),
        &AwsPorts::from_env().await,
    )?)
}
