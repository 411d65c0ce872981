//! `{{name}}`: a BFF (backend for frontend) on the event hub.
//!
//! | function | source | what it does |
//! |---|---|---|
//! | `{{name}}-listener` | the hub's internal stream | [`listener::item_views`]: each `item-published` kept as the item's view, the newest winning |
//! | `{{name}}-api` | an HTTP API with a JWT authorizer | [`api::Api`]: `GET /items/{id}` the item and the caller's note, `PUT /items/{id}/note` the caller's note |
//! | `{{name}}-trigger` | the table's stream | [`trigger::notes_to_events`]: each note saved becomes `item-noted` on the bus |
//!
//! Each function's whole wiring is one `build(env, ports)`: its `main.rs` runs it with the
//! process environment and the AWS clients (`from_env`), the local hub with the template's
//! environment and the hub's own ports. Rename the events and the entities to your domain's.

pub mod api;
pub mod listener;
pub mod trigger;

/// The error a function's start-up gives the Lambda runtime.
pub type InitError = lambda_stream::lambda_runtime::Error;

/// The table every function of the service reads and writes.
pub const TABLE_VARIABLE: &str = "ENTITY_TABLE_NAME";

/// The process environment, as a function's `build` reads its settings in Lambda.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
