#![doc = include_str!("../README.md")]

#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "dynamodb")]
pub mod event_store;
#[cfg(feature = "eventbridge")]
pub mod eventbridge;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "kinesis")]
pub mod kinesis;
#[cfg(feature = "kms")]
pub mod kms;
#[cfg(any(feature = "sns", feature = "sqs"))]
pub mod message;
pub mod ports;
#[cfg(feature = "readers")]
pub mod readers;
pub mod retry;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "secrets")]
pub mod secrets;
#[cfg(feature = "sns")]
pub mod sns;
#[cfg(feature = "sqs")]
pub mod sqs;
#[cfg(feature = "dynamodb")]
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "dynamodb")]
pub mod view;

#[cfg(feature = "dynamodb")]
pub use dynamodb::{ClaimStore, DynamoDbStore, Idempotency, Once, UpdateExpression, WriteOutcome};
#[cfg(feature = "eventbridge")]
pub use eventbridge::{EventBridgeConfig, EventBridgePublisher};
#[cfg(feature = "http")]
pub use http::{HttpConfig, HttpRequest, HttpResponse, HttpSender};
#[cfg(feature = "kinesis")]
pub use kinesis::{KinesisConfig, KinesisPublisher};
#[cfg(feature = "kms")]
pub use kms::{KmsDataKeys, keyring_from_env};
pub use ports::{AwsPorts, Env, Ports};
#[cfg(feature = "readers")]
pub use readers::{event_readers, event_readers_from_env};
pub use retry::{NextAttempt, RetryPolicy, sdk_config_from_env};
#[cfg(feature = "s3")]
pub use s3::{ClaimCheckPublisher, S3ClaimCheck, claim_checked, claim_checked_from_env};
#[cfg(feature = "sns")]
pub use sns::{SnsConfig, SnsPublisher};
#[cfg(feature = "sqs")]
pub use sqs::{SqsConfig, SqsPublisher};

/// A sink's configuration is missing or wrong.
#[derive(Debug)]
pub struct ConfigError(String);

impl ConfigError {
    /// A configuration error saying `reason` (a function's own settings that do not read).
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }

    #[cfg(any(
        feature = "eventbridge",
        feature = "kinesis",
        feature = "sns",
        feature = "sqs",
        feature = "dynamodb",
        feature = "s3"
    ))]
    /// The value of `variable` through `lookup`; blank counts as not set.
    pub(crate) fn required(
        lookup: impl Fn(&str) -> Option<String>,
        variable: &str,
    ) -> Result<String, Self> {
        lookup(variable)
            .filter(|value| !value.trim().is_empty())
            .ok_or_else(|| Self(format!("the environment variable {variable} is not set")))
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}
