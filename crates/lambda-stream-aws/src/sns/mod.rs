//! Send to SNS: one message per entry (an envelope from `publish`, or any message from `send`),
//! its event type as the `type` attribute; FIFO topics get the partition key as the message
//! group and the event id as the deduplication id. Batches of 10 messages and 256 KiB (see
//! [`request`]; a batch of one goes as a plain `Publish`); failed messages are retried alone.
//! The publisher is the message-batch sink SQS shares ([`crate::message`]).
//!
//! | variable | meaning |
//! |---|---|
//! | `TOPIC_ARN` | the topic ARN (required; a `.fifo` topic is published to as FIFO) |
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
pub struct SnsConfig {
    /// The topic ARN.
    pub topic_arn: String,
    /// How failed messages are retried.
    pub retry: RetryPolicy,
}

impl SnsConfig {
    /// A configuration for `topic_arn`.
    pub fn new(topic_arn: impl Into<String>) -> Self {
        Self {
            topic_arn: topic_arn.into(),
            retry: RetryPolicy::default(),
        }
    }

    /// Reads `TOPIC_ARN`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        ConfigError::required(lookup, "TOPIC_ARN").map(Self::new)
    }
}

/// SNS as a message service: `PublishBatch`, 10 messages and 256 KiB.
#[derive(Debug, Clone, Copy)]
pub struct Sns;

impl MessageService for Sns {
    const NAME: &'static str = "SNS";
    const OPERATION: &'static str = "PublishBatch";
    const MAX_ENTRIES: usize = request::MAX_ENTRIES;
    const MAX_REQUEST_BYTES: usize = request::MAX_REQUEST_BYTES;
    const RETRYABLE_CODES: &'static [&'static str] = &[
        SERVICE_FAULT,
        "Throttled",
        "ThrottlingException",
        "Throttling",
        "InternalError",
        "KMSThrottling",
        "ServiceUnavailable",
    ];
}

/// Sends messages to an SNS topic; a [`Publisher`](lambda_stream::Publisher) for the `publish`
/// and `send` steps.
pub type SnsPublisher = MessagePublisher<Sns>;

impl MessagePublisher<Sns> {
    /// A publisher with an SDK client made from the environment and the configuration from
    /// [`SnsConfig::from_env`].
    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::from_sdk(&crate::retry::sdk_config_from_env().await)
    }

    /// A publisher configured from the environment, with a client made from `sdk`.
    pub fn from_sdk(sdk: &aws_config::SdkConfig) -> Result<Self, ConfigError> {
        let config = SnsConfig::from_env()?;
        Ok(Self::new(aws_sdk_sns::Client::new(sdk), config))
    }

    /// A publisher over an SDK client.
    pub fn new(client: aws_sdk_sns::Client, config: SnsConfig) -> Self {
        Self::with_api(Arc::new(client), config.topic_arn, config.retry)
    }
}

impl MessageBatchApi for aws_sdk_sns::Client {
    fn send_batch<'a>(
        &'a self,
        topic_arn: &'a str,
        batch: Vec<&'a PublishEntry>,
    ) -> BoxFuture<'a, Result<Vec<EntryOutcome>, CallError>> {
        async move {
            let fifo = request::is_fifo(topic_arn);
            let entries = request::sdk_entries(&batch, fifo).map_err(|message| CallError {
                retryable: false,
                message,
            })?;
            if let [single] = entries.as_slice() {
                // One message: the plain Publish call, whose refusal is the message's.
                let published = self
                    .publish()
                    .topic_arn(topic_arn)
                    .message(single.message())
                    .set_message_attributes(single.message_attributes().cloned())
                    .set_message_group_id(single.message_group_id().map(str::to_string))
                    .set_message_deduplication_id(
                        single.message_deduplication_id().map(str::to_string),
                    )
                    .send()
                    .await;
                return match published {
                    Ok(_) => Ok(vec![EntryOutcome::Accepted]),
                    Err(error) => {
                        let error = crate::retry::call_error(error, Sns::is_retryable_code);
                        if error.retryable {
                            Err(error)
                        } else {
                            Ok(vec![EntryOutcome::Rejected {
                                code: "PublishRefused".into(),
                                message: error.message,
                            }])
                        }
                    }
                };
            }
            let output = self
                .publish_batch()
                .topic_arn(topic_arn)
                .set_publish_batch_request_entries(Some(entries))
                .send()
                .await
                .map_err(|e| crate::retry::call_error(e, Sns::is_retryable_code))?;
            Ok(outcomes_by_id(
                batch.len(),
                output.successful().iter().filter_map(|s| s.id()),
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
