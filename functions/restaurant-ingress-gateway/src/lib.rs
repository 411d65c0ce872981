//! `restaurant-ingress-gateway`: the inter-subsystem ingress of the Customer subsystem. The
//! hub routes the Restaurant subsystem's external events (source `external`) to the ingress
//! stream; this gateway turns `restaurant-menu-published` into the internal `menu-updated`,
//! `restaurant-closed` into `restaurant-unavailable` and `order-accepted` (the restaurant took
//! an order) into the internal `order-accepted` keyed by the order, published to the bus.
//!
//! A tolerant reader: unknown fields are ignored, missing optional fields take defaults, and
//! event types it does not know are filtered out, not faulted (the upstream subsystem may add
//! types at any time).

use std::sync::Arc;

use customer_contracts::restaurant::{
    ORDER_ACCEPTED, OrderAcceptanceV1, RESTAURANT_CLOSED, RESTAURANT_MENU_PUBLISHED, RestaurantV1,
};
use lambda_stream::{
    Config, Delivered, Envelope, KinesisSource, Pipeline, Publisher, StepError, StreamHandler,
    TypeFilter, Uow,
};
use lambda_stream_aws::ConfigError;
use lambda_stream_aws::ports::{AwsPorts, Env, Ports, internal_bus};
use serde::{Deserialize, Serialize};

/// The internal menu the Customer subsystem's BFFs keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Menu {
    /// The restaurant.
    pub restaurant_id: String,
    /// Its name.
    pub restaurant_name: String,
    /// What can be ordered now.
    pub items: Vec<MenuItem>,
}

/// One dish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MenuItem {
    /// The menu item id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its price in minor units.
    pub price: i64,
}

/// Maps an external restaurant event to an internal one.
pub fn to_internal(uow: &Uow<()>) -> Result<Envelope, StepError> {
    if uow.event.event_type() == ORDER_ACCEPTED.event_type {
        // The order's own key, so the control service finds it with the order's other events.
        let acceptance: OrderAcceptanceV1 = uow.event.field(ORDER_ACCEPTED.entity_field)?;
        return Envelope::builder("order-accepted")
            .id(uow.event.id())
            .timestamp(uow.event.timestamp())
            .partition_key(acceptance.order_id.clone())
            .entity("acceptance", &acceptance)
            .build()
            .map_err(StepError::from);
    }
    let restaurant: RestaurantV1 = uow.event.field(RESTAURANT_MENU_PUBLISHED.entity_field)?;
    let builder = match uow.event.event_type() {
        "restaurant-menu-published" => Envelope::builder("menu-updated").entity(
            "menu",
            &Menu {
                restaurant_id: restaurant.id.clone(),
                restaurant_name: restaurant.name,
                items: restaurant
                    .menu
                    .into_iter()
                    .filter(|i| i.available)
                    .map(|i| MenuItem {
                        id: i.id,
                        name: i.name,
                        price: i.price,
                    })
                    .collect(),
            },
        ),
        _ => Envelope::builder("restaurant-unavailable")
            .entity("restaurant", &serde_json::json!({"id": restaurant.id})),
    };
    builder
        .id(uow.event.id())
        .timestamp(uow.event.timestamp())
        .partition_key(restaurant.id)
        .build()
        .map_err(StepError::from)
}

/// The gateway's one pipeline.
pub fn restaurant_updates(bus: Arc<dyn Publisher>) -> Pipeline<Delivered> {
    Pipeline::new("restaurant-updates")
        .on_types(TypeFilter::set([
            RESTAURANT_MENU_PUBLISHED.event_type,
            RESTAURANT_CLOSED.event_type,
            ORDER_ACCEPTED.event_type,
        ]))
        .map(to_internal)
        .publish(bus, 2)
}

/// The handler: the ingress stream in, internal events and faults to the bus.
pub fn handler(bus: Arc<dyn Publisher>, config: Config) -> StreamHandler<KinesisSource> {
    StreamHandler::with_config(KinesisSource::new(), config)
        .pipeline(restaurant_updates(Arc::clone(&bus)))
        .faults_to(bus)
}

/// The whole wiring of the function, for AWS and for the local hub alike: the bus from
/// `BUS_NAME`, claim-checking what is too large for it (`CLAIMCHECK_BUCKET_NAME`), and Node's
/// claim checks and encrypted events read with the ports' readers.
pub fn build(env: Env<'_>, ports: &dyn Ports) -> Result<StreamHandler<KinesisSource>, ConfigError> {
    let bus = internal_bus(env, ports)?;
    Ok(handler(bus, Config::from_lookup(env)).read_with(ports.readers()?))
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
