//! {{name}}'s functions for the local hub: each binary its template deploys, with the
//! function's own `build(env, ports)`, the one its `main.rs` runs with the AWS clients.

use local_hub::hub::registry::Registry;
use {{crate}}::listener;

/// The functions of `templates/{{name}}.yaml`, by binary.
pub fn registry() -> Registry {
    Registry::new().events("{{name}}-listener", listener::build)
}
