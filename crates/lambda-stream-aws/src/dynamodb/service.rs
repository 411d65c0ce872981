//! The DynamoDB calls and how their failures are read: a failed condition is an answer (the
//! write was older), throttling is worth retrying, anything else the service refused is not.
//! Batch gets retry their unprocessed keys; queries follow their pages.

/// Request error codes worth retrying.
pub(crate) fn is_retryable_request_code(code: &str) -> bool {
    matches!(
        code,
        "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "InternalServerError"
            | "ServiceUnavailable"
            | "TransactionConflictException"
    )
}

/// The error code of a failed condition.
pub(crate) const CONDITION_FAILED: &str = "ConditionalCheckFailedException";
