//! The order control service: drives each order through its state machine
//! ([`machine`]) with a micro event store.
//!
//! | function | source | pipeline |
//! |---|---|---|
//! | `order-control-listener` | the hub's internal stream | [`collect_order_events`]: the order's events into the event store, keyed by order id; `order-placed` expires after the payment deadline |
//! | `order-control-trigger` | the event table's stream | [`drive_orders`]: at each collected event (and at each expired one), the order's events are evaluated and the transitions that follow are published once each |
//!
//! Higher-order events: `order-confirmed`, `order-cancelled`, `order-delivered`,
//! `order-expired`, each with id `<order id>.<transition>`, `partitionKey` the order id, and
//! `triggers: [the event that completed it]`.

pub mod machine;

use std::sync::Arc;
use std::time::Duration;

use lambda_stream::{
    Config, Delivered, DynamoDbSource, KinesisSource, Pipeline, Publisher, StepError,
    StreamHandler, TypeFilter, Uow,
};
use lambda_stream_aws::ConfigError;
use lambda_stream_aws::event_store::{EventStore, EventStoreSteps};
use lambda_stream_aws::ports::{AwsPorts, Env, Ports, internal_bus, table_named};

/// How long a placed order waits for its payment before it expires.
pub const PAYMENT_DEADLINE: Duration = Duration::from_secs(15 * 60);

/// How long collected events are kept.
pub const EVENT_TTL_DAYS: u32 = 30;

/// The order an event is about: its partition key (every event of an order is keyed by it).
fn order_id<T>(uow: &Uow<T>) -> Result<String, StepError> {
    match uow.event.partition_key() {
        Some(key) if !key.is_empty() => Ok(key.to_string()),
        _ => Err(StepError::permanent(format!(
            "`{}` {} has no partition key naming its order",
            uow.event.event_type(),
            uow.event.id()
        ))
        .with_name("NoOrder")),
    }
}

/// The listener's pipeline: the events of the state machine into the event store.
pub fn collect_order_events(events: &EventStore) -> Pipeline<Delivered> {
    Pipeline::new("collect-order-events")
        .on_types(TypeFilter::set(machine::COLLECTED_TYPES))
        .drop_own_events()
        .collect(events, order_id, |event| {
            (event.event_type() == "order-placed").then_some(PAYMENT_DEADLINE)
        })
}

/// The trigger's pipeline: the order's transitions, published once each.
pub fn drive_orders(events: &EventStore, bus: Arc<dyn Publisher>) -> Pipeline<Delivered> {
    let evaluated = Pipeline::new("drive-orders").evaluate(events, order_id, machine::transitions);
    events.publish_once(evaluated, bus, 4)
}

/// The listener function.
pub fn listener(events: &EventStore, config: Config) -> StreamHandler<KinesisSource> {
    StreamHandler::with_config(KinesisSource::new(), config).pipeline(collect_order_events(events))
}

/// The trigger function; faults go to the bus too.
pub fn trigger(
    events: &EventStore,
    bus: Arc<dyn Publisher>,
    config: Config,
) -> StreamHandler<DynamoDbSource> {
    StreamHandler::with_config(DynamoDbSource::for_config(&config), config)
        .pipeline(drive_orders(events, Arc::clone(&bus)))
        .faults_to(bus)
}

/// The error a function's start-up gives the runtime.
type InitError = lambda_stream::lambda_runtime::Error;

/// The event store in `EVENT_TABLE_NAME`.
fn event_store(env: Env<'_>, ports: &dyn Ports) -> Result<EventStore, ConfigError> {
    Ok(EventStore::new(
        table_named(env, ports, "EVENT_TABLE_NAME")?,
        EVENT_TTL_DAYS,
    ))
}

/// The listener's whole wiring, for AWS and for the local hub alike
/// (`order-control-listener`): the event store in `EVENT_TABLE_NAME`, faults to the bus
/// (`BUS_NAME`, claim-checked in `CLAIMCHECK_BUCKET_NAME` when too large), and Node's claim
/// checks and encrypted events read with the ports' readers.
pub fn build_listener(
    env: Env<'_>,
    ports: &dyn Ports,
) -> Result<StreamHandler<KinesisSource>, ConfigError> {
    let events = event_store(env, ports)?;
    Ok(listener(&events, Config::from_lookup(env))
        .faults_to(internal_bus(env, ports)?)
        .read_with(ports.readers()?))
}

/// The trigger's whole wiring (`order-control-trigger`): the event store in
/// `EVENT_TABLE_NAME`, events and faults to the bus (`BUS_NAME`, claim-checked in
/// `CLAIMCHECK_BUCKET_NAME` when too large).
pub fn build_trigger(
    env: Env<'_>,
    ports: &dyn Ports,
) -> Result<StreamHandler<DynamoDbSource>, ConfigError> {
    let events = event_store(env, ports)?;
    Ok(trigger(
        &events,
        internal_bus(env, ports)?,
        Config::from_lookup(env),
    ))
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
