//! The Customer subsystem's functions, built for the hub: each binary the templates name,
//! constructed as its `main.rs` does, with the hub's bus, topics and tables in place of the AWS
//! clients and the environment the template gives it.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_http::{Body, Request, Response};
use lambda_stream::{ClaimCheckPublisher, Config, Publisher};
use lambda_stream_aws::event_store::EventStore;
use lambda_stream_aws::store::Store;
use lambda_stream_aws::store::memory::InMemoryStore;
use lambda_stream_aws::view::Views;
use lambda_stream_aws::{ClaimStore, Idempotency};
use order_bff::graphql::BffSchema;
use payment_ingress_webhook_gateway::WebhookGateway;

use crate::hub::function::{HttpFunction, Runnable};
use crate::hub::publishers::{BusPublisher, TopicPublisher};
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
        built.insert(function.name.clone(), build(core, function, externals)?);
    }
    Ok(built)
}

fn build(
    core: &Arc<Core>,
    function: &Function,
    externals: &Externals,
) -> Result<Runnable, HubError> {
    let env: BTreeMap<String, String> = function.environment.iter().cloned().collect();
    let error =
        |reason: String| HubError(format!("{} ({}): {reason}", function.name, function.binary));
    let var = |name: &str| {
        env.get(name)
            .cloned()
            .ok_or_else(|| error(format!("the template gives it no {name}")))
    };
    let mut lookup = env.clone();
    lookup.insert(
        "AWS_LAMBDA_FUNCTION_NAME".into(),
        function.function_name.clone(),
    );
    lookup.insert("AWS_REGION".into(), core.model().deployment.region.clone());
    let config = Config::from_lookup(|name| lookup.get(name).cloned());
    let hub_bus = || -> Result<Arc<BusPublisher>, HubError> {
        Ok(Arc::new(BusPublisher::new(
            Arc::clone(core),
            &var("BUS_NAME")?,
        )))
    };
    // As each main.rs does: the bus claim-checks what is too large when the template names a
    // bucket (`claim_checked_from_env`), here in the hub's store.
    let claim_checked = |bus: Arc<dyn Publisher>| -> Arc<dyn Publisher> {
        match env.get("CLAIMCHECK_BUCKET_NAME") {
            Some(bucket) => Arc::new(ClaimCheckPublisher::new(
                bus,
                Arc::new(core.claim_checks().storing_in(bucket)),
            )),
            None => bus,
        }
    };
    let bus = || -> Result<Arc<dyn Publisher>, HubError> { Ok(claim_checked(hub_bus()?)) };
    // And every consumer of events reads claim checks and encrypted events with the hub's
    // stores (`event_readers_from_env`).
    let readers = core.event_readers();
    let in_memory = |variable: &str| -> Result<Arc<InMemoryStore>, HubError> {
        let name = var(variable)?;
        let table = core.table(&name).ok_or_else(|| {
            error(format!(
                "{variable} names {name}, which is not a table of the deployment"
            ))
        })?;
        Ok(Arc::clone(&table.store))
    };
    let table = |variable: &str| in_memory(variable).map(|t| t as Arc<dyn Store>);
    // The same tables, for an idempotency guard's claims.
    let claims = |variable: &str| in_memory(variable).map(|t| t as Arc<dyn ClaimStore>);
    let events = |f: Arc<dyn crate::hub::LocalFunction>| Ok(Runnable::Events(f));
    match function.binary.as_str() {
        "order-egress-gateway" => {
            let bus = hub_bus()?;
            let external = Arc::new(bus.with_source("external"));
            events(Arc::new(
                order_egress_gateway::handler(external, claim_checked(bus), config)
                    .read_with(readers),
            ))
        }
        "notification-egress-gateway" => {
            let topic = Arc::new(TopicPublisher::new(Arc::clone(core), &var("TOPIC_ARN")?));
            events(Arc::new(
                notification_egress_gateway::handler(topic, bus()?, config).read_with(readers),
            ))
        }
        "delivery-ingress-gateway" => {
            events(Arc::new(delivery_ingress_gateway::handler(bus()?, config)))
        }
        "restaurant-ingress-gateway" => events(Arc::new(
            restaurant_ingress_gateway::handler(bus()?, config).read_with(readers),
        )),
        "payment-egress-gateway" => {
            let settings = payment_egress_gateway::Settings {
                api_url: externals.processor_url.clone(),
                api_key: "sk_local".to_string(),
                calls_per_second: env
                    .get("PAYMENT_API_RATE")
                    .and_then(|rate| rate.parse().ok())
                    .unwrap_or(10),
            };
            let sender = settings.sender().map_err(|e| error(e.to_string()))?;
            // With its idempotency table, in memory: a redelivered payment is not charged
            // again, as deployed.
            let idempotency = Idempotency::with_store(
                claims("ENTITY_TABLE_NAME")?,
                payment_egress_gateway::CHARGES_REMEMBERED_FOR,
            );
            events(Arc::new(
                payment_egress_gateway::handler(
                    sender,
                    Some(Arc::new(idempotency)),
                    bus()?,
                    config,
                )
                .read_with(readers),
            ))
        }
        "order-bff-listener" => {
            let views = Views::new(table("ENTITY_TABLE_NAME")?);
            events(Arc::new(
                order_bff::listener(&views, bus()?, config).read_with(readers),
            ))
        }
        "order-bff-trigger" => events(Arc::new(order_bff::trigger(bus()?, config))),
        "order-control-listener" => {
            let store = EventStore::new(table("EVENT_TABLE_NAME")?, order_control::EVENT_TTL_DAYS);
            events(Arc::new(
                order_control::listener(&store, config)
                    .faults_to(bus()?)
                    .read_with(readers),
            ))
        }
        "order-control-trigger" => {
            let store = EventStore::new(table("EVENT_TABLE_NAME")?, order_control::EVENT_TTL_DAYS);
            events(Arc::new(order_control::trigger(&store, bus()?, config)))
        }
        "order-bff-graphql" => {
            let schema = order_bff::graphql::schema(order_bff::graphql::Services {
                store: table("ENTITY_TABLE_NAME")?,
                now: Box::new(lambda_stream::envelope::now_millis),
            });
            Ok(Runnable::Http(Arc::new(Graphql(Arc::new(schema)))))
        }
        "payment-ingress-webhook-gateway" => {
            let mut settings_env = lookup.clone();
            settings_env.insert(
                "PAYMENT_WEBHOOK_SECRET".into(),
                externals.webhook_secret.clone(),
            );
            let settings = payment_ingress_webhook_gateway::Settings::from_lookup(|name| {
                settings_env.get(name).cloned()
            })
            .map_err(error)?;
            let gateway = WebhookGateway::new(settings, bus()?);
            Ok(Runnable::Http(Arc::new(Webhook(Arc::new(gateway)))))
        }
        other => Err(error(format!(
            "the local hub cannot run the binary {other}; it runs {}",
            BINARIES.join(", ")
        ))),
    }
}
