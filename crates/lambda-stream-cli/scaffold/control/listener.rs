//! The listener: the events the rules read, collected from the hub's internal stream into the
//! event store, keyed by item. Its own service's events (`item-completed`) are not collected.

use lambda_stream::{Config, Delivered, KinesisSource, Pipeline, StreamHandler, TypeFilter};
use lambda_stream_aws::ConfigError;
use lambda_stream_aws::event_store::{EventStore, EventStoreSteps};
use lambda_stream_aws::ports::{AwsPorts, Env, Ports, internal_bus};

use crate::{InitError, event_store, item_of, rules};

/// The listener's pipeline.
pub fn collect_item_events(events: &EventStore) -> Pipeline<Delivered> {
    Pipeline::new("collect-item-events")
        .on_types(TypeFilter::set(rules::COLLECTED))
        .drop_own_events()
        .collect(events, item_of, |_| None)
}

/// The listener's whole wiring, for Lambda and for the local hub alike: the event store in
/// `EVENT_TABLE_NAME`, faults to the hub's bus (`BUS_NAME`), and the Node library's claim
/// checks and encrypted events read with the ports' readers.
pub fn build(env: Env<'_>, ports: &dyn Ports) -> Result<StreamHandler<KinesisSource>, ConfigError> {
    let events = event_store(env, ports)?;
    Ok(
        StreamHandler::with_config(KinesisSource::new(), Config::from_lookup(env))
            .pipeline(collect_item_events(&events))
            .faults_to(internal_bus(env, ports)?)
            .read_with(ports.readers()?),
    )
}

/// The listener as Lambda runs it: [`build`] with the process environment and the AWS clients.
pub async fn from_env() -> Result<StreamHandler<KinesisSource>, InitError> {
    Ok(build(&crate::process_env, &AwsPorts::from_env().await)?)
}
