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

/// The handler as the Lambda function runs it (`main.rs`): the bus from `BUS_NAME` (the
/// external events with source `external`, not claim-checked: a stub would point another
/// account at this subsystem's bucket; faults claim-checked), and Node's claim checks and
/// encrypted events read with S3 and KMS.
pub async fn from_env() -> Result<StreamHandler<KinesisSource>, lambda_stream::lambda_runtime::Error>
{
    use lambda_stream_aws::{EventBridgePublisher, claim_checked, event_readers};
    let sdk = lambda_stream_aws::sdk_config_from_env().await;
    let bus = EventBridgePublisher::from_sdk(&sdk)?;
    let external = Arc::new(bus.with_source("external"));
    let faults = claim_checked(&sdk, Arc::new(bus));
    Ok(handler(external, faults, Config::from_env()).read_with(event_readers(&sdk)?))
}
