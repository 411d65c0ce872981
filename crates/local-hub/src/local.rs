//! A subsystem running locally, from its own templates: the hub with every function they
//! deploy (each built by the [`Registry`]'s build), what the hub plays outside the subsystem
//! ([`Outside`]: a third party calling back, for example), and a few calls to put events on
//! the bus, publish to a topic, and [`LocalHub::settle`], which runs everything until nothing
//! is left to do.
//!
//! ```no_run
//! # async fn example(registry: local_hub::hub::registry::Registry) -> Result<(), local_hub::hub::HubError> {
//! use local_hub::local::{LocalHub, StartOptions};
//! use serde_json::json;
//!
//! let mut local = LocalHub::start("templates".as_ref(), registry, StartOptions::default()).await?;
//! local.internal_event(&json!({"id": "e1", "type": "thing-done", "timestamp": 0}))
//!     .map_err(local_hub::hub::HubError)?;
//! local.settle().await?;
//! assert_eq!(local_hub::summary::account(&local.hub).unaccounted, 0);
//! # Ok(())
//! # }
//! ```

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;

use crate::hub::registry::Registry;
use crate::hub::{BusEntry, Core, HttpFunction, Hub, HubError, Runnable, inject};

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

/// Something outside the subsystem the hub plays, given its turn whenever the functions are
/// idle: a payment processor posting its callbacks, a partner answering late. The hub settles
/// when every function is idle and every `Outside` did nothing.
pub trait Outside: Send + Sync {
    /// Does what is due; how many things it did (0: nothing left).
    fn run<'a>(&'a mut self, hub: &'a Hub) -> BoxFuture<'a, Result<usize, HubError>>;
}

/// A subsystem, running.
pub struct LocalHub {
    /// The hub and the functions.
    pub hub: Hub,
    bus: String,
    upstream_account: Option<String>,
    outside: Vec<Box<dyn Outside>>,
}

impl std::fmt::Debug for LocalHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalHub")
            .field("bus", &self.bus)
            .finish_non_exhaustive()
    }
}

impl LocalHub {
    /// Reads the templates in `dir` (with `local-hub.json`), builds every function they deploy
    /// with `registry` and starts the hub.
    pub async fn start(
        dir: &Path,
        registry: Registry,
        options: StartOptions,
    ) -> Result<Self, HubError> {
        let model = crate::load(dir).map_err(|e| HubError(e.to_string()))?;
        Self::start_on(Core::new(model)?, registry, options)
    }

    /// As [`LocalHub::start`], on a hub already made (to start what `registry` needs first).
    pub fn start_on(
        core: Arc<Core>,
        registry: Registry,
        options: StartOptions,
    ) -> Result<Self, HubError> {
        let mut functions = registry.build_all(&core)?;
        if let Some(name) = &options.fail_first_record_twice {
            let Some(Runnable::Events(inner)) = functions.get(name).cloned() else {
                return Err(not_events(name, &functions));
            };
            let wrapped = inject::FailFirstRecordTwice::new(inner);
            functions.insert(name.clone(), Runnable::Events(Arc::new(wrapped)));
        }
        if let Some(name) = &options.always_fail {
            if !matches!(functions.get(name), Some(Runnable::Events(_))) {
                return Err(not_events(name, &functions));
            }
            functions.insert(name.clone(), Runnable::Events(Arc::new(inject::AlwaysFail)));
        }
        if options.keep_log {
            core.keep_log();
        }
        let model = core.model();
        let bus = model
            .deployment
            .resources_of("AWS::Events::EventBus")
            .next()
            .map(|(_, _, r)| r.physical.reference.clone())
            .ok_or_else(|| {
                HubError("the templates deploy no event bus (AWS::Events::EventBus): list the event hub's stack first in local-hub.json".into())
            })?;
        // The first account the hub's bus lets in (`UpstreamAccountIds`): where events of
        // other subsystems come from.
        let upstream_account = model
            .deployment
            .stacks
            .iter()
            .find_map(|stack| stack.parameters.get("UpstreamAccountIds"))
            .and_then(|ids| ids.get(0).and_then(Value::as_str))
            .filter(|id| !id.is_empty())
            .map(str::to_string);
        let hub = Hub::new(Arc::clone(&core), functions)?;
        Ok(Self {
            hub,
            bus,
            upstream_account,
            outside: Vec::new(),
        })
    }

