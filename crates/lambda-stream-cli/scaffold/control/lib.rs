//! `{{name}}`: a control service on the event hub, over a micro event store.
//!
//! | function | source | what it does |
//! |---|---|---|
//! | `{{name}}-listener` | the hub's internal stream | [`listener::collect_item_events`]: `item-requested` and `item-approved` into the event store, keyed by the item (the event's partition key) |
//! | `{{name}}-trigger` | the event store's stream | [`trigger::complete_items`]: at each event collected, the item's events evaluated ([`rules`]) and `item-completed` published once per item |
//!
//! Each function's whole wiring is one `build(env, ports)`: its `main.rs` runs it with the
//! process environment and the AWS clients (`from_env`), the local hub with the template's
//! environment and the hub's own ports. Rename the events to your domain's and write your
//! rules in [`rules`].

pub mod listener;
pub mod rules;
pub mod trigger;

use lambda_stream::{StepError, Uow};
use lambda_stream_aws::ConfigError;
use lambda_stream_aws::event_store::EventStore;
use lambda_stream_aws::ports::{Env, Ports, table_named};

/// The error a function's start-up gives the Lambda runtime.
pub type InitError = lambda_stream::lambda_runtime::Error;

/// The event store's table.
pub const TABLE_VARIABLE: &str = "EVENT_TABLE_NAME";

/// How long collected events are kept, in days.
pub const EVENT_TTL_DAYS: u32 = 30;

/// The process environment, as a function's `build` reads its settings in Lambda.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The event store in `EVENT_TABLE_NAME`.
pub fn event_store(env: Env<'_>, ports: &dyn Ports) -> Result<EventStore, ConfigError> {
    Ok(EventStore::new(
        table_named(env, ports, TABLE_VARIABLE)?,
        EVENT_TTL_DAYS,
    ))
}

/// The item an event is about: its partition key (every event of an item is keyed by it).
pub fn item_of<T>(uow: &Uow<T>) -> Result<String, StepError> {
    match uow.event.partition_key() {
        Some(key) if !key.is_empty() => Ok(key.to_string()),
        _ => Err(StepError::permanent(format!(
            "`{}` {} has no partition key naming its item",
            uow.event.event_type(),
            uow.event.id()
        ))
        .with_name("NoItem")),
    }
}
