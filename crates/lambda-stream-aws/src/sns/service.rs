//! The PublishBatch call, behind [`PublishBatchApi`] so tests can script the service's answers;
//! failed messages are retried alone by the shared loop in [`crate::retry`].

use futures::future::BoxFuture;
use lambda_stream::{PublishEntry, StepError};

use super::request::check_entry;
use crate::retry::{BatchCall, RetryPolicy, SERVICE_FAULT, send_with_retry};
pub use crate::retry::{CallError, EntryOutcome};

/// One PublishBatch request.
#[derive(Debug)]
pub struct PublishBatchRequest<'a> {
    /// The topic ARN.
    pub topic_arn: &'a str,
    /// The messages, in order.
    pub entries: Vec<&'a PublishEntry>,
}

/// The PublishBatch call. Implemented for the SDK client; tests implement it.
pub trait PublishBatchApi: Send + Sync + 'static {
    /// Sends one request; on success, one outcome per message, in order.
    fn publish_batch<'a>(
        &'a self,
        request: PublishBatchRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<EntryOutcome>, CallError>>;
}

/// Message error codes worth retrying: the service failed, not the message.
const RETRYABLE_CODES: &[&str] = &[SERVICE_FAULT, "Throttled", "ThrottlingException"];

/// Request error codes worth retrying.
pub(crate) fn is_retryable_request_code(code: &str) -> bool {
    RETRYABLE_CODES.contains(&code)
        || matches!(
            code,
            "InternalError" | "KMSThrottling" | "ServiceUnavailable" | "Throttling"
        )
}

/// Sends `entries` to the topic, retrying only what failed for a transient reason.
pub(crate) async fn publish_batch_with_retry(
    api: &dyn PublishBatchApi,
    topic_arn: &str,
    policy: &RetryPolicy,
    entries: &[PublishEntry],
) -> Vec<Result<(), StepError>> {
    let how = BatchCall {
        operation: "PublishBatch",
        retryable_codes: RETRYABLE_CODES,
    };
    send_with_retry(policy, &how, entries, check_entry, |batch| {
        api.publish_batch(PublishBatchRequest {
            topic_arn,
            entries: batch,
        })
    })
    .await
}
