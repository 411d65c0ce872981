//! Claim checks on the source side: an event too large for its channel travels as a small
//! envelope with an `s3: {bucket, key}` pointer, and the handler swaps in the stored event
//! before the pipelines see it. The store is a [`Redeemer`] (the S3 one is in
//! `lambda-stream-aws`).

use futures::future::BoxFuture;

use crate::envelope::{Envelope, S3Pointer};
use crate::error::StepError;

/// Fetches the events that claim checks point at.
pub trait Redeemer: Send + Sync + 'static {
    /// The stored event's JSON. A missing object is a permanent error; an unavailable store a
    /// retryable one.
    fn fetch<'a>(&'a self, pointer: &'a S3Pointer) -> BoxFuture<'a, Result<Vec<u8>, StepError>>;
}

/// Replaces a claim-checked envelope with the stored event.
pub(crate) async fn redeem(
    redeemer: &dyn Redeemer,
    pointer: &S3Pointer,
) -> Result<Envelope, StepError> {
    let bytes = redeemer.fetch(pointer).await?;
    Envelope::from_slice(&bytes).map_err(|e| {
        StepError::permanent(format!(
            "the claim check s3://{}/{} does not hold an event envelope: {e}",
            pointer.bucket, pointer.key
        ))
        .with_name("InvalidClaimCheck")
    })
}
