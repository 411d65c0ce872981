//! The Customer subsystem's functions, for the hub: a [`Registry`] of each binary its
//! templates name with that function crate's own `build(env, ports)` (the one its `main.rs`
//! runs with the AWS clients), and what the hub plays in place of the outside world (the
//! payment processor's URL and key, the webhook's signing secret). Nothing of a function's
//! wiring is copied here.

use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_http::{Body, Request, Response};
use order_bff::graphql::BffSchema;
use payment_ingress_webhook_gateway::WebhookGateway;

use local_hub::hub::HttpFunction;
use local_hub::hub::registry::Registry;

/// What the hub plays outside the subsystem that the functions need to know.
#[derive(Debug, Clone)]
pub struct Externals {
    /// The payment processor's base URL (the hub's local processor).
    pub processor_url: String,
    /// The secret the processor signs callbacks with.
    pub webhook_secret: String,
}

struct Webhook(WebhookGateway);

impl HttpFunction for Webhook {
    fn call(&self, request: Request) -> BoxFuture<'_, Response<Body>> {
        async move { self.0.handle(request).await }.boxed()
    }
}

struct Graphql(BffSchema);

impl HttpFunction for Graphql {
    fn call(&self, request: Request) -> BoxFuture<'_, Response<Body>> {
        async move { order_bff::api::handle(&self.0, request).await }.boxed()
    }
}

/// The Customer subsystem's functions, with `externals` played locally.
pub fn registry(externals: &Externals) -> Registry {
    Registry::new()
        .events("delivery-ingress-gateway", delivery_ingress_gateway::build)
        .events(
            "notification-egress-gateway",
            notification_egress_gateway::build,
        )
        .events("order-egress-gateway", order_egress_gateway::build)
        .events("payment-egress-gateway", payment_egress_gateway::build)
        .events(
            "restaurant-ingress-gateway",
            restaurant_ingress_gateway::build,
        )
        .events("order-bff-listener", order_bff::build_listener)
        .events("order-bff-trigger", order_bff::build_trigger)
        .events("order-control-listener", order_control::build_listener)
        .events("order-control-trigger", order_control::build_trigger)
        .http("order-bff-graphql", |env, ports| {
            order_bff::build_graphql(env, ports).map(Graphql)
        })
        .http("payment-ingress-webhook-gateway", |env, ports| {
            payment_ingress_webhook_gateway::build(env, ports).map(Webhook)
        })
        .set("PAYMENT_API_URL", externals.processor_url.clone())
        .set("PAYMENT_API_KEY", "sk_local")
        .set("PAYMENT_WEBHOOK_SECRET", externals.webhook_secret.clone())
}
