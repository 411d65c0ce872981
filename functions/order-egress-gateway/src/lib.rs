//! `order-egress-gateway`: the inter-subsystem egress of the Customer subsystem. Internal
//! `order-placed` and `order-cancelled` events become the external domain events of the same
//! names that the Order subsystem consumes: only what this subsystem is willing to share (no
//! customer details, no payment method), version 1 of the contract in `customer-contracts`,
//! published to the hub with source `external` so the egress rule forwards them.

use std::sync::Arc;

use lambda_stream::{
    Config, Delivered, Envelope, KinesisSource, Pipeline, Publisher, StepError, StreamHandler,
    TypeFilter, Uow,
};
use lambda_stream_aws::ports::{AwsPorts, Env, Ports, internal_bus};
use lambda_stream_aws::{ConfigError, EventBridgeConfig};
use serde::Deserialize;

pub use customer_contracts::order::{self, OrderItemV1, OrderV1};

/// The contract version these events follow (the `version` tag).
pub const CONTRACT_VERSION: u32 = order::ORDER_PLACED.version;

/// The internal order, as the Customer subsystem's BFF writes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InternalOrder {
    id: String,
    restaurant_id: String,
    #[serde(default)]
    items: Vec<InternalItem>,
    #[serde(default)]
    total: Option<i64>,
    #[serde(default)]
    currency: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InternalItem {
    menu_item_id: String,
    quantity: u32,
}

/// Maps an internal order event to its external event.
pub fn to_external(uow: &Uow<()>) -> Result<Envelope, StepError> {
    let order: InternalOrder = uow.event.entity()?;
    let external = OrderV1 {
        id: order.id.clone(),
        restaurant_id: order.restaurant_id,
        items: order
            .items
            .into_iter()
            .map(|i| OrderItemV1 {
                menu_item_id: i.menu_item_id,
                quantity: i.quantity,
            })
            .collect(),
        total: order.total,
        currency: order.currency,
    };
    Envelope::builder(uow.event.event_type())
        .id(uow.event.id())
        .timestamp(uow.event.timestamp())
        .partition_key(order.id)
        .tag("version", i64::from(CONTRACT_VERSION))
        .entity("order", &external)
        .build()
        .map_err(StepError::from)
}

/// The gateway's one pipeline; `external` publishes with source `external`.
pub fn share_orders(external: Arc<dyn Publisher>) -> Pipeline<Delivered> {
    Pipeline::new("share-orders")
        .on_types(TypeFilter::set(["order-placed", "order-cancelled"]))
        .map(to_external)
        .publish(external, 2)
}

/// The handler: the hub's internal stream in, external events and faults to the bus.
pub fn handler(
    external: Arc<dyn Publisher>,
    faults: Arc<dyn Publisher>,
    config: Config,
) -> StreamHandler<KinesisSource> {
    StreamHandler::with_config(KinesisSource::new(), config)
        .pipeline(share_orders(external))
        .faults_to(faults)
}

/// The whole wiring of the function, for AWS and for the local hub alike: the bus from
/// `BUS_NAME` twice, the external events with source `external` (not claim-checked: a stub
/// would point another account at this subsystem's bucket) and the faults claim-checked in
/// `CLAIMCHECK_BUCKET_NAME`; Node's claim checks and encrypted events read with the ports'
/// readers.
pub fn build(env: Env<'_>, ports: &dyn Ports) -> Result<StreamHandler<KinesisSource>, ConfigError> {
    let mut external = EventBridgeConfig::from_lookup(env)?;
    external.source = "external".into();
    let faults = internal_bus(env, ports)?;
    Ok(
        handler(ports.bus(&external)?, faults, Config::from_lookup(env))
            .read_with(ports.readers()?),
    )
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
