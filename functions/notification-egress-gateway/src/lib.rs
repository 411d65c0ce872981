//! `notification-egress-gateway`: the basic egress of the Customer subsystem. Internal order
//! and payment events from the hub's stream become the notification system's messages
//! (`toExternalFormat`), sent to its SNS topic.

use std::sync::Arc;

use lambda_stream::{
    Config, Delivered, KinesisSource, Pipeline, PublishEntry, Publisher, StepError, StreamHandler,
    TypeFilter, Uow,
};
use lambda_stream_aws::ports::{AwsPorts, Env, Ports, internal_bus};
use lambda_stream_aws::{ConfigError, SnsConfig};
use serde::{Deserialize, Serialize};

/// The event types customers are told about.
pub const NOTIFIED_TYPES: [&str; 3] = ["order-placed", "payment-authorized", "payment-declined"];

/// What the notification system takes (its contract, not ours).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// Whom to notify.
    pub customer_id: String,
    /// The order it is about.
    pub order_id: String,
    /// What happened.
    pub kind: String,
    /// The text to show.
    pub text: String,
}

/// The fields this gateway reads from an order or a payment.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Subject<'a> {
    #[serde(default)]
    id: Option<&'a str>,
    #[serde(default)]
    order_id: Option<&'a str>,
    customer_id: &'a str,
}

/// Maps an internal event to the notification system's message.
pub fn to_notification(uow: &Uow<()>) -> Result<PublishEntry, StepError> {
    let subject: Subject<'_> = uow.event.entity_ref()?;
    let order_id = subject.order_id.or(subject.id).ok_or_else(|| {
        StepError::permanent("the event names no order").with_name("InvalidEvent")
    })?;
    let text = match uow.event.event_type() {
        "order-placed" => format!("We have your order {order_id}."),
        "payment-authorized" => format!("Your payment for order {order_id} went through."),
        "payment-declined" => format!("Your payment for order {order_id} was declined."),
        other => format!("Order {order_id}: {other}."),
    };
    let notification = Notification {
        customer_id: subject.customer_id.to_string(),
        order_id: order_id.to_string(),
        kind: uow.event.event_type().to_string(),
        text,
    };
    let json = serde_json::to_string(&notification)?;
    Ok(
        PublishEntry::message(uow.event.event_type().to_string(), json)
            .with_id(uow.event.id().to_string())
            .with_partition_key(notification.customer_id),
    )
}

/// The gateway's one pipeline.
pub fn notify_customers(topic: Arc<dyn Publisher>) -> Pipeline<Delivered> {
    Pipeline::new("notify-customers")
        .on_types(TypeFilter::set(NOTIFIED_TYPES))
        .map(to_notification)
        .send(topic, 4)
}

/// The handler: the hub's stream in, the topic out, faults to the bus.
pub fn handler(
    topic: Arc<dyn Publisher>,
    faults: Arc<dyn Publisher>,
    config: Config,
) -> StreamHandler<KinesisSource> {
    StreamHandler::with_config(KinesisSource::new(), config)
        .pipeline(notify_customers(topic))
        .faults_to(faults)
}

/// The whole wiring of the function, for AWS and for the local hub alike: the topic from
/// `TOPIC_ARN`, faults to the bus (`BUS_NAME`, claim-checked in `CLAIMCHECK_BUCKET_NAME` when
/// too large), and Node's claim checks and encrypted events read with the ports' readers.
pub fn build(env: Env<'_>, ports: &dyn Ports) -> Result<StreamHandler<KinesisSource>, ConfigError> {
    let topic = ports.topic(&SnsConfig::from_lookup(env)?)?;
    let bus = internal_bus(env, ports)?;
    Ok(handler(topic, bus, Config::from_lookup(env)).read_with(ports.readers()?))
}

/// The function as Lambda runs it (`main.rs`): [`build`] with the process environment and
/// the AWS SDK clients.
pub async fn from_env() -> Result<StreamHandler<KinesisSource>, lambda_stream::lambda_runtime::Error>
{
    Ok(build(
        &|name| std::env::var(name).ok(),
        &AwsPorts::from_env().await,
    )?)
}
