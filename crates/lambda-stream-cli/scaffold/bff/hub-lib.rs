//! {{name}}'s functions for the local hub: each binary its template deploys, with the
//! function's own `build(env, ports)`, the one its `main.rs` runs with the AWS clients.

use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_http::{Body, Request, Response};
use local_hub::hub::HttpFunction;
use local_hub::hub::registry::Registry;
use {{crate}}::{api, listener, trigger};

/// The API, as the hub calls an HTTP function.
struct Api(api::Api);

impl HttpFunction for Api {
    fn call(&self, request: Request) -> BoxFuture<'_, Response<Body>> {
        async move { self.0.handle(request).await }.boxed()
    }
}

/// The functions of `templates/{{name}}.yaml`, by binary.
pub fn registry() -> Registry {
    Registry::new()
        .events("{{name}}-listener", listener::build)
        .events("{{name}}-trigger", trigger::build)
        .http("{{name}}-api", |env, ports| api::build(env, ports).map(Api))
}
