//! The Customer subsystem running locally: the hub with every function of the templates, the
//! payment processor, and what the other systems send, behind a few calls (a customer's
//! GraphQL request, the Restaurant subsystem's feed, the delivery system's messages) and
//! [`LocalSubsystem::settle`], which runs everything until nothing is left to do.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::externals::Processor;
use crate::hub::registry::Registry;
use crate::hub::{BusEntry, Core, HttpFunction, Hub, HubError};
use crate::subsystem::{self, Externals};

/// The secret the local processor signs callbacks with.
const WEBHOOK_SECRET: &str = "whsec_local_hub";

/// Faults to inject when starting.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// The function (`stack/LogicalId`) that fails the first record it gets twice.
    pub fail_first_record_twice: Option<String>,
    /// The function (`stack/LogicalId`) whose every invocation fails.
    pub always_fail: Option<String>,
    /// Keep every event put on the bus (for traces).
    pub keep_log: bool,
}

/// The subsystem, running.
pub struct LocalSubsystem {
    /// The hub and the functions.
    pub hub: Hub,
    /// The payment processor.
    pub processor: Processor,
    graphql: Arc<dyn HttpFunction>,
    webhook: Arc<dyn HttpFunction>,
    bus: String,
    delivery_topic: String,
    upstream_account: String,
}

impl std::fmt::Debug for LocalSubsystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalSubsystem")
            .field("bus", &self.bus)
            .finish_non_exhaustive()
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
        let model = crate::load(dir).map_err(|e| HubError(e.to_string()))?;
        let processor = Processor::start(WEBHOOK_SECRET).await;
        let core = Core::new(model)?;
        let externals = Externals {
            processor_url: processor.url().to_string(),
            webhook_secret: WEBHOOK_SECRET.to_string(),
        };
        let mut functions = subsystem::registry(&externals)
            .with(others)
            .build_all(&core)?;
        if let Some(name) = &options.fail_first_record_twice {
            let Some(crate::hub::Runnable::Events(inner)) = functions.get(name).cloned() else {
                return Err(HubError(format!(
                    "{name} is not a function that takes event batches"
                )));
            };
            let wrapped = crate::hub::inject::FailFirstRecordTwice::new(inner);
            functions.insert(
                name.clone(),
                crate::hub::Runnable::Events(Arc::new(wrapped)),
            );
        }
        if let Some(name) = &options.always_fail {
            if !matches!(functions.get(name), Some(crate::hub::Runnable::Events(_))) {
                return Err(HubError(format!(
                    "{name} is not a function that takes event batches"
                )));
            }
            functions.insert(
                name.clone(),
                crate::hub::Runnable::Events(Arc::new(crate::hub::inject::AlwaysFail)),
            );
        }
        if options.keep_log {
            core.keep_log();
        }
        let model = core.model();
        let by_binary = |binary: &str| {
            model
                .functions
                .iter()
                .find(|f| f.binary == binary)
                .map(|f| f.name.clone())
                .ok_or_else(|| HubError(format!("the templates deploy no {binary}")))
        };
        let (graphql, webhook) = (
            by_binary("order-bff-graphql")?,
            by_binary("payment-ingress-webhook-gateway")?,
        );
        let delivery = by_binary("delivery-ingress-gateway")?;
        let delivery_queue = model
            .sources
            .iter()
            .find(|s| s.function == delivery)
            .map(|s| s.arn.clone())
            .ok_or_else(|| HubError("delivery-ingress-gateway reads no queue".into()))?;
        let delivery_topic = model
            .subscriptions
            .iter()
            .find(|s| s.endpoint == delivery_queue)
            .map(|s| s.topic.clone())
            .ok_or_else(|| HubError("no topic feeds the delivery queue".into()))?;
        let bus = model
            .deployment
            .resources_of("AWS::Events::EventBus")
            .next()
            .map(|(_, _, r)| r.physical.reference.clone())
            .ok_or_else(|| HubError("the templates deploy no bus".into()))?;
        // The first account the hub's bus lets in (`UpstreamAccountIds`): the Restaurant
        // subsystem's, as the templates are deployed locally.
        let upstream_account = model
            .deployment
            .stacks
            .iter()
            .find_map(|stack| stack.parameters.get("UpstreamAccountIds"))
            .and_then(|ids| ids.get(0).and_then(Value::as_str))
            .filter(|id| !id.is_empty())
            .map(str::to_string)
            .ok_or_else(|| HubError("no stack has UpstreamAccountIds: the restaurant feed needs an upstream account".into()))?;
        let hub = Hub::new(Arc::clone(&core), functions)?;
        let graphql = hub
            .http(&graphql)
            .ok_or_else(|| HubError("no GraphQL function".into()))?;
        let webhook = hub
            .http(&webhook)
            .ok_or_else(|| HubError("no webhook function".into()))?;
        Ok(Self {
            hub,
            processor,
            graphql,
            webhook,
            bus,
            delivery_topic,
            upstream_account,
        })
    }

    /// The bus's name.
    pub fn bus(&self) -> &str {
        &self.bus
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

    /// An internal event (source `custom`) a service of the subsystem puts on the bus.
    pub fn internal_event(&self, event: &Value) -> Result<(), String> {
        let entry = BusEntry {
            source: "custom".to_string(),
            detail_type: event
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            detail: event.to_string(),
            resources: Vec::new(),
            account: None,
        };
        self.hub
            .core()
            .put_events(&self.bus, &[entry])
            .remove(0)
            .map(|_| ())
    }

    /// An event of another subsystem (the Restaurant subsystem's feed), arriving on the bus
    /// from its account with source `external`.
    pub fn external_event(&self, event: &Value) -> Result<(), String> {
        let entry = BusEntry {
            source: "external".to_string(),
            detail_type: event
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            detail: event.to_string(),
            resources: Vec::new(),
            account: Some(self.upstream_account.clone()),
        };
        self.hub
            .core()
            .put_events(&self.bus, &[entry])
            .remove(0)
            .map(|_| ())
    }

    /// A message of the delivery system on its topic.
    pub fn delivery_message(&self, message: &Value) {
        self.hub
            .core()
            .publish(&self.delivery_topic, &[message.to_string()]);
    }

    /// Runs every function until nothing is left: batches delivered, the processor's
    /// callbacks posted, and the batches those caused.
    pub async fn settle(&mut self) -> Result<(), HubError> {
        loop {
            self.hub.run_until_idle().await?;
            if self
                .processor
                .deliver_callbacks(self.webhook.as_ref())
                .await
                == 0
            {
                return Ok(());
            }
        }
    }

    /// Moves the hub's clock on (TTL expiry, the payment deadline), then settles.
    pub async fn advance(&mut self, by: Duration) -> Result<(), HubError> {
        self.hub.core().advance(by);
        self.settle().await
    }
}
