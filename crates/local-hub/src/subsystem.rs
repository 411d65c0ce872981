//! The Customer subsystem's functions, built for the hub: each binary the templates name, built
//! by its own crate's `build(env, ports)` (the one its `main.rs` runs with the AWS clients)
//! with the environment the template gives it and the hub's ports ([`HubPorts`]) in place of
//! the AWS clients. Nothing of a function's wiring is copied here.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_http::{Body, Request, Response};
use order_bff::graphql::BffSchema;
use payment_ingress_webhook_gateway::WebhookGateway;

use crate::hub::function::{HttpFunction, Runnable};
use crate::hub::ports::HubPorts;
use crate::hub::{Core, HubError};
use crate::model::Function;

/// What the hub plays outside the subsystem that the functions need to know.
#[derive(Debug, Clone)]
pub struct Externals {
    /// The payment processor's base URL (the hub's local processor).
    pub processor_url: String,
    /// The secret the processor signs callbacks with.
    pub webhook_secret: String,
}

/// The binaries the hub can run.
pub const BINARIES: &[&str] = &[
    "delivery-ingress-gateway",
    "notification-egress-gateway",
    "order-bff-graphql",
    "order-bff-listener",
    "order-bff-trigger",
    "order-control-listener",
    "order-control-trigger",
    "order-egress-gateway",
    "payment-egress-gateway",
    "payment-ingress-webhook-gateway",
    "restaurant-ingress-gateway",
];

struct Webhook(Arc<WebhookGateway>);

impl HttpFunction for Webhook {
    fn call(&self, request: Request) -> BoxFuture<'_, Response<Body>> {
        async move { self.0.handle(request).await }.boxed()
    }
}

struct Graphql(Arc<BffSchema>);

impl HttpFunction for Graphql {
    fn call(&self, request: Request) -> BoxFuture<'_, Response<Body>> {
        async move { order_bff::api::handle(&self.0, request).await }.boxed()
    }
}

/// Every function of the deployment, built; an error names a function the hub cannot run.
pub fn functions(
    core: &Arc<Core>,
    externals: &Externals,
) -> Result<BTreeMap<String, Runnable>, HubError> {
    let mut built = BTreeMap::new();
    for function in &core.model().functions {
        let env = environment(core, function, externals);
        built.insert(function.name.clone(), build(core, function, &env)?);
    }
    Ok(built)
}

/// The environment the template gives `function`, as Lambda would: its own name and region
/// added; and what the hub plays instead of the outside world (the processor's URL and key,
/// the webhook's signing secret) in place of what a deployment reads.
pub fn environment(
    core: &Core,
    function: &Function,
    externals: &Externals,
) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = function.environment.iter().cloned().collect();
    env.insert(
        "AWS_LAMBDA_FUNCTION_NAME".into(),
        function.function_name.clone(),
    );
    env.insert("AWS_REGION".into(), core.model().deployment.region.clone());
    env.insert("PAYMENT_API_URL".into(), externals.processor_url.clone());
    env.insert("PAYMENT_API_KEY".into(), "sk_local".into());
    env.insert(
        "PAYMENT_WEBHOOK_SECRET".into(),
        externals.webhook_secret.clone(),
    );
    env
}

/// `function` built by its own crate's `build` (the one its `main.rs` runs) with `env` and the
/// hub's ports.
pub fn build(
    core: &Arc<Core>,
    function: &Function,
    env: &BTreeMap<String, String>,
) -> Result<Runnable, HubError> {
    let error =
        |reason: String| HubError(format!("{} ({}): {reason}", function.name, function.binary));
    let lookup = |name: &str| env.get(name).cloned();
    let ports = HubPorts::new(Arc::clone(core));
    // Each function built by its own crate's `build`, the one its `main.rs` runs.
    let built = match function.binary.as_str() {
        "order-egress-gateway" => order_egress_gateway::build(&lookup, &ports).map(events),
        "notification-egress-gateway" => {
            notification_egress_gateway::build(&lookup, &ports).map(events)
        }
        "delivery-ingress-gateway" => delivery_ingress_gateway::build(&lookup, &ports).map(events),
        "restaurant-ingress-gateway" => {
            restaurant_ingress_gateway::build(&lookup, &ports).map(events)
        }
        "payment-egress-gateway" => payment_egress_gateway::build(&lookup, &ports).map(events),
        "order-bff-listener" => order_bff::build_listener(&lookup, &ports).map(events),
        "order-bff-trigger" => order_bff::build_trigger(&lookup, &ports).map(events),
        "order-control-listener" => order_control::build_listener(&lookup, &ports).map(events),
        "order-control-trigger" => order_control::build_trigger(&lookup, &ports).map(events),
        "order-bff-graphql" => order_bff::build_graphql(&lookup, &ports)
            .map(|schema| Runnable::Http(Arc::new(Graphql(Arc::new(schema))))),
        "payment-ingress-webhook-gateway" => {
            payment_ingress_webhook_gateway::build(&lookup, &ports)
                .map(|gateway| Runnable::Http(Arc::new(Webhook(Arc::new(gateway)))))
        }
        other => {
            return Err(error(format!(
                "the local hub cannot run the binary {other}; it runs {}",
                BINARIES.join(", ")
            )));
        }
    };
    built.map_err(|e| error(e.to_string()))
}

/// A stream or queue consumer, for the hub to invoke.
fn events<F: crate::hub::LocalFunction + 'static>(function: F) -> Runnable {
    Runnable::Events(Arc::new(function))
}
