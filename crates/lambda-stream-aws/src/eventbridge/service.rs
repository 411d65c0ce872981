//! The PutEvents call, behind [`PutEventsApi`] so tests can script the service's answers, and
//! the retry of the entries that failed.

use futures::future::BoxFuture;
use lambda_stream::{PublishEntry, StepError};

use super::request::check_entry;
use crate::retry::{BatchCall, RetryPolicy, send_with_retry};
pub use crate::retry::{CallError, EntryOutcome};

/// One PutEvents request.
#[derive(Debug)]
pub struct PutEventsRequest<'a> {
    /// The bus name or ARN.
    pub bus_name: &'a str,
    /// The `Source` of every entry.
    pub source: &'a str,
    /// The global endpoint, if any.
    pub endpoint_id: Option<&'a str>,
    /// The entries, in order.
    pub entries: Vec<&'a PublishEntry>,
}

/// The PutEvents call. Implemented for the SDK client; tests implement it to script answers.
pub trait PutEventsApi: Send + Sync + 'static {
    /// Sends one request; on success, one outcome per entry, in order.
    fn put_events<'a>(
        &'a self,
        request: PutEventsRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<EntryOutcome>, CallError>>;
}

/// Entry error codes worth retrying: the entry itself was fine.
const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "InternalFailure",
    "InternalException",
    "ServiceUnavailable",
];

/// Request error codes worth retrying.
pub(crate) fn is_retryable_request_code(code: &str) -> bool {
    RETRYABLE_CODES.contains(&code)
        || matches!(
            code,
            "Throttling"
                | "RequestTimeout"
                | "RequestTimeoutException"
                | "TooManyRequestsException"
        )
}

