//! Send to SQS: one message per entry (an envelope from `publish`, or any message from `send`),
//! its event type as the `type` attribute; FIFO queues get the partition key as the message
//! group and the event id as the deduplication id. Batches of 10 messages and 1 MiB (see
//! [`request`]); failed messages are retried alone (see [`service`]).
//!
//! | variable | meaning |
//! |---|---|
//! | `QUEUE_URL` | the queue URL (required; a `.fifo` queue is sent to as FIFO) |
//! | `AWS_ENDPOINT_URL`, `AWS_REGION`, ... | as the AWS SDK reads them |

pub mod request;
pub mod service;

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_stream::{BatchLimits, PublishEntry, Publisher, StepError};

use crate::ConfigError;
use crate::retry::{FailedById, RetryPolicy, outcomes_by_id};
use service::{CallError, EntryOutcome, SendMessageBatchApi, SendMessageBatchRequest};

/// Where and how to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsConfig {
    /// The queue URL.
    pub queue_url: String,
    /// How failed messages are retried.
    pub retry: RetryPolicy,
}

impl SqsConfig {
    /// A configuration for `queue_url`.
    pub fn new(queue_url: impl Into<String>) -> Self {
        Self {
            queue_url: queue_url.into(),
            retry: RetryPolicy::default(),
        }
    }

    /// Reads `QUEUE_URL`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        ConfigError::required(lookup, "QUEUE_URL").map(Self::new)
    }
}

/// Sends messages to an SQS queue; a [`Publisher`] for the `publish` and `send` steps.
#[derive(Clone)]
pub struct SqsPublisher {
    api: Arc<dyn SendMessageBatchApi>,
    config: SqsConfig,
}

impl std::fmt::Debug for SqsPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsPublisher")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SqsPublisher {
    /// A publisher with an SDK client made from the environment and the configuration from
    /// [`SqsConfig::from_env`].
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = SqsConfig::from_env()?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(Self::new(aws_sdk_sqs::Client::new(&sdk), config))
    }

    /// A publisher over an SDK client.
    pub fn new(client: aws_sdk_sqs::Client, config: SqsConfig) -> Self {
        Self::with_api(Arc::new(client), config)
    }

    /// A publisher over any [`SendMessageBatchApi`] (tests script the service this way).
    pub fn with_api(api: Arc<dyn SendMessageBatchApi>, config: SqsConfig) -> Self {
        Self { api, config }
    }
}

impl Publisher for SqsPublisher {
    fn limits(&self) -> BatchLimits {
        BatchLimits {
            max_count: request::MAX_ENTRIES,
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
        service::send_messages_with_retry(
            self.api.as_ref(),
            &self.config.queue_url,
            &self.config.retry,
            entries,
        )
        .boxed()
    }
}

impl SendMessageBatchApi for aws_sdk_sqs::Client {
    fn send_message_batch<'a>(
        &'a self,
        request: SendMessageBatchRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<EntryOutcome>, CallError>> {
        async move {
            let fifo = request::is_fifo(request.queue_url);
            let entries =
                request::sdk_entries(&request.entries, fifo).map_err(|message| CallError {
                    retryable: false,
                    message,
                })?;
            let output = self
                .send_message_batch()
                .queue_url(request.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| crate::retry::call_error(e, service::is_retryable_request_code))?;
            Ok(outcomes_by_id(
                request.entries.len(),
                output.successful().iter().map(|s| s.id()),
                output.failed().iter().map(|f| FailedById {
                    id: f.id(),
                    code: f.code(),
                    message: f.message().unwrap_or_default(),
                    sender_fault: f.sender_fault(),
                }),
            ))
        }
        .boxed()
    }
}
