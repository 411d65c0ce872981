//! AWS sinks for `lambda-stream`, each behind its own Cargo feature so a function compiles
//! only the SDK clients it uses.
//!
//! | feature | module | what | configuration |
//! |---|---|---|---|
//! | `eventbridge` | [`eventbridge`] | `PutEvents`: 10 entries, 256 KB by the exact entry-size rule; `Source` `custom` or `external`; global endpoints; the fault publisher | `BUS_NAME`, `BUS_SRC`, `BUS_ENDPOINT_ID` |
//! | `kinesis` | [`kinesis`] | `PutRecords`: 500 records, 5 MiB with keys, 1 MiB a record | `STREAM_NAME` |
//! | `sns` | [`sns`] | `PublishBatch` (10 messages, 256 KiB; one message goes as `Publish`); `type` attribute; FIFO | `TOPIC_ARN` |
//! | `sqs` | [`sqs`] | `SendMessageBatch` (10 messages, 1 MiB); `type` attribute; FIFO | `QUEUE_URL` |
//! | `dynamodb` | [`dynamodb`] | put, update from any struct or map, write-only-if-newer, batch get, paged query, and [`Idempotency`] | `ENTITY_TABLE_NAME` (or any variable: `DynamoDbStore::from_env_var`) |
//! | `dynamodb` | [`store`], [`view`], [`event_store`] | the BFF and control building blocks: the [`store::Store`] trait (DynamoDB, and in memory for tests), materialized views, the micro event store | |
//! | `s3` | [`s3`] | claim checks: oversized events stored on publish, redeemed by the handler from the bucket each stub names | `CLAIMCHECK_BUCKET_NAME` (to store) |
//! | `kms` | [`kms`] | KMS data keys for the Node library's field-level encryption (`eem`): decrypting what Node services encrypt, encrypting as they do | `AWS_REGION`, `MASTER_KEY_ALIAS`, `KMS_REGIONS`, `DATA_KEY_MAX_AGE` |
//! | `readers` | [`readers`] | `s3` and `kms` together: what every consumer reads the Node library's events with | the two above |
//! | `http` | [`http`] | JSON calls to third-party APIs: timeouts, retries honouring `Retry-After`, rate limit | in code |
//! | `secrets` | [`secrets`] | secret settings read from Secrets Manager at cold start instead of the environment | `NAME_ARN` for a setting `NAME` |
//!
//! Every sink makes its SDK client once (`from_env`, which honours `AWS_ENDPOINT_URL`) and is
//! shared by `Arc` across pipelines and invocations.
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
