//! Publish to EventBridge: `Source` is `custom` for internal events or `external` for external
//! domain events, `DetailType` the event type, `Detail` the envelope with its standard tags.
//! Entries are batched by the core `publish` step to this sink's limits (10 entries, 256 KB by
//! the exact entry-size rule in [`request`]); failed entries are retried alone (see
//! [`service`]).
//!
//! ```no_run
//! use std::sync::Arc;
//! use lambda_stream::{KinesisSource, Pipeline, StreamHandler};
//! use lambda_stream_aws::EventBridgePublisher;
//!
//! # async fn doc() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! // One client per process, made once and shared by every pipeline.
//! let bus = Arc::new(EventBridgePublisher::from_env().await?);
//! let external = Arc::new(bus.with_source("external"));
//! StreamHandler::new(KinesisSource::new())
//!     .pipeline(Pipeline::new("to-partner").map(|uow| Ok(uow.event.as_ref().clone())).publish(external, 4))
//!     .faults_to(bus)
//!     .run()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! | variable | meaning |
//! |---|---|
//! | `BUS_NAME` | the bus name or ARN (required) |
//! | `BUS_SRC` | the default `Source` (`custom` when unset) |
//! | `BUS_ENDPOINT_ID` | a global endpoint id (optional) |
//! | `AWS_ENDPOINT_URL`, `AWS_REGION`, ... | as the AWS SDK reads them |

pub mod request;
pub mod service;

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_stream::{BatchLimits, PublishEntry, Publisher, StepError};

use crate::ConfigError;
use crate::retry::RetryPolicy;
use service::{CallError, EntryOutcome, PutEventsApi, PutEventsRequest};

/// Where and how to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventBridgeConfig {
    /// The bus name or ARN.
    pub bus_name: String,
    /// The `Source` of the entries: `custom` (internal events) or `external`.
    pub source: String,
    /// A global endpoint id, if the bus is behind one.
    pub endpoint_id: Option<String>,
    /// How failed entries are retried.
    pub retry: RetryPolicy,
}

impl EventBridgeConfig {
    /// A configuration for `bus_name` with source `custom`.
    pub fn new(bus_name: impl Into<String>) -> Self {
        Self {
            bus_name: bus_name.into(),
            source: "custom".into(),
            endpoint_id: None,
            retry: RetryPolicy::default(),
        }
    }

    /// Reads `BUS_NAME`, `BUS_SRC` and `BUS_ENDPOINT_ID`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut config = Self::new(ConfigError::required(&lookup, "BUS_NAME")?);
        if let Some(source) = get("BUS_SRC") {
            config.source = source;
        }
        config.endpoint_id = get("BUS_ENDPOINT_ID");
        Ok(config)
    }
}

/// Publishes events to an EventBridge bus; a [`Publisher`] for the `publish` step and for
/// fault events.
#[derive(Clone)]
pub struct EventBridgePublisher {
    api: Arc<dyn PutEventsApi>,
    config: EventBridgeConfig,
}