    /// Gives `outside` its turn whenever the functions are idle.
    #[must_use]
    pub fn with_outside(mut self, outside: impl Outside + 'static) -> Self {
        self.outside.push(Box::new(outside));
        self
    }

    /// The bus's name (the first the templates deploy: the event hub's).
    pub fn bus(&self) -> &str {
        &self.bus
    }

    /// The account events of other subsystems come from (the event hub's first
    /// `UpstreamAccountIds`), if it lets any in.
    pub fn upstream_account(&self) -> Option<&str> {
        self.upstream_account.as_deref()
    }

    /// The function (`stack/LogicalId`) that runs `binary`.
    pub fn function_of(&self, binary: &str) -> Result<String, HubError> {
        self.hub
            .core()
            .model()
            .functions
            .iter()
            .find(|f| f.binary == binary)
            .map(|f| f.name.clone())
            .ok_or_else(|| HubError(format!("the templates deploy no function running {binary}")))
    }

    /// The HTTP function that runs `binary`, to call as its API would.
    pub fn http(&self, binary: &str) -> Result<Arc<dyn HttpFunction>, HubError> {
        let name = self.function_of(binary)?;
        self.hub
            .http(&name)
            .ok_or_else(|| HubError(format!("{name} ({binary}) is not behind an HTTP API")))
    }

    /// An internal event (source `custom`) a service of the subsystem puts on the bus.
    pub fn internal_event(&self, event: &Value) -> Result<(), String> {
        self.put(entry("custom", event, None))
    }

    /// An event of another subsystem, arriving on the bus from the upstream account with
    /// source `external`.
    pub fn external_event(&self, event: &Value) -> Result<(), String> {
        let account = self.upstream_account.clone().ok_or_else(|| {
            "the event hub lets no other account in (no UpstreamAccountIds in local-hub.json): no external event can arrive".to_string()
        })?;
        self.put(entry("external", event, Some(account)))
    }

    /// One entry put on the bus as `PutEvents` would.
    pub fn put(&self, entry: BusEntry) -> Result<(), String> {
        self.hub
            .core()
            .put_events(&self.bus, &[entry])
            .into_iter()
            .next()
            .unwrap_or_else(|| Err("the bus answered nothing".into()))
            .map(|_| ())
    }

    /// Messages published to the topic `arn` (another system's, which the templates
    /// subscribe a queue to).
    pub fn publish(&self, arn: &str, messages: &[String]) {
        self.hub.core().publish(arn, messages);
    }

    /// Runs every function until nothing is left: batches delivered, then each [`Outside`]
    /// given its turn, and the batches those caused.
    pub async fn settle(&mut self) -> Result<(), HubError> {
        loop {
            self.hub.run_until_idle().await?;
            let mut done = 0;
            for outside in &mut self.outside {
                done += outside.run(&self.hub).await?;
            }
            if done == 0 {
                return Ok(());
            }
        }
    }

    /// Moves the hub's clock on (TTL expiry, deadlines, visibility timeouts), then settles.
    pub async fn advance(&mut self, by: Duration) -> Result<(), HubError> {
        self.hub.core().advance(by);
        self.settle().await
    }
}

/// An entry for `event` (its `type` the detail type), as the publishers put them.
fn entry(source: &str, event: &Value, account: Option<String>) -> BusEntry {
    BusEntry {
        source: source.to_string(),
        detail_type: event
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        detail: event.to_string(),
        resources: Vec::new(),
        account,
    }
}

fn not_events(name: &str, functions: &std::collections::BTreeMap<String, Runnable>) -> HubError {
    let events: Vec<&str> = functions
        .iter()
        .filter(|(_, f)| matches!(f, Runnable::Events(_)))
        .map(|(n, _)| n.as_str())
        .collect();
    HubError(format!(
        "{name} is not a function that takes event batches (those are: {})",
        events.join(", ")
    ))
}
