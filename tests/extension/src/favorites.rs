//! `favorites`, a service written outside the example subsystem with the public API alone, on
//! the same hub: its own rule sends every `order-placed` to its queue (`templates/favorites.yaml`)
//! and its listener keeps, per customer, the restaurants they ordered from, in its own table.
//! [`build`] is its whole wiring, for Lambda ([`from_env`]) and for the local hub alike
//! (`tests/hub.rs` runs it beside the Customer subsystem).

use std::sync::Arc;

use lambda_stream::{Config, Delivered, Pipeline, SqsSource, StepError, StreamHandler};
use lambda_stream_aws::ConfigError;
use lambda_stream_aws::ports::{AwsPorts, Env, Ports, internal_bus, table_named};
use lambda_stream_aws::store::Key;
use lambda_stream_aws::view::{MaterializeStep, View, Views};
use serde_json::{Value, json};

/// The key of a customer's favorite restaurant.
pub fn favorite_key(customer: &str, restaurant: &str) -> Key {
    Key::new(
        format!("customer#{customer}"),
        format!("restaurant#{restaurant}"),
    )
}

/// Each order placed: the customer's restaurant, with the last order placed there.
pub fn favorites(views: &Views) -> Pipeline<Delivered> {
    Pipeline::new("favorites")
        .on_type("order-placed")
        .materialize(views, |uow| {
            let order: Value = uow.event.entity()?;
            let (Some(customer), Some(restaurant)) =
                (order["customerId"].as_str(), order["restaurantId"].as_str())
            else {
                return Err(StepError::permanent(
                    "the order names no customer or restaurant",
                ));
            };
            View::new(
                favorite_key(customer, restaurant),
                "favorite",
                &json!({"lastOrderId": order["id"]}),
            )
        })
}

/// The listener's whole wiring: its table in `FAVORITES_TABLE_NAME`, faults to the hub's bus.
pub fn build(env: Env<'_>, ports: &dyn Ports) -> Result<StreamHandler<SqsSource>, ConfigError> {
    let views = Views::new(table_named(env, ports, "FAVORITES_TABLE_NAME")?);
    Ok(
        StreamHandler::with_config(SqsSource::new(), Config::from_lookup(env))
            .pipeline(favorites(&views))
            .faults_to(internal_bus(env, ports)?),
    )
}

/// The listener as Lambda runs it: [`build`] with the process environment and the AWS clients.
pub async fn from_env() -> Result<StreamHandler<SqsSource>, lambda_stream::lambda_runtime::Error> {
    let ports = Arc::new(AwsPorts::from_env().await);
    Ok(build(&|name| std::env::var(name).ok(), ports.as_ref())?)
}
