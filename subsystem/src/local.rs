//! The Customer subsystem running locally: a [`LocalHub`] with every function of its templates
//! (built by [`crate::functions::registry`]), the payment processor calling the webhook back
//! whenever the functions are idle, and the calls the subsystem's outside makes: a customer's
//! GraphQL request, the Restaurant subsystem's feed ([`LocalHub::external_event`], through
//! `Deref`), the delivery system's messages.

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::Arc;

use local_hub::hub::registry::Registry;
use local_hub::hub::{Core, HttpFunction, HubError};
use local_hub::local::{LocalHub, StartOptions};
use serde_json::Value;

use crate::functions::{self, Externals};
use crate::outside::{Callbacks, Processor};

/// The secret the local processor signs callbacks with.
const WEBHOOK_SECRET: &str = "whsec_local_hub";

/// The subsystem, running.
pub struct LocalSubsystem {
    local: LocalHub,
    /// The payment processor.
    pub processor: Processor,
    graphql: Arc<dyn HttpFunction>,
    delivery_topic: String,
}

impl std::fmt::Debug for LocalSubsystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSubsystem")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl Deref for LocalSubsystem {
    type Target = LocalHub;

    fn deref(&self) -> &LocalHub {
        &self.local
    }
}

impl DerefMut for LocalSubsystem {
    fn deref_mut(&mut self) -> &mut LocalHub {
        &mut self.local
    }
}

impl LocalSubsystem {
    /// Reads the templates in `dir` (with `local-hub.json`) and starts everything.
    pub async fn start(dir: &Path) -> Result<Self, HubError> {
        Self::start_with(dir, StartOptions::default()).await
    }

    /// As [`LocalSubsystem::start`], with faults injected.
    pub async fn start_with(dir: &Path, options: StartOptions) -> Result<Self, HubError> {
        Self::start_beside(dir, options, Registry::new()).await
    }

    /// The Customer subsystem with the functions `others` registers beside it (another
    /// service's, deployed by the stacks `dir/local-hub.json` lists after the subsystem's).
    pub async fn start_beside(
        dir: &Path,
        options: StartOptions,
        others: Registry,
    ) -> Result<Self, HubError> {
        let model = local_hub::load(dir).map_err(|e| HubError(e.to_string()))?;
        let processor = Processor::start(WEBHOOK_SECRET).await;
        let externals = Externals {
            processor_url: processor.url().to_string(),
            webhook_secret: WEBHOOK_SECRET.to_string(),
        };
        let registry = functions::registry(&externals).with(others);
        let local = LocalHub::start_on(Core::new(model)?, registry, options)?;
        let graphql = local.http("order-bff-graphql")?;
        let webhook = local.http("payment-ingress-webhook-gateway")?;
        let delivery_topic = delivery_topic(&local)?;
        let local = local.with_outside(Callbacks {
            processor: processor.clone(),
            webhook,
        });
        Ok(Self {
            local,
            processor,
            graphql,
            delivery_topic,
        })
    }

    /// The hub, to run it as any subsystem (`serve`, `replay`).
    pub fn into_local_hub(self) -> LocalHub {
        self.local
    }

    /// A customer's GraphQL request to the BFF: the response's JSON (`data`, `errors`).
    pub async fn graphql(
        &self,
        customer: &str,
        query: &str,
        variables: Value,
    ) -> Result<Value, String> {
        let body = serde_json::json!({"query": query, "variables": variables}).to_string();
        let request = order_bff::api::request_for(Some(customer), &body)?;
        let response = self.graphql.call(request).await;
        let text = match response.body() {
            lambda_http::Body::Text(text) => text.clone(),
            lambda_http::Body::Binary(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            _ => String::new(),
        };
        serde_json::from_str(&text)
            .map_err(|e| format!("the BFF answered {}: {e}: {text}", response.status()))
    }

    /// A message of the delivery system on its topic.
    pub fn delivery_message(&self, message: &Value) {
        self.local
            .publish(&self.delivery_topic, &[message.to_string()]);
    }
}

/// The delivery system's topic: the one the delivery ingress gateway's queue is subscribed to.
fn delivery_topic(local: &LocalHub) -> Result<String, HubError> {
    let delivery = local.function_of("delivery-ingress-gateway")?;
    let model = local.hub.core().model();
    let queue = model
        .sources
        .iter()
        .find(|s| s.function == delivery)
        .map(|s| s.arn.clone())
        .ok_or_else(|| HubError("delivery-ingress-gateway reads no queue".into()))?;
    model
        .subscriptions
        .iter()
        .find(|s| s.endpoint == queue)
        .map(|s| s.topic.clone())
        .ok_or_else(|| HubError("no topic feeds the delivery queue".into()))
}
