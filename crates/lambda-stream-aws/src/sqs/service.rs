//! The SendMessageBatch call, behind [`SendMessageBatchApi`] so tests can script the service's
//! answers; failed messages are retried alone by the shared loop in [`crate::retry`].

use futures::future::BoxFuture;
use lambda_stream::{PublishEntry, StepError};

use super::request::check_entry;
use crate::retry::{BatchCall, RetryPolicy, SERVICE_FAULT, send_with_retry};
pub use crate::retry::{CallError, EntryOutcome};

/// One SendMessageBatch request.
#[derive(Debug)]
pub struct SendMessageBatchRequest<'a> {
    /// The queue URL.
    pub queue_url: &'a str,
    /// The messages, in order.
    pub entries: Vec<&'a PublishEntry>,
}

/// The SendMessageBatch call. Implemented for the SDK client; tests implement it.
pub trait SendMessageBatchApi: Send + Sync + 'static {
    /// Sends one request; on success, one outcome per message, in order.
    fn send_message_batch<'a>(
        &'a self,
        request: SendMessageBatchRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<EntryOutcome>, CallError>>;
}

/// Message error codes worth retrying: the service failed, not the message.
const RETRYABLE_CODES: &[&str] = &[SERVICE_FAULT, "RequestThrottled", "ThrottlingException"];

/// Request error codes worth retrying.
pub(crate) fn is_retryable_request_code(code: &str) -> bool {
    RETRYABLE_CODES.contains(&code)
        || matches!(
            code,
            "ServiceUnavailable" | "InternalError" | "KmsThrottled" | "RequestThrottled"
        )
}

/// Sends `entries` to the queue, retrying only what failed for a transient reason.
pub(crate) async fn send_messages_with_retry(
    api: &dyn SendMessageBatchApi,
    queue_url: &str,
    policy: &RetryPolicy,
    entries: &[PublishEntry],
) -> Vec<Result<(), StepError>> {
    let how = BatchCall {
        operation: "SendMessageBatch",
        retryable_codes: RETRYABLE_CODES,
    };
    send_with_retry(policy, &how, entries, check_entry, |batch| {
        api.send_message_batch(SendMessageBatchRequest {
            queue_url,
            entries: batch,
        })
    })
    .await
}
