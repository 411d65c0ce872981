//! The S3 calls of claim checks, through the official SDK client: throttling and server errors
//! are worth retrying; a missing object or bucket, or a refused request, is not.

use aws_sdk_s3::primitives::ByteStream;
use lambda_stream::{S3Pointer, StepError};

use crate::retry::{CallError, RetryPolicy, call_error, call_with_retry};

/// Error codes worth retrying.
pub(crate) fn is_retryable_request_code(code: &str) -> bool {
    matches!(
        code,
        "SlowDown" | "InternalError" | "ServiceUnavailable" | "RequestTimeout" | "Throttling"
    )
}

pub(crate) async fn put(
    client: &aws_sdk_s3::Client,
    retry: &RetryPolicy,
    pointer: &S3Pointer,
    json: &str,
) -> Result<(), StepError> {
    call_with_retry(retry, "PutObject", || async {
        client
            .put_object()
            .bucket(&pointer.bucket)
            .key(&pointer.key)
            .content_type("application/json")
            .body(ByteStream::from(json.as_bytes().to_vec()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| call_error(e, is_retryable_request_code))
    })
    .await
}

pub(crate) async fn get(
    client: &aws_sdk_s3::Client,
    retry: &RetryPolicy,
    pointer: &S3Pointer,
) -> Result<Vec<u8>, StepError> {
    call_with_retry(retry, "GetObject", || async {
        let object = client
            .get_object()
            .bucket(&pointer.bucket)
            .key(&pointer.key)
            .send()
            .await
            .map_err(|e| call_error(e, is_retryable_request_code))?;
        let bytes = object.body.collect().await.map_err(|e| CallError {
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
