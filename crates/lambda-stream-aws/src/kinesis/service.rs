//! The PutRecords call, behind [`PutRecordsApi`] so tests can script the service's answers;
//! failed records are retried alone by the shared loop in [`crate::retry`].

use futures::future::BoxFuture;
use lambda_stream::{PublishEntry, StepError};

use super::request::check_entry;
use crate::retry::{BatchCall, RetryPolicy, send_with_retry};
pub use crate::retry::{CallError, EntryOutcome};

/// One PutRecords request.
#[derive(Debug)]
pub struct PutRecordsRequest<'a> {
    /// The stream name.
    pub stream_name: &'a str,
    /// The records, in order.
    pub entries: Vec<&'a PublishEntry>,
}

/// The PutRecords call. Implemented for the SDK client; tests implement it to script answers.
pub trait PutRecordsApi: Send + Sync + 'static {
    /// Sends one request; on success, one outcome per record, in order.
    fn put_records<'a>(
        &'a self,
        request: PutRecordsRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<EntryOutcome>, CallError>>;
}

/// Record error codes worth retrying: the record itself was fine.
const RETRYABLE_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "InternalFailure",
    "KMSThrottlingException",
];

/// Request error codes worth retrying.
pub(crate) fn is_retryable_request_code(code: &str) -> bool {
    RETRYABLE_CODES.contains(&code)
        || matches!(
            code,
            "LimitExceededException" | "ThrottlingException" | "ServiceUnavailable"
        )
}

/// Publishes `entries` to the stream, retrying only what failed for a transient reason.
pub(crate) async fn put_records_with_retry(
    api: &dyn PutRecordsApi,
    stream_name: &str,
    policy: &RetryPolicy,
    entries: &[PublishEntry],
) -> Vec<Result<(), StepError>> {
    let how = BatchCall {
        operation: "PutRecords",
        retryable_codes: RETRYABLE_CODES,
    };
    send_with_retry(policy, &how, entries, check_entry, |batch| {
        api.put_records(PutRecordsRequest {
            stream_name,
            entries: batch,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use futures::FutureExt;
    use lambda_stream::ErrorClass;

    use super::*;

    struct Scripted {
        answers: Mutex<Vec<Result<Vec<EntryOutcome>, CallError>>>,
        calls: Mutex<Vec<usize>>,
    }

    impl PutRecordsApi for Scripted {
        fn put_records<'a>(
            &'a self,
            request: PutRecordsRequest<'a>,
        ) -> BoxFuture<'a, Result<Vec<EntryOutcome>, CallError>> {
            self.calls.lock().expect("lock").push(request.entries.len());
            let answer = self.answers.lock().expect("lock").pop();
            async move {
                answer.unwrap_or_else(|| {
                    Err(CallError {
                        retryable: false,
                        message: "no more answers".into(),
                    })
                })
            }
            .boxed()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn throughput_exceeded_records_are_retried_alone_until_exhausted() {
        let exceeded = || EntryOutcome::Rejected {
            code: "ProvisionedThroughputExceededException".into(),
            message: "rate exceeded".into(),
        };
        let invalid = EntryOutcome::Rejected {
            code: "InvalidArgumentException".into(),
            message: "no".into(),
        };
        let api = Scripted {
            // Answers are popped from the end.
            answers: Mutex::new(vec![
                Ok(vec![exceeded()]),
                Ok(vec![EntryOutcome::Accepted, exceeded()]),
                Ok(vec![
                    EntryOutcome::Accepted,
                    exceeded(),
                    exceeded(),
                    invalid,
                ]),
            ]),
            calls: Mutex::new(Vec::new()),
        };
        let entries: Vec<PublishEntry> = (0..4)
            .map(|i| PublishEntry::message("t", "{}").with_partition_key(format!("k{i}")))
            .collect();
        let policy = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            ..RetryPolicy::default()
        };
        let results = put_records_with_retry(&api, "s", &policy, &entries).await;
        assert!(results[0].is_ok());
        assert!(results[1].is_ok());
        let exhausted = results[2].as_ref().expect_err("exhausted");
        assert_eq!(exhausted.class(), ErrorClass::Unclassified);
        assert_eq!(exhausted.name(), "PutRecordsRetriesExhausted");
        let invalid = results[3].as_ref().expect_err("invalid");
        assert_eq!(invalid.class(), ErrorClass::Permanent);
        assert_eq!(*api.calls.lock().expect("lock"), vec![4, 2, 1]);
    }
}
