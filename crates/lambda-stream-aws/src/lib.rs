//! AWS sinks for `lambda-stream`, each behind its own Cargo feature so a function compiles
//! only the SDK clients it uses.
//!
//! Every sink has the same layout, one folder each:
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | configuration (from the environment, with the Node library's variable names) and the sink itself, implementing [`lambda_stream::Publisher`] |
//! | `request.rs` | building the service's request entries and the exact size rule of the service's limits |
//! | `service.rs` | the call through the official SDK client, behind a small trait so tests can script the service's answers, and the retry of the entries that failed |
//!
//! The retry policy shared by the sinks is in [`retry`]. Entries the service rejects for a
//! transient reason (throttling, internal failure) are retried alone, with exponential backoff
//! and full jitter, up to the policy's attempts; then they fail *unclassified*, so the
//! pipeline's failure mode decides (a fault event by default, or a retry by Lambda). Entries
//! rejected for good fail as *permanent* (fault events). Every entry ends in exactly one
//! result.

#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "eventbridge")]
pub mod eventbridge;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "kinesis")]
pub mod kinesis;
pub mod retry;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "sns")]
pub mod sns;
#[cfg(feature = "sqs")]
pub mod sqs;

#[cfg(feature = "dynamodb")]
pub use dynamodb::{DynamoDbStore, Idempotency, Once, UpdateExpression, WriteOutcome};
#[cfg(feature = "eventbridge")]
pub use eventbridge::{EventBridgeConfig, EventBridgePublisher};
#[cfg(feature = "http")]
pub use http::{HttpConfig, HttpRequest, HttpResponse, HttpSender};
#[cfg(feature = "kinesis")]
pub use kinesis::{KinesisConfig, KinesisPublisher};
pub use retry::RetryPolicy;
#[cfg(feature = "s3")]
pub use s3::{ClaimCheckPublisher, S3ClaimCheck};
#[cfg(feature = "sns")]
pub use sns::{SnsConfig, SnsPublisher};
#[cfg(feature = "sqs")]
pub use sqs::{SqsConfig, SqsPublisher};

/// A sink's configuration is missing or wrong.
#[derive(Debug)]
pub struct ConfigError(String);

impl ConfigError {
    pub(crate) fn missing(variable: &str) -> Self {
        Self(format!("the environment variable {variable} is not set"))
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}
