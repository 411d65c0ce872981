//! What every consumer reads the Node library's events with (feature `readers`): claim checks
//! from S3 (from the bucket each stub names) and data keys from KMS, both from the
//! environment. A function's `main.rs` gives them to its handler:
//!
//! ```no_run
//! # async fn example() -> Result<(), lambda_stream_aws::ConfigError> {
//! use lambda_stream::{Config, KinesisSource, Pipeline, StreamHandler};
//! let handler = StreamHandler::with_config(KinesisSource::new(), Config::from_env())
//!     .pipeline(Pipeline::new("p").delivered())
//!     .read_with(lambda_stream_aws::event_readers_from_env().await?);
//! # let _ = handler;
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use lambda_stream::EventReaders;

use crate::ConfigError;
use crate::kms::keyring;
use crate::s3::S3ClaimCheck;

/// Claim checks ([`S3ClaimCheck::reader_from_env`]) and the keyring ([`keyring_from_env`](crate::kms::keyring_from_env))
/// from the environment. Without a region (`AWS_REGION`, which Lambda always sets) there is no
/// keyring, said once: encrypted events then fault, naming the reason. A `DATA_KEY_MAX_AGE`
/// that is not a number is an error.
pub async fn event_readers_from_env() -> Result<EventReaders, ConfigError> {
    event_readers(&crate::retry::sdk_config_from_env().await)
}

/// [`event_readers_from_env`] with S3 and KMS clients made from `sdk` (one SDK configuration a
/// function loads once for all its clients).
pub fn event_readers(sdk: &aws_config::SdkConfig) -> Result<EventReaders, ConfigError> {
    let claim_checks: Arc<dyn lambda_stream::Redeemer> =
        Arc::new(S3ClaimCheck::reader_from_sdk(sdk));
    let mut readers = EventReaders::default();
    readers.claim_checks = Some(claim_checks);
    match keyring(sdk) {
        Ok(keyring) => readers.keyring = Some(keyring),
        Err(error) if sdk.region().is_none() => {
            tracing::warn!(%error, "no keyring: encrypted events (eem) will fault");
        }
        Err(error) => return Err(error),
    }
    Ok(readers)
}
