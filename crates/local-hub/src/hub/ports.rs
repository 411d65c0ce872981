//! The hub's [`Ports`]: what a function's own `build(env, ports)` gets in place of the AWS
//! clients. The bus and topics are the hub's, the tables its in-memory stores (the one the
//! template names, with its stream and TTL), claim checks and data keys in memory.

use std::sync::Arc;

use lambda_stream::{ClaimCheckPublisher, EventReaders, Publisher};
use lambda_stream_aws::ports::Ports;
use lambda_stream_aws::store::Store;
use lambda_stream_aws::{ClaimStore, ConfigError, EventBridgeConfig, SnsConfig};

use super::Core;
use super::publishers::{BusPublisher, TopicPublisher};

/// The hub's ports for its functions.
#[derive(Clone)]
pub struct HubPorts {
    core: Arc<Core>,
}

impl std::fmt::Debug for HubPorts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubPorts").finish_non_exhaustive()
    }
}

impl HubPorts {
    /// Ports over the hub's resources.
    pub fn new(core: Arc<Core>) -> Self {
        Self { core }
    }

    fn table_store(
        &self,
        name: &str,
    ) -> Result<Arc<lambda_stream_aws::store::memory::InMemoryStore>, ConfigError> {
        self.core
            .table(name)
            .map(|table| Arc::clone(&table.store))
            .ok_or_else(|| ConfigError::new(format!("{name} is not a table of the deployment")))
    }
}

impl Ports for HubPorts {
    fn bus(&self, config: &EventBridgeConfig) -> Result<Arc<dyn Publisher>, ConfigError> {
        Ok(Arc::new(
            BusPublisher::new(Arc::clone(&self.core), &config.bus_name).with_source(&config.source),
        ))
    }

    fn claim_checked(
        &self,
        publisher: Arc<dyn Publisher>,
        bucket: &str,
    ) -> Result<Arc<dyn Publisher>, ConfigError> {
        Ok(Arc::new(ClaimCheckPublisher::new(
            publisher,
            Arc::new(self.core.claim_checks().storing_in(bucket)),
        )))
    }

    fn topic(&self, config: &SnsConfig) -> Result<Arc<dyn Publisher>, ConfigError> {
        Ok(Arc::new(TopicPublisher::new(
            Arc::clone(&self.core),
            &config.topic_arn,
        )))
    }

    fn table(&self, name: &str) -> Result<Arc<dyn Store>, ConfigError> {
        Ok(self.table_store(name)?)
    }

    fn claims(&self, name: &str) -> Result<Arc<dyn ClaimStore>, ConfigError> {
        Ok(self.table_store(name)?)
    }

    fn readers(&self) -> Result<EventReaders, ConfigError> {
        Ok(self.core.event_readers())
    }
}
