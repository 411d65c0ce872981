//! What the functions publish with in the hub: the bus (`PutEvents`) and SNS topics
//! (`PublishBatch`), with the services' batch limits, straight into the hub.

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_stream::{BatchLimits, PublishEntry, Publisher, StepError};

use super::{BusEntry, Core};

/// Publishes to a bus of the hub, with one `Source`.
#[derive(Debug, Clone)]
pub struct BusPublisher {
    core: Arc<Core>,
    bus: String,
    source: String,
}

impl BusPublisher {
    /// Publishes to `bus` with the source `custom` (what `EventBridgePublisher` uses).
    pub fn new(core: Arc<Core>, bus: &str) -> Self {
        Self {
            core,
            bus: bus.to_string(),
            source: "custom".to_string(),
        }
    }

    /// The same bus with another `Source` (`external`, for the egress gateway).
    pub fn with_source(&self, source: &str) -> Self {
        Self {
            source: source.to_string(),
            ..self.clone()
        }
    }
}

impl Publisher for BusPublisher {
    fn limits(&self) -> BatchLimits {
        BatchLimits::EVENTBRIDGE
    }

    fn entry_size(&self, entry: &PublishEntry) -> usize {
        // As EventBridge counts an entry: Source, DetailType and Detail.
        self.source.len() + entry.event_type().len() + entry.json().len()
    }

    fn publish<'a>(
        &'a self,
        entries: &'a [PublishEntry],
    ) -> BoxFuture<'a, Vec<Result<(), StepError>>> {
        let entries: Vec<BusEntry> = entries
            .iter()
            .map(|entry| BusEntry {
                source: self.source.clone(),
                detail_type: entry.event_type().to_string(),
                detail: entry.json().to_string(),
                resources: Vec::new(),
                account: None,
            })
            .collect();
        let results = self
            .core
            .put_events(&self.bus, &entries)
            .into_iter()
            .map(|result| result.map(|_| ()).map_err(StepError::permanent))
            .collect();
        async move { results }.boxed()
    }
}

/// Publishes to an SNS topic the hub holds (a subscribed queue gets the message) or plays
/// (an external subscriber keeps it).
#[derive(Debug, Clone)]
pub struct TopicPublisher {
    core: Arc<Core>,
    topic: String,
}

impl TopicPublisher {
    /// Publishes to the topic with this ARN.
    pub fn new(core: Arc<Core>, topic: &str) -> Self {
        Self {
            core,
            topic: topic.to_string(),
        }
    }
}

impl Publisher for TopicPublisher {
    fn limits(&self) -> BatchLimits {
        // SNS PublishBatch: 10 messages, 256 KiB in all.
        BatchLimits {
            max_count: 10,
            max_bytes: 256 * 1024,
        }
    }

    fn publish<'a>(
        &'a self,
        entries: &'a [PublishEntry],
    ) -> BoxFuture<'a, Vec<Result<(), StepError>>> {
        let messages: Vec<String> = entries.iter().map(|e| e.json().to_string()).collect();
        self.core.publish(&self.topic, &messages);
        let results = entries.iter().map(|_| Ok(())).collect();
        async move { results }.boxed()
    }
}
