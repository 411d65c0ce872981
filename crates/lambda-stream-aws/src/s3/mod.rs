//! Claim checks in S3, for events too large for their channel (over 256 KB on EventBridge).
//!
//! [`S3ClaimCheck`] is both sides of the core's claim checks
//! ([`lambda_stream::claimcheck`]):
//!
//! - Consuming: a [`Redeemer`]. Give it to `StreamHandler::redeem_claim_checks` and stubs
//!   are swapped for the stored events before the pipelines see them, read from whatever
//!   bucket each stub names (so a reader needs no bucket of its own: [`S3ClaimCheck::reader`]).
//! - Publishing: a [`ClaimCheckStore`] for [`ClaimCheckPublisher`], which wraps any publisher;
//!   an event too large for it is stored in the bucket, under `claimchecks/<type>/<id>.json`,
//!   and published as a stub in the Node library's shape.
//!
//! | variable | meaning |
//! |---|---|
//! | `CLAIMCHECK_BUCKET_NAME` | the bucket events are stored in (read by [`S3ClaimCheck::from_env`] and [`claim_checked_from_env`]) |
//!
//! Both sides in one function (against moto in `tests/claimcheck_moto.rs`):
//!
//! ```no_run
//! use std::sync::Arc;
//! use lambda_stream::{KinesisSource, Pipeline, StreamHandler};
//! use lambda_stream_aws::{EventBridgePublisher, S3ClaimCheck, claim_checked_from_env};
//!
//! # async fn doc() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! // Events over 256 KB go to CLAIMCHECK_BUCKET_NAME and travel as stubs.
//! let bus = claim_checked_from_env(Arc::new(EventBridgePublisher::from_env().await?)).await;
//! // Stubs from any service are swapped back for their events before a step sees them.
//! let reader = Arc::new(S3ClaimCheck::reader_from_env().await);
//! StreamHandler::new(KinesisSource::new())
//!     .redeem_claim_checks(reader)
//!     .pipeline(Pipeline::new("forward").map(|uow| Ok(uow.event.as_ref().clone())).publish(bus.clone(), 4))
//!     .faults_to(bus)
//!     .run()
//!     .await?;
//! # Ok(()) }
//! ```

mod service;

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_stream::claimcheck::{ClaimCheckStore, object_key};
use lambda_stream::{Envelope, Publisher, Redeemer, S3Pointer, StepError};

pub use lambda_stream::ClaimCheckPublisher;

use crate::ConfigError;
use crate::retry::RetryPolicy;

/// The variable naming the bucket claim checks are stored in.
pub const BUCKET_VARIABLE: &str = "CLAIMCHECK_BUCKET_NAME";

/// The prefix of the stored events' keys.
const PREFIX: &str = "claimchecks/";

/// Claim checks in S3, through one SDK client made once per process: read from any bucket,
/// stored in one.
#[derive(Debug, Clone)]
pub struct S3ClaimCheck {
    client: aws_sdk_s3::Client,
    bucket: Option<String>,
    retry: RetryPolicy,
}

impl S3ClaimCheck {
    /// Claim checks stored in `bucket` (and read from any).
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: Some(bucket.into()),
            retry: RetryPolicy::default(),
        }
    }

    /// Claim checks read from the bucket each stub names; storing fails (no bucket).
    pub fn reader(client: aws_sdk_s3::Client) -> Self {
        Self {
            client,
            bucket: None,
            retry: RetryPolicy::default(),
        }
    }

    /// Sets the retry policy for S3 calls.
    #[must_use]
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Claim checks stored in `CLAIMCHECK_BUCKET_NAME`, with a client made from the
    /// environment.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let bucket = ConfigError::required(|name| std::env::var(name).ok(), BUCKET_VARIABLE)?;
        Ok(Self::new(client_from_env().await, bucket))
    }

    /// The reader every consumer gets: reads from any bucket a stub names, and stores in
    /// `CLAIMCHECK_BUCKET_NAME` when it is set.
    pub async fn reader_from_env() -> Self {
        Self::reader_from_sdk(&crate::retry::sdk_config_from_env().await)
    }

    /// [`S3ClaimCheck::reader_from_env`] with a client made from `sdk`.
    pub fn reader_from_sdk(sdk: &aws_config::SdkConfig) -> Self {
        let client = aws_sdk_s3::Client::new(sdk);
        match bucket_from_env() {
            Some(bucket) => Self::new(client, bucket),
            None => Self::reader(client),
        }
    }

    /// The bucket events are stored in, if any.
    pub fn bucket(&self) -> Option<&str> {
        self.bucket.as_deref()
    }
}

async fn client_from_env() -> aws_sdk_s3::Client {
    let sdk = crate::retry::sdk_config_from_env().await;
    aws_sdk_s3::Client::new(&sdk)
}

fn bucket_from_env() -> Option<String> {
    std::env::var(BUCKET_VARIABLE)
        .ok()
        .filter(|b| !b.trim().is_empty())
}

/// `inner` wrapped in a [`ClaimCheckPublisher`] storing in `CLAIMCHECK_BUCKET_NAME` when it is
/// set; `inner` itself when it is not (said once, so an event over the limit failing is no
/// surprise).
pub async fn claim_checked_from_env(inner: Arc<dyn Publisher>) -> Arc<dyn Publisher> {
    claim_checked(&crate::retry::sdk_config_from_env().await, inner)
}

/// [`claim_checked_from_env`] with an S3 client made from `sdk`.
pub fn claim_checked(sdk: &aws_config::SdkConfig, inner: Arc<dyn Publisher>) -> Arc<dyn Publisher> {
    match bucket_from_env() {
        Some(bucket) => {
            let store = S3ClaimCheck::new(aws_sdk_s3::Client::new(sdk), bucket);
            Arc::new(ClaimCheckPublisher::new(inner, Arc::new(store)))
        }
        None => {
            tracing::info!(
                "no claim-check bucket ({BUCKET_VARIABLE}): events over the publisher's limit fail instead of being claim-checked"
            );
            inner
        }
    }
}

impl ClaimCheckStore for S3ClaimCheck {
    fn pointer_for(&self, event: &Envelope) -> S3Pointer {
        S3Pointer {
            bucket: self.bucket.clone().unwrap_or_default(),
            key: object_key(PREFIX, event),
        }
    }

    fn store<'a>(
        &'a self,
        pointer: &'a S3Pointer,
        json: &'a str,
    ) -> BoxFuture<'a, Result<(), StepError>> {
        async move {
            if self.bucket.is_none() {
                return Err(StepError::permanent(format!(
                    "the event is too large for the publisher and there is no claim-check bucket to store it in ({BUCKET_VARIABLE})"
                ))
                .with_name("InvalidClaimCheck"));
            }
            service::put(&self.client, &self.retry, pointer, json).await
        }
        .boxed()
    }
}

impl Redeemer for S3ClaimCheck {
    fn fetch<'a>(&'a self, pointer: &'a S3Pointer) -> BoxFuture<'a, Result<Vec<u8>, StepError>> {
        async move { service::get(&self.client, &self.retry, pointer).await }.boxed()
    }
}