impl std::fmt::Debug for EventBridgePublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBridgePublisher")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl EventBridgePublisher {
    /// A publisher with an SDK client made from the environment (`AWS_ENDPOINT_URL` included)
    /// and the configuration from [`EventBridgeConfig::from_env`].
    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::from_sdk(&crate::retry::sdk_config_from_env().await)
    }

    /// A publisher configured from the environment, with a client made from `sdk` (one SDK
    /// configuration a function loads once for all its clients).
    pub fn from_sdk(sdk: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let config = EventBridgeConfig::from_env()?;
        Ok(Self::new(aws_sdk_eventbridge::Client::new(sdk), config))
    }

    /// A publisher over an SDK client.
    pub fn new(client: aws_sdk_eventbridge::Client, config: EventBridgeConfig) -> Self {
        Self::with_api(Arc::new(client), config)
    }

    /// A publisher over any [`PutEventsApi`] (tests script the service this way).
    /// ```
    /// use std::sync::{Arc, Mutex};
    ///
    /// use futures::FutureExt;
    /// use futures::future::BoxFuture;
    /// use lambda_stream::{Envelope, Pipeline, RecordState, testing};
    /// use lambda_stream_aws::eventbridge::service::{CallError, EntryOutcome, PutEventsApi, PutEventsRequest};
    /// use lambda_stream_aws::{EventBridgeConfig, EventBridgePublisher};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// /// A bus that throttles the second entry of the first request, as EventBridge may.
    /// #[derive(Default)]
    /// struct Throttling(Mutex<Vec<usize>>);
    ///
    /// impl PutEventsApi for Throttling {
    ///     fn put_events<'a>(
    ///         &'a self,
    ///         request: PutEventsRequest<'a>,
    ///     ) -> BoxFuture<'a, Result<Vec<EntryOutcome>, CallError>> {
    ///         let mut calls = self.0.lock().unwrap();
    ///         calls.push(request.entries.len());
    ///         let first = calls.len() == 1;
    ///         let outcomes = (0..request.entries.len())
    ///             .map(|i| match (first, i) {
    ///                 (true, 1) => EntryOutcome::Rejected {
    ///                     code: "ThrottlingException".into(),
    ///                     message: "Rate exceeded".into(),
    ///                 },
    ///                 _ => EntryOutcome::Accepted,
    ///             })
    ///             .collect();
    ///         async move { Ok(outcomes) }.boxed()
    ///     }
    /// }
    ///
    /// let api = Arc::new(Throttling::default());
    /// let bus = Arc::new(EventBridgePublisher::with_api(api.clone(), EventBridgeConfig::new("hub")));
    /// let share = Pipeline::new("share")
    ///     .map(|uow| Ok(uow.event.as_ref().clone()))
    ///     .publish(bus, 4);
    /// let events = [Envelope::builder("thing-created").build()?, Envelope::builder("thing-updated").build()?];
    /// let report = testing::run_pipeline(share, &events).await;
    ///
    /// // The throttled entry alone is sent again, and both records are delivered.
    /// assert_eq!(*api.0.lock().unwrap(), [2, 1]);
    /// assert!(report.records.iter().all(|r| r.pipelines == [RecordState::Delivered]));
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_api(api: Arc<dyn PutEventsApi>, config: EventBridgeConfig) -> Self {
        Self { api, config }
    }

    /// The same bus and client with another `Source` (`external` for the external domain
    /// events an egress gateway shares with other subsystems).
    #[must_use]
    pub fn with_source(&self, source: impl Into<String>) -> Self {
        let mut other = self.clone();
        other.config.source = source.into();
        other
    }

    /// The configuration.
    pub fn config(&self) -> &EventBridgeConfig {
        &self.config
    }
}

impl Publisher for EventBridgePublisher {
    fn limits(&self) -> BatchLimits {
        BatchLimits {
            max_count: request::MAX_ENTRIES,
            max_bytes: request::MAX_REQUEST_BYTES,
        }
    }

    fn entry_size(&self, entry: &PublishEntry) -> usize {
        request::entry_size(&self.config.source, entry)
    }

    fn publish<'a>(
        &'a self,
        entries: &'a [PublishEntry],
    ) -> BoxFuture<'a, Vec<Result<(), StepError>>> {
        service::put_events_with_retry(
            self.api.as_ref(),
            &self.config.bus_name,
            &self.config.source,
            self.config.endpoint_id.as_deref(),
            &self.config.retry,
            entries,
        )
        .boxed()
    }
}

impl PutEventsApi for aws_sdk_eventbridge::Client {
    fn put_events<'a>(
        &'a self,
        request: PutEventsRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<EntryOutcome>, CallError>> {
        async move {
            let entries = request::sdk_entries(request.bus_name, request.source, &request.entries);
            let output = self
                .put_events()
                .set_entries(Some(entries))
                .set_endpoint_id(request.endpoint_id.map(str::to_string))
                .send()
                .await
                .map_err(|e| crate::retry::call_error(e, service::is_retryable_request_code))?;
            Ok(output
                .entries()
                .iter()
                .map(|result| match result.error_code() {
                    None => EntryOutcome::Accepted,
                    Some(code) => EntryOutcome::Rejected {
                        code: code.to_string(),
                        message: result.error_message().unwrap_or_default().to_string(),
                    },
                })
                .collect())
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn configuration_comes_from_the_node_variable_names() {
        let vars: HashMap<&str, &str> = [("BUS_NAME", "hub-bus"), ("BUS_SRC", "external")].into();
        let config =
            EventBridgeConfig::from_lookup(|n| vars.get(n).map(|v| v.to_string())).expect("valid");
        assert_eq!(config.bus_name, "hub-bus");
        assert_eq!(config.source, "external");
        assert_eq!(config.endpoint_id, None);
        let err = EventBridgeConfig::from_lookup(|_| None).expect_err("BUS_NAME is required");
        assert!(err.to_string().contains("BUS_NAME"));
        let config = EventBridgeConfig::from_lookup(|n| (n == "BUS_NAME").then(|| "b".into()))
            .expect("valid");
        assert_eq!(config.source, "custom");
    }
}