/// Publishes `entries`, retrying only what failed for a transient reason. Returns one result
/// per entry, in order.
pub(crate) async fn put_events_with_retry(
    api: &dyn PutEventsApi,
    bus_name: &str,
    source: &str,
    endpoint_id: Option<&str>,
    policy: &RetryPolicy,
    entries: &[PublishEntry],
) -> Vec<Result<(), StepError>> {
    let how = BatchCall {
        operation: "PutEvents",
        retryable_codes: RETRYABLE_CODES,
    };
    send_with_retry(
        policy,
        &how,
        entries,
        |entry| check_entry(source, entry),
        |batch| {
            api.put_events(PutEventsRequest {
                bus_name,
                source,
                endpoint_id,
                entries: batch,
            })
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use futures::FutureExt;
    use lambda_stream::ErrorClass;

    use super::*;

    /// Answers each call with the next scripted answer and records what it was sent.
    struct Scripted {
        answers: Mutex<Vec<Result<Vec<EntryOutcome>, CallError>>>,
        calls: Mutex<Vec<Vec<String>>>,
    }

    impl Scripted {
        fn new(answers: Vec<Result<Vec<EntryOutcome>, CallError>>) -> Self {
            Self {
                answers: Mutex::new(answers.into_iter().rev().collect()),
                calls: Mutex::new(Vec::new()),
            }
        }
        fn calls(&self) -> Vec<Vec<String>> {
            self.calls.lock().expect("lock").clone()
        }
    }

    impl PutEventsApi for Scripted {
        fn put_events<'a>(
            &'a self,
            request: PutEventsRequest<'a>,
        ) -> BoxFuture<'a, Result<Vec<EntryOutcome>, CallError>> {
            let types = request
                .entries
                .iter()
                .map(|e| e.event_type().to_string())
                .collect();
            self.calls.lock().expect("lock").push(types);
            let answer = self.answers.lock().expect("lock").pop();
            async move {
                answer.unwrap_or_else(|| {
                    Err(CallError {
                        retryable: false,
                        message: "no more scripted answers".into(),
                    })
                })
            }
            .boxed()
        }
    }

    fn entries(n: usize) -> Vec<PublishEntry> {
        (0..n)
            .map(|i| PublishEntry::message(format!("t{i}"), "{}"))
            .collect()
    }

    fn throttled() -> EntryOutcome {
        EntryOutcome::Rejected {
            code: "ThrottlingException".into(),
            message: "slow down".into(),
        }
    }

    fn policy(attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts: attempts,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            ..RetryPolicy::default()
        }
    }

    async fn run(api: &Scripted, n: usize, attempts: u32) -> Vec<Result<(), StepError>> {
        put_events_with_retry(api, "bus", "custom", None, &policy(attempts), &entries(n)).await
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_before_the_deadline_and_hand_the_entries_back_to_lambda() {
        let api = Scripted::new((0..20).map(|_| Ok(vec![throttled()])).collect());
        let slow = RetryPolicy {
            max_attempts: 20,
            base_delay: Duration::from_millis(400),
            max_delay: Duration::from_secs(5),
            ..RetryPolicy::default()
        };
        let start = tokio::time::Instant::now();
        let results = lambda_stream::Deadline::after(Duration::from_secs(2))
            .scope(put_events_with_retry(
                &api,
                "bus",
                "custom",
                None,
                &slow,
                &entries(1),
            ))
            .await;
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        let error = results[0].as_ref().expect_err("not accepted");
        assert_eq!(error.class(), ErrorClass::Retryable);
        assert_eq!(error.name(), "PutEventsDeadlineExceeded");
        assert!(api.calls().len() < 20);
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_never_answers_is_cut_at_the_deadline() {
        struct Hangs;
        impl PutEventsApi for Hangs {
            fn put_events<'a>(
                &'a self,
                _: PutEventsRequest<'a>,
            ) -> BoxFuture<'a, Result<Vec<EntryOutcome>, CallError>> {
                futures::future::pending().boxed()
            }
        }
        let results = lambda_stream::Deadline::after(Duration::from_secs(3))
            .scope(put_events_with_retry(
                &Hangs,
                "bus",
                "custom",
                None,
                &policy(4),
                &entries(2),
            ))
            .await;
        assert!(results.iter().all(|r| {
            r.as_ref()
                .is_err_and(|e| e.class() == ErrorClass::Retryable)
        }));
    }

    #[tokio::test(start_paused = true)]
    async fn only_the_failed_entries_are_retried() {
        use EntryOutcome::Accepted as A;
        let api = Scripted::new(vec![
            Ok(vec![A, throttled(), A, throttled()]),
            Ok(vec![A, throttled()]),
            Ok(vec![A]),
        ]);
        let results = run(&api, 4, 4).await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert_eq!(
            api.calls(),
            vec![vec!["t0", "t1", "t2", "t3"], vec!["t1", "t3"], vec!["t3"]]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn exhausted_retries_are_left_to_the_pipeline_and_permanent_codes_fail_at_once() {
        use EntryOutcome::Accepted as A;
        let rejected = EntryOutcome::Rejected {
            code: "MalformedDetail".into(),
            message: "bad".into(),
        };
        let api = Scripted::new(vec![
            Ok(vec![A, throttled(), rejected]),
            Ok(vec![throttled()]),
            Ok(vec![throttled()]),
        ]);
        let results = run(&api, 3, 3).await;
        assert!(results[0].is_ok());
        let exhausted = results[1].as_ref().expect_err("exhausted");
        assert_eq!(exhausted.class(), ErrorClass::Unclassified);
        assert!(
            exhausted.message().contains("after 3 attempt(s)"),
            "{exhausted}"
        );
        assert!(exhausted.message().contains("ThrottlingException"));
        let permanent = results[2].as_ref().expect_err("rejected");
        assert_eq!(permanent.class(), ErrorClass::Permanent);
        assert_eq!(permanent.name(), "MalformedDetail");
        assert_eq!(api.calls().len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn whole_request_failures_retry_when_transient_and_fail_every_entry_otherwise() {
        let transient = || {
            Err(CallError {
                retryable: true,
                message: "timeout".into(),
            })
        };
        let api = Scripted::new(vec![transient(), Ok(vec![EntryOutcome::Accepted; 2])]);
        assert!(run(&api, 2, 4).await.iter().all(Result::is_ok));

        let api = Scripted::new(vec![transient(), transient()]);
        let results = run(&api, 2, 2).await;
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Err(e) if e.class() == ErrorClass::Unclassified))
        );

        let api = Scripted::new(vec![Err(CallError {
            retryable: false,
            message: "AccessDeniedException: no".into(),
        })]);
        let results = run(&api, 2, 4).await;
        assert!(
            results
                .iter()
                .all(|r| matches!(r, Err(e) if e.class() == ErrorClass::Permanent))
        );
        assert_eq!(api.calls().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_response_retries_the_entries_without_an_answer() {
        let api = Scripted::new(vec![
            Ok(vec![EntryOutcome::Accepted]),
            Ok(vec![EntryOutcome::Accepted]),
        ]);
        let results = run(&api, 2, 3).await;
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(api.calls(), vec![vec!["t0", "t1"], vec!["t1"]]);
    }

    #[tokio::test(start_paused = true)]
    async fn oversized_entries_fail_without_a_call_and_the_rest_go() {
        let mut batch = entries(2);
        batch[1] = PublishEntry::message("t1", format!(r#"{{"p":"{}"}}"#, "x".repeat(300 * 1024)));
        let api = Scripted::new(vec![Ok(vec![EntryOutcome::Accepted])]);
        let results = put_events_with_retry(&api, "bus", "custom", None, &policy(3), &batch).await;
        assert!(results[0].is_ok());
        assert_eq!(
            results[1].as_ref().expect_err("too big").name(),
            "EntryTooLarge"
        );
        assert_eq!(api.calls(), vec![vec!["t0"]]);
    }
}
