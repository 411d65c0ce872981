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
use crate::kms::keyring_from_env;
use crate::s3::S3ClaimCheck;

/// Claim checks ([`S3ClaimCheck::reader_from_env`]) and the keyring ([`keyring_from_env`])
/// from the environment.
pub async fn event_readers_from_env() -> Result<EventReaders, ConfigError> {
    let claim_checks = Arc::new(S3ClaimCheck::reader_from_env().await);
    Ok(EventReaders::new(claim_checks, keyring_from_env().await?))
}
