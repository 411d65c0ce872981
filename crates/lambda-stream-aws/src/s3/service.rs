//! How S3 failures are read: throttling and server errors are worth retrying; a missing
//! object or bucket, or a refused request, is not.

/// Error codes worth retrying.
pub(crate) fn is_retryable_request_code(code: &str) -> bool {
    matches!(
        code,
        "SlowDown" | "InternalError" | "ServiceUnavailable" | "RequestTimeout" | "Throttling"
    )
}
