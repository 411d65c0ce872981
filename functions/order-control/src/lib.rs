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
use lambda_stream_aws::event_store::{EventStore, EventStoreSteps};

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

/// The event store in `EVENT_TABLE_NAME`, with the SDK's configuration from the environment.
async fn event_store_from_env() -> Result<EventStore, InitError> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let table = lambda_stream_aws::DynamoDbStore::from_env_var(&sdk, "EVENT_TABLE_NAME")?;
    Ok(EventStore::new(Arc::new(table), EVENT_TTL_DAYS))
}

/// The listener as the Lambda function runs it (`order-control-listener`): the event store in
/// `EVENT_TABLE_NAME`, faults to the bus (`BUS_NAME`, claim-checked in
/// `CLAIMCHECK_BUCKET_NAME` when too large), and Node's claim checks and encrypted events read
/// with S3 and KMS.
pub async fn listener_from_env() -> Result<StreamHandler<KinesisSource>, InitError> {
    use lambda_stream_aws::{EventBridgePublisher, claim_checked, event_readers};
    let sdk = lambda_stream_aws::sdk_config_from_env().await;
    let events = event_store_from_env().await?;
    let faults = claim_checked(&sdk, Arc::new(EventBridgePublisher::from_sdk(&sdk)?));
    Ok(listener(&events, Config::from_env())
        .faults_to(faults)
        .read_with(event_readers(&sdk)?))
}

/// The trigger as the Lambda function runs it (`order-control-trigger`): the event store in
/// `EVENT_TABLE_NAME`, events and faults to the bus (`BUS_NAME`, claim-checked in
/// `CLAIMCHECK_BUCKET_NAME` when too large).
pub async fn trigger_from_env() -> Result<StreamHandler<DynamoDbSource>, InitError> {
    use lambda_stream_aws::{EventBridgePublisher, claim_checked};
    let sdk = lambda_stream_aws::sdk_config_from_env().await;
    let events = event_store_from_env().await?;
    let bus = claim_checked(&sdk, Arc::new(EventBridgePublisher::from_sdk(&sdk)?));
    Ok(trigger(&events, bus, Config::from_env()))
}
