//! Send to SQS: one message per entry (an envelope from `publish`, or any message from `send`),
//! its event type as the `type` attribute; FIFO queues get the partition key as the message
//! group and the event id as the deduplication id. Batches of 10 messages and 1 MiB (see
//! [`request`]); failed messages are retried alone. The publisher is the message-batch sink
//! SNS shares ([`crate::message`]).
//!
//! | variable | meaning |
//! |---|---|
//! | `QUEUE_URL` | the queue URL (required; a `.fifo` queue is sent to as FIFO) |
//! | `AWS_ENDPOINT_URL`, `AWS_REGION`, ... | as the AWS SDK reads them |

pub mod request;

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_stream::PublishEntry;

use crate::ConfigError;
use crate::message::{CallError, EntryOutcome, MessageBatchApi, MessagePublisher, MessageService};
use crate::retry::{FailedById, RetryPolicy, SERVICE_FAULT, outcomes_by_id};

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

/// SQS as a message service: `SendMessageBatch`, 10 messages and 1 MiB.
#[derive(Debug, Clone, Copy)]
pub struct Sqs;

impl MessageService for Sqs {
    const NAME: &'static str = "SQS";
    const OPERATION: &'static str = "SendMessageBatch";
    const MAX_ENTRIES: usize = request::MAX_ENTRIES;
    const MAX_REQUEST_BYTES: usize = request::MAX_REQUEST_BYTES;
    const RETRYABLE_CODES: &'static [&'static str] = &[
        SERVICE_FAULT,
        "RequestThrottled",
        "ThrottlingException",
        "ServiceUnavailable",
        "InternalError",
        "KmsThrottled",
    ];
}

/// Sends messages to an SQS queue; a [`Publisher`](lambda_stream::Publisher) for the
/// `publish` and `send` steps.
pub type SqsPublisher = MessagePublisher<Sqs>;

impl MessagePublisher<Sqs> {
    /// A publisher with an SDK client made from the environment and the configuration from
    /// [`SqsConfig::from_env`].
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = SqsConfig::from_env()?;
        let sdk = crate::retry::sdk_config_from_env().await;
        Ok(Self::new(aws_sdk_sqs::Client::new(&sdk), config))
    }

    /// A publisher over an SDK client.
    pub fn new(client: aws_sdk_sqs::Client, config: SqsConfig) -> Self {
        Self::with_api(Arc::new(client), config.queue_url, config.retry)
    }
}

impl MessageBatchApi for aws_sdk_sqs::Client {
    fn send_batch<'a>(
        &'a self,
        queue_url: &'a str,
        batch: Vec<&'a PublishEntry>,
    ) -> BoxFuture<'a, Result<Vec<EntryOutcome>, CallError>> {
        async move {
            let fifo = request::is_fifo(queue_url);
            let entries = request::sdk_entries(&batch, fifo).map_err(|message| CallError {
                retryable: false,
                message,
            })?;
            let output = self
                .send_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| crate::retry::call_error(e, Sqs::is_retryable_code))?;
            Ok(outcomes_by_id(
                batch.len(),
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
