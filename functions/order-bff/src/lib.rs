//! The order BFF: the customer's API and the views behind it, three functions over one table.
//!
//! | function (binary) | what | module |
//! |---|---|---|
//! | `order-bff-graphql` | the GraphQL API behind an HTTP API with a JWT authorizer | [`graphql`], [`api`] |
//! | `order-bff-listener` | menus and payment outcomes from the hub into the table | [`mod@listener`] |
//! | `order-bff-trigger` | the API's changes become `order-placed`, `order-cancelled`, `payment-requested` | [`mod@trigger`] |
//!
//! The table's items are in [`model`]. Latching keeps the listener and the trigger from
//! feeding each other: the listener's writes are latched and the trigger drops latched
//! changes; the listener drops the events the BFF published itself.
//!
//! **Asynchronous request-response** (`requestPayment`): the mutation stores a payment
//! request (`requested`) and returns its id at once; the trigger publishes
//! `payment-requested`; the payment egress gateway charges; the processor calls the webhook;
//! `payment-authorized` or `payment-declined` reaches the listener, which sets the request's
//! status. The client polls `paymentRequest(id) { status }`: first after 1 s, then doubling
//! the wait up to 8 s, and after 8 tries (about a minute) shows "the payment is taking
//! longer than usual" and stops polling; a later query still returns the late outcome (the
//! request and its status stay in the table).

pub mod api;
pub mod graphql;
pub mod listener;
pub mod model;
pub mod trigger;

use std::sync::Arc;

use lambda_stream::{Config, DynamoDbSource, KinesisSource, Publisher, StreamHandler};
use lambda_stream_aws::ConfigError;
use lambda_stream_aws::ports::{AwsPorts, Env, Ports, internal_bus, table_named};
use lambda_stream_aws::view::Views;

/// The listener function over `views`; its faults go to `faults`.
pub fn listener(
    views: &Views,
    faults: Arc<dyn Publisher>,
    config: Config,
) -> StreamHandler<KinesisSource> {
    StreamHandler::with_config(KinesisSource::new(), config)
        .pipeline(listener::menus(views))
        .pipeline(listener::payment_outcomes(views))
        .faults_to(faults)
}

/// The trigger function: events and faults to `bus`.
pub fn trigger(bus: Arc<dyn Publisher>, config: Config) -> StreamHandler<DynamoDbSource> {
    StreamHandler::with_config(DynamoDbSource::for_config(&config), config)
        .pipeline(trigger::changes_to_events(Arc::clone(&bus)))
        .faults_to(bus)
}

/// The error a function's start-up gives the runtime.
type InitError = lambda_stream::lambda_runtime::Error;

/// The listener's whole wiring, for AWS and for the local hub alike (`order-bff-listener`):
/// the views in `ENTITY_TABLE_NAME`, faults to the bus (`BUS_NAME`, claim-checked in
/// `CLAIMCHECK_BUCKET_NAME` when too large), and Node's claim checks and encrypted events read
/// with the ports' readers.
pub fn build_listener(
    env: Env<'_>,
    ports: &dyn Ports,
) -> Result<StreamHandler<KinesisSource>, ConfigError> {
    let views = Views::new(table_named(env, ports, "ENTITY_TABLE_NAME")?);
    let faults = internal_bus(env, ports)?;
    Ok(listener(&views, faults, Config::from_lookup(env)).read_with(ports.readers()?))
}

/// The trigger's whole wiring (`order-bff-trigger`): events and faults to the bus (`BUS_NAME`,
/// claim-checked in `CLAIMCHECK_BUCKET_NAME` when too large).
pub fn build_trigger(
    env: Env<'_>,
    ports: &dyn Ports,
) -> Result<StreamHandler<DynamoDbSource>, ConfigError> {
    Ok(trigger(internal_bus(env, ports)?, Config::from_lookup(env)))
}

/// The GraphQL API's whole wiring (`order-bff-graphql`): the table in `ENTITY_TABLE_NAME`.
pub fn build_graphql(env: Env<'_>, ports: &dyn Ports) -> Result<graphql::BffSchema, ConfigError> {
    Ok(graphql::schema(graphql::Services {
        store: table_named(env, ports, "ENTITY_TABLE_NAME")?,
        now: Box::new(lambda_stream::envelope::now_millis),
    }))
}

/// The listener as Lambda runs it: [`build_listener`] with the process environment and the
/// AWS SDK clients.
pub async fn listener_from_env() -> Result<StreamHandler<KinesisSource>, InitError> {
    Ok(build_listener(
        &|name| std::env::var(name).ok(),
        &AwsPorts::from_env().await,
    )?)
}

/// The trigger as Lambda runs it: [`build_trigger`] with the process environment and the AWS
/// SDK clients.
pub async fn trigger_from_env() -> Result<StreamHandler<DynamoDbSource>, InitError> {
    Ok(build_trigger(
        &|name| std::env::var(name).ok(),
        &AwsPorts::from_env().await,
    )?)
}

/// The GraphQL API as Lambda runs it: [`build_graphql`] with the process environment and the
/// AWS SDK clients.
pub async fn graphql_from_env() -> Result<graphql::BffSchema, InitError> {
    Ok(build_graphql(
        &|name| std::env::var(name).ok(),
        &AwsPorts::from_env().await,
    )?)
}
