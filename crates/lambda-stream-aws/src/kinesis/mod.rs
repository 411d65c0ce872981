//! Publish to Kinesis: one record per event, its partition key the event's (events keep their
//! order per key), its data the envelope with its standard tags. The core `publish` step
//! batches records to this sink's limits (500 records, 5 MiB with keys, see [`request`]);
//! failed records are retried alone (see [`service`]).
//!
//! | variable | meaning |
//! |---|---|
//! | `STREAM_NAME` | the stream name (required) |
//! | `AWS_ENDPOINT_URL`, `AWS_REGION`, ... | as the AWS SDK reads them |

pub mod request;
pub mod service;

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_stream::{BatchLimits, PublishEntry, Publisher, StepError};

use crate::ConfigError;
use crate::retry::RetryPolicy;
use service::{CallError, EntryOutcome, PutRecordsApi, PutRecordsRequest};

/// Where and how to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KinesisConfig {
    /// The stream name.
    pub stream_name: String,
    /// How failed records are retried.
    pub retry: RetryPolicy,
}

impl KinesisConfig {
    /// A configuration for `stream_name`.
    pub fn new(stream_name: impl Into<String>) -> Self {
        Self {
            stream_name: stream_name.into(),
            retry: RetryPolicy::default(),
        }
    }

    /// Reads `STREAM_NAME`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        ConfigError::required(lookup, "STREAM_NAME").map(Self::new)
    }
}

/// Publishes events to a Kinesis stream; a [`Publisher`] for the `publish` step.
#[derive(Clone)]
pub struct KinesisPublisher {
    api: Arc<dyn PutRecordsApi>,
    config: KinesisConfig,
}

impl std::fmt::Debug for KinesisPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KinesisPublisher")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl KinesisPublisher {
    /// A publisher with an SDK client made from the environment and the configuration from
    /// [`KinesisConfig::from_env`].
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = KinesisConfig::from_env()?;
        let sdk = crate::retry::sdk_config_from_env().await;
        Ok(Self::new(aws_sdk_kinesis::Client::new(&sdk), config))
    }

    /// A publisher over an SDK client.
    pub fn new(client: aws_sdk_kinesis::Client, config: KinesisConfig) -> Self {
        Self::with_api(Arc::new(client), config)
    }

    /// A publisher over any [`PutRecordsApi`] (tests script the service this way).
    /// ```
    /// use std::sync::Arc;
    ///
    /// use futures::FutureExt;
    /// use futures::future::BoxFuture;
    /// use lambda_stream::{Envelope, Pipeline, RecordState, testing};
    /// use lambda_stream_aws::kinesis::service::{CallError, EntryOutcome, PutRecordsApi, PutRecordsRequest};
    /// use lambda_stream_aws::{KinesisConfig, KinesisPublisher};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// /// A stream that refuses records keyed `bad` for good (not worth retrying).
    /// struct Refusing;
    ///
    /// impl PutRecordsApi for Refusing {
    ///     fn put_records<'a>(
    ///         &'a self,
    ///         request: PutRecordsRequest<'a>,
    ///     ) -> BoxFuture<'a, Result<Vec<EntryOutcome>, CallError>> {
    ///         let outcomes = request
    ///             .entries
    ///             .iter()
    ///             .map(|entry| match entry.partition_key() {
    ///                 Some("bad") => EntryOutcome::Rejected {
    ///                     code: "InvalidArgumentException".into(),
    ///                     message: "refused".into(),
    ///                 },
    ///                 _ => EntryOutcome::Accepted,
    ///             })
    ///             .collect();
    ///         async move { Ok(outcomes) }.boxed()
    ///     }
    /// }
    ///
    /// let stream = Arc::new(KinesisPublisher::with_api(Arc::new(Refusing), KinesisConfig::new("hub-stream")));
    /// let forward = Pipeline::new("forward")
    ///     .map(|uow| Ok(uow.event.as_ref().clone()))
    ///     .publish(stream, 4);
    /// let event = |key: &str| Envelope::builder("thing-created").partition_key(key).build();
    /// let report = testing::run_pipeline(forward, &[event("good")?, event("bad")?]).await;
    ///
    /// // A permanent rejection fails its own record (a fault event); the rest is delivered.
    /// assert_eq!(report.records[0].pipelines, [RecordState::Delivered]);
    /// assert_eq!(report.records[1].pipelines, [RecordState::Fault]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_api(api: Arc<dyn PutRecordsApi>, config: KinesisConfig) -> Self {
        Self { api, config }
    }

    /// The configuration.
    pub fn config(&self) -> &KinesisConfig {
        &self.config
    }
}

impl Publisher for KinesisPublisher {
    fn limits(&self) -> BatchLimits {
        BatchLimits {
            max_count: request::MAX_RECORDS,
            max_bytes: request::MAX_REQUEST_BYTES,
        }
    }

    fn entry_size(&self, entry: &PublishEntry) -> usize {
        request::entry_size(entry)
    }

    fn publish<'a>(
        &'a self,
        entries: &'a [PublishEntry],
    ) -> BoxFuture<'a, Vec<Result<(), StepError>>> {
        service::put_records_with_retry(
            self.api.as_ref(),
            &self.config.stream_name,
            &self.config.retry,
            entries,
        )
        .boxed()
    }
}

impl PutRecordsApi for aws_sdk_kinesis::Client {
    fn put_records<'a>(
        &'a self,
        request: PutRecordsRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<EntryOutcome>, CallError>> {
        async move {
            let records = request::sdk_entries(&request.entries).map_err(|message| CallError {
                retryable: false,
                message,
            })?;
            let output = self
                .put_records()
                .stream_name(request.stream_name)
                .set_records(Some(records))
                .send()
                .await
                .map_err(|e| crate::retry::call_error(e, service::is_retryable_request_code))?;
            Ok(output
                .records()
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

    #[test]
    fn configuration_comes_from_stream_name() {
        let config = KinesisConfig::from_lookup(|n| (n == "STREAM_NAME").then(|| "s1".into()))
            .expect("valid");
        assert_eq!(config.stream_name, "s1");
        assert!(KinesisConfig::from_lookup(|_| None).is_err());
    }
}
