//! `{{name}}`: an ingress gateway on the event hub.
//!
//! | function | source | what it does |
//! |---|---|---|
//! | `{{name}}-listener` | the hub's ingress stream | [`listener::to_internal`]: another subsystem's `item-published` (source `external`) as this subsystem's `item-received` on the bus |
//!
//! A tolerant reader: fields it does not know are ignored and event types it does not know
//! are filtered out, not faulted (the other subsystem may add either at any time); an event it
//! knows but cannot read is a fault, and the rest of the batch goes on.
//!
//! The function's whole wiring is one `build(env, ports)`: its `main.rs` runs it with the
//! process environment and the AWS clients (`from_env`), the local hub with the template's
//! environment and the hub's own ports. Rename the events to your domain's.

pub mod listener;

/// The error a function's start-up gives the Lambda runtime.
pub type InitError = lambda_stream::lambda_runtime::Error;

/// The process environment, as a function's `build` reads its settings in Lambda.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
