//! Claim checks in S3, for events too large for their channel (over 256 KB on EventBridge).
//!
//! - Publishing: [`ClaimCheckPublisher`] wraps any publisher. An event too large for it is
//!   stored in the bucket and published as a small envelope with an `s3: {bucket, key}`
//!   pointer; everything else passes through untouched.
//! - Consuming: [`S3ClaimCheck`] is a [`Redeemer`]; give it to
//!   `StreamHandler::redeem_claim_checks` and pointers are swapped for the stored events
//!   before the pipelines see them.
//!
//! | variable | meaning |
//! |---|---|
//! | `CLAIMCHECK_BUCKET_NAME` | the bucket (read by [`S3ClaimCheck::from_env`]) |

pub mod request;
pub mod service;

use std::sync::Arc;

use aws_sdk_s3::primitives::ByteStream;
use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_stream::{
    BatchLimits, Envelope, PublishEntry, Publisher, Redeemer, S3Pointer, StepError,
};

use crate::ConfigError;
use crate::retry::{RetryPolicy, call_error, call_with_retry};
use service::is_retryable_request_code;

/// One bucket of claim checks, through one SDK client made once per process.
#[derive(Debug, Clone)]
pub struct S3ClaimCheck {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
    retry: RetryPolicy,
}

impl S3ClaimCheck {
    /// Claim checks in `bucket`, under the prefix `claimchecks/`.
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            prefix: "claimchecks/".into(),
            retry: RetryPolicy::default(),
        }
    }

    /// Sets the retry policy for S3 calls.
    #[must_use]
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Claim checks in `CLAIMCHECK_BUCKET_NAME`, with a client made from the environment.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let bucket =
            ConfigError::required(|name| std::env::var(name).ok(), "CLAIMCHECK_BUCKET_NAME")?;
        let sdk = crate::retry::sdk_config_from_env().await;
        Ok(Self::new(aws_sdk_s3::Client::new(&sdk), bucket))
    }

    /// Stores `event` and returns the pointer to it.
    pub async fn store(&self, event: &Envelope, json: &str) -> Result<S3Pointer, StepError> {
        let key = request::object_key(&self.prefix, event);
        call_with_retry(&self.retry, "PutObject", || async {
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(&key)
                .content_type("application/json")
                .body(ByteStream::from(json.as_bytes().to_vec()))
                .send()
                .await
                .map_err(|e| call_error(e, is_retryable_request_code))
        })
        .await?;
        Ok(S3Pointer {
            bucket: self.bucket.clone(),
            key,
        })
    }
}

impl Redeemer for S3ClaimCheck {
    fn fetch<'a>(&'a self, pointer: &'a S3Pointer) -> BoxFuture<'a, Result<Vec<u8>, StepError>> {
        async move {
            call_with_retry(&self.retry, "GetObject", || async {
                let object = self
                    .client
                    .get_object()
                    .bucket(&pointer.bucket)
                    .key(&pointer.key)
                    .send()
                    .await
                    .map_err(|e| call_error(e, is_retryable_request_code))?;
                let bytes = object
                    .body
                    .collect()
                    .await
                    .map_err(|e| crate::retry::CallError {
                        retryable: true,
                        message: format!(
                            "reading s3://{}/{} failed: {e}",
                            pointer.bucket, pointer.key
                        ),
                    })?;
                Ok(bytes.into_bytes().to_vec())
            })
            .await
        }
        .boxed()
    }
}

/// A publisher that claim-checks events too large for the publisher it wraps.
#[derive(Clone)]
pub struct ClaimCheckPublisher {
    inner: Arc<dyn Publisher>,
    store: S3ClaimCheck,
}

impl std::fmt::Debug for ClaimCheckPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimCheckPublisher")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl ClaimCheckPublisher {
    /// Wraps `inner`, storing oversized events with `store`.
    pub fn new(inner: Arc<dyn Publisher>, store: S3ClaimCheck) -> Self {
        Self { inner, store }
    }

    fn too_large(&self, entry: &PublishEntry) -> bool {
        self.inner.entry_size(entry) > self.inner.limits().max_bytes
    }

    /// The pointer that would travel for an oversized entry (`None` when the entry is not
    /// an envelope, and so cannot be claim-checked).
    fn pointer_for(&self, entry: &PublishEntry) -> Option<(Envelope, Envelope)> {
        let event = Envelope::from_slice(entry.json().as_bytes()).ok()?;
        let key = request::object_key(&self.store.prefix, &event);
        let pointer = request::pointer_envelope(
            &event,
            S3Pointer {
                bucket: self.store.bucket.clone(),
                key,
            },
        );
        Some((event, pointer))
    }
}

impl Publisher for ClaimCheckPublisher {
    fn limits(&self) -> BatchLimits {
        self.inner.limits()
    }

    fn entry_size(&self, entry: &PublishEntry) -> usize {
        if !self.too_large(entry) {
            return self.inner.entry_size(entry);
        }
        // What will travel is the pointer; parsing here is fine, oversized events are rare.
        match self.pointer_for(entry) {
            Some((_, pointer)) => self
                .inner
                .entry_size(&request::pointer_entry(entry, &pointer)),
            None => self.inner.entry_size(entry),
        }
    }

    fn publish<'a>(
        &'a self,
        entries: &'a [PublishEntry],
    ) -> BoxFuture<'a, Vec<Result<(), StepError>>> {
        async move {
            let mut results: Vec<Option<Result<(), StepError>>> =
                entries.iter().map(|_| None).collect();
            let mut outgoing: Vec<(usize, PublishEntry)> = Vec::with_capacity(entries.len());
            for (i, entry) in entries.iter().enumerate() {
                if !self.too_large(entry) {
                    outgoing.push((i, entry.clone()));
                    continue;
                }
                let Some((event, _)) = self.pointer_for(entry) else {
                    // Not an envelope: the wrapped publisher reports the size.
                    outgoing.push((i, entry.clone()));
                    continue;
                };
                match self.store.store(&event, entry.json()).await {
                    Ok(pointer) => {
                        let small = request::pointer_envelope(&event, pointer);
                        outgoing.push((i, request::pointer_entry(entry, &small)));
                    }
                    Err(error) => results[i] = Some(Err(error)),
                }
            }
            let (positions, batch): (Vec<usize>, Vec<PublishEntry>) = outgoing.into_iter().unzip();
            let sent = self.inner.publish(&batch).await;
            for (i, result) in positions.into_iter().zip(sent) {
                results[i] = Some(result);
            }
            results
                .into_iter()
                .map(|r| r.unwrap_or_else(|| Err(StepError::new("no result was recorded"))))
                .collect()
        }
        .boxed()
    }
}
