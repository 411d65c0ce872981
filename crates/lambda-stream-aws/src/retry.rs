//! One retry policy for every call this crate makes (the batch sinks, the HTTP sender, the
//! S3 claim checks): exponential backoff with full jitter (a random wait between zero and the
//! backoff, so retries from many functions spread out instead of arriving together), a cap on
//! how long a server may ask us to wait (`Retry-After`), and the invocation's deadline.
//!
//! The deadline is the handler's ([`lambda_stream::Deadline::current`]): a wait that would
//! end too close to it is not started, and a call still running at it is cut, so the unit
//! fails as *retryable* and the handler answers Lambda in time. Outside a handler there is no
//! deadline.
//!
//! The clients this crate builds from the environment have the SDK's own retries turned off
//! ([`sdk_config_from_env`]), so a request is tried as often as this policy says, not that
//! times the SDK's three.
//!
//! The schedule is written here, not taken from a backoff crate: `backon` (the maintained
//! one) jitters between the backoff and twice it, not between zero and it as AWS recommends
//! for contended services, and the schedule is ten lines.

use std::future::Future;
use std::time::Duration;

use lambda_stream::{Deadline, DeadlineExceeded};

/// A call is not started with less than this left before the deadline.
pub const MIN_CALL_TIME: Duration = Duration::from_millis(100);

/// The SDK configuration from the environment, with the SDK's own retries off: this crate's
/// [`RetryPolicy`] decides, knowing the invocation's deadline.
pub async fn sdk_config_from_env() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NextAttempt {
    /// Wait this long, then call again.
    After(Duration),
    /// The attempts are used up.
    Exhausted,
    /// The invocation's deadline is too near for the wait and another call.
    DeadlineNear,
    /// The server asked for a longer wait than the policy allows.
    ServerWaitTooLong(Duration),
}

#[cfg(any(
    feature = "eventbridge",
    feature = "kinesis",
    feature = "sns",
    feature = "sqs"
))]
use futures::future::BoxFuture;
#[cfg(any(
    feature = "eventbridge",
    feature = "kinesis",
    feature = "sns",
    feature = "sqs"
))]
use lambda_stream::{PublishEntry, StepError};

/// Attempts and delays for retrying a request or its failed entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Calls in all, the first one included (at least 1).
    pub max_attempts: u32,
    /// The backoff before the second call; it doubles for each later one.
    pub base_delay: Duration,
    /// The most the backoff grows to.
    pub max_delay: Duration,
    /// The longest wait a server may ask for (`Retry-After`); a longer one ends the retries
    /// so Lambda delivers the record again later.
    pub max_server_wait: Duration,
}

impl Default for RetryPolicy {
    /// Four calls, backing off from 100 ms up to 2 s; servers may ask for up to 30 s.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            max_server_wait: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries: one call.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The backoff before call number `attempt` (1 for the first retry): the ceiling
    /// `base * 2^(attempt-1)`, capped at `max_delay`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// Waits a random time up to the backoff before call number `attempt`.
    pub async fn wait_before(&self, attempt: u32) {
        let ceiling = self.backoff(attempt);
        let jittered = ceiling.mul_f64(fastrand::f64());
        tokio::time::sleep(jittered).await;
    }

    /// True when another call may follow call number `attempt` (0 for the first call).
    pub fn may_retry_after(&self, attempt: u32) -> bool {
        attempt + 1 < self.max_attempts.max(1)
    }

    /// What follows failed call number `attempt` (0 for the first call), when the server
    /// asked for `server_wait` (or not): the jittered backoff, or why the retries end.
    pub fn next(&self, attempt: u32, server_wait: Option<Duration>) -> NextAttempt {
        if !self.may_retry_after(attempt) {
            return NextAttempt::Exhausted;
        }
        let wait = match server_wait {
            Some(wait) if wait > self.max_server_wait => {
                return NextAttempt::ServerWaitTooLong(wait);
            }
            Some(wait) => wait,
            None => self.backoff(attempt + 1).mul_f64(fastrand::f64()),
        };
        if !Deadline::current().allows(wait.saturating_add(MIN_CALL_TIME)) {
            return NextAttempt::DeadlineNear;
        }
        NextAttempt::After(wait)
    }

    /// Runs one call, cut at the invocation's deadline.
    pub async fn call<F: Future>(&self, call: F) -> Result<F::Output, DeadlineExceeded> {
        Deadline::current().run(call).await
    }
}

/// Calls `call` until it succeeds, fails for good, the attempts run out or the deadline is
/// near: the retry loop of single requests (S3 claim checks, KMS).
#[cfg(any(feature = "s3", feature = "kms"))]
pub(crate) async fn call_with_retry<T, F, Fut>(
    policy: &RetryPolicy,
    operation: &str,
    mut call: F,
) -> Result<T, lambda_stream::StepError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CallError>>,
{
    let mut attempt = 0;
    loop {
        let error = match policy.call(call()).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) if !error.retryable => return Err(error.into_step_error(operation)),
            Ok(Err(error)) => error,
            Err(deadline) => {
                return Err(lambda_stream::StepError::retryable(format!(
                    "{operation}: {deadline}"
                ))
                .with_name(format!("{operation}DeadlineExceeded")));
            }
        };
        tracing::warn!(operation, attempt, message = %error.message, "request failed");
        match policy.next(attempt, None) {
            NextAttempt::After(wait) => tokio::time::sleep(wait).await,
            // A transient failure that outlasted the retries or the invocation: Lambda
            // delivers the record again.
            _ => return Err(error.into_step_error(operation)),
        }
        attempt += 1;
    }
}

/// What a batch service said of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryOutcome {
    /// Accepted.
    Accepted,
    /// Rejected, with the service's error code and message.
    Rejected {
        /// The error code, e.g. `ThrottlingException`.
        code: String,
        /// The error message.
        message: String,
    },
    /// The service's answer did not mention the entry (it is sent again).
    Unanswered,
}

/// A failure of a whole request.
#[derive(Debug, Clone)]
pub struct CallError {
    /// True for throttling, timeouts, dispatch failures and server errors.
    pub retryable: bool,
    /// What went wrong.
    pub message: String,
}

impl CallError {
    /// The unit's failure for a call of `operation` that failed: retryable or permanent as
    /// classified, named `<operation>Error`.
    pub fn into_step_error(self, operation: &str) -> lambda_stream::StepError {
        lambda_stream::StepError::new(format!("{operation} failed: {}", self.message))
            .with_name(format!("{operation}Error"))
            .with_class(if self.retryable {
                lambda_stream::ErrorClass::Retryable
            } else {
                lambda_stream::ErrorClass::Permanent
            })
    }
}

#[cfg(any(
    feature = "eventbridge",
    feature = "kinesis",
    feature = "sns",
    feature = "sqs",
    feature = "dynamodb",
    feature = "s3",
    feature = "kms"
))]
/// Classifies an SDK error: timeouts, dispatch failures, unreadable responses and the
/// service's codes that `retryable_code` accepts are worth retrying; anything else the
/// service refused (validation, access, missing resources) is not.
pub(crate) fn call_error<E, R>(
    error: aws_smithy_runtime_api::client::result::SdkError<E, R>,
    retryable_code: impl Fn(&str) -> bool,
) -> CallError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    let retryable = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => service.err().code().is_some_and(&retryable_code),
        _ => false,
    };
    let message = match error.code() {
        Some(code) => format!("{code}: {}", error.message().unwrap_or_default()),
        None => format!(
            "{}",
            aws_smithy_types::error::display::DisplayErrorContext(&error)
        ),
    };
    CallError { retryable, message }
}

/// One failed entry of a batch API that answers by entry id (SNS, SQS).
#[cfg(any(feature = "sns", feature = "sqs"))]
#[derive(Debug, Clone)]
pub(crate) struct FailedById<'a> {
    pub(crate) id: &'a str,
    pub(crate) code: &'a str,
    pub(crate) message: &'a str,
    /// The service's own flag: `false` means the entry was fine and the service failed.
    pub(crate) sender_fault: bool,
}

/// The error code given to entries the service failed through no fault of theirs.
#[cfg(any(feature = "sns", feature = "sqs"))]
pub(crate) const SERVICE_FAULT: &str = "ServiceFault";

#[cfg(any(feature = "sns", feature = "sqs"))]
/// Maps a by-id batch answer onto the `count` entries sent with ids `"0"`, `"1"`, ...; an
/// entry the answer does not mention gets no outcome (and is retried).
pub(crate) fn outcomes_by_id<'a>(
    count: usize,
    successful: impl Iterator<Item = &'a str>,
    failed: impl Iterator<Item = FailedById<'a>>,
) -> Vec<EntryOutcome> {
    let mut outcomes: Vec<Option<EntryOutcome>> = vec![None; count];
    for id in successful {
        if let Some(slot) = id.parse::<usize>().ok().and_then(|i| outcomes.get_mut(i)) {
            *slot = Some(EntryOutcome::Accepted);
        }
    }
    for failure in failed {
        if let Some(slot) = failure
            .id
            .parse::<usize>()
            .ok()
            .and_then(|i| outcomes.get_mut(i))
        {
            *slot = Some(if failure.sender_fault {
                EntryOutcome::Rejected {
                    code: failure.code.to_string(),
                    message: failure.message.to_string(),
                }
            } else {
                EntryOutcome::Rejected {
                    code: SERVICE_FAULT.to_string(),
                    message: format!("{}: {}", failure.code, failure.message),
                }
            });
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.unwrap_or(EntryOutcome::Unanswered))
        .collect()
}

/// How one sink's batch call behaves, for [`send_with_retry`].
#[cfg(any(
    feature = "eventbridge",
    feature = "kinesis",
    feature = "sns",
    feature = "sqs"
))]
pub(crate) struct BatchCall<'s> {
    /// The operation's name, for messages (`PutEvents`, `PutRecords`).
    pub(crate) operation: &'s str,
    /// Entry error codes worth retrying.
    pub(crate) retryable_codes: &'s [&'s str],
}

#[cfg(any(
    feature = "eventbridge",
    feature = "kinesis",
    feature = "sns",
    feature = "sqs"
))]
/// Sends `entries` with `call`, retrying only the entries that failed for a transient reason
/// (or all of them when the whole request failed transiently), with backoff and jitter.
/// Entries `precheck` refuses are never sent. Returns one result per entry, in order.
pub(crate) async fn send_with_retry<'a, F>(
    policy: &RetryPolicy,
    how: &BatchCall<'_>,
    entries: &'a [PublishEntry],
    precheck: impl Fn(&PublishEntry) -> Result<(), StepError>,
    mut call: F,
) -> Vec<Result<(), StepError>>
where
    F: FnMut(Vec<&'a PublishEntry>) -> BoxFuture<'a, Result<Vec<EntryOutcome>, CallError>>,
{
    let operation = how.operation;
    let mut results: Vec<Option<Result<(), StepError>>> = entries
        .iter()
        .map(|entry| precheck(entry).err().map(Err))
        .collect();
    let mut pending: Vec<usize> = (0..entries.len())
        .filter(|i| results[*i].is_none())
        .collect();
    let mut last_reason: Vec<String> = vec![String::new(); entries.len()];
    let mut attempt = 0;
    let mut deadline_near = false;
    while !pending.is_empty() {
        let answer = match policy
            .call(call(pending.iter().map(|i| &entries[*i]).collect()))
            .await
        {
            Ok(answer) => answer,
            Err(deadline) => {
                for i in &pending {
                    last_reason[*i] = deadline.to_string();
                }
                deadline_near = true;
                break;
            }
        };
        match answer {
            Err(error) => {
                tracing::warn!(operation, attempt, retryable = error.retryable, message = %error.message, "request failed");
                if !error.retryable {
                    for i in pending.drain(..) {
                        results[i] = Some(Err(StepError::permanent(format!(
                            "{operation} failed: {}",
                            error.message
                        ))
                        .with_name(format!("{operation}Error"))));
                    }
                    break;
                }
                for i in &pending {
                    last_reason[*i] = error.message.clone();
                }
            }
            Ok(outcomes) => {
                let mut still = Vec::new();
                for (position, i) in pending.iter().enumerate() {
                    match outcomes.get(position) {
                        Some(EntryOutcome::Accepted) => results[*i] = Some(Ok(())),
                        Some(EntryOutcome::Rejected { code, message })
                            if how.retryable_codes.contains(&code.as_str()) =>
                        {
                            last_reason[*i] = format!("{code}: {message}");
                            still.push(*i);
                        }
                        Some(EntryOutcome::Rejected { code, message }) => {
                            results[*i] = Some(Err(StepError::permanent(format!(
                                "{operation} rejected the entry: {code}: {message}"
                            ))
                            .with_name(code.clone())));
                        }
                        Some(EntryOutcome::Unanswered) | None => {
                            last_reason[*i] = "the response had no result for this entry".into();
                            still.push(*i);
                        }
                    }
                }
                pending = still;
            }
        }
        if pending.is_empty() {
            break;
        }
        match policy.next(attempt, None) {
            NextAttempt::After(wait) => tokio::time::sleep(wait).await,
            NextAttempt::DeadlineNear => {
                deadline_near = true;
                break;
            }
            _ => break,
        }
        attempt += 1;
    }
    for i in pending {
        results[i] = Some(Err(if deadline_near {
            // Cut by the deadline: Lambda delivers it again.
            StepError::retryable(format!(
                "{operation}: not accepted before the invocation's deadline after {} attempt(s): {}",
                attempt + 1,
                last_reason[i]
            ))
            .with_name(format!("{operation}DeadlineExceeded"))
        } else {
            // Unclassified: the pipeline's failure mode decides between a fault and a retry.
            StepError::new(format!(
                "{operation}: not accepted after {} attempt(s): {}",
                attempt + 1,
                last_reason[i]
            ))
            .with_name(format!("{operation}RetriesExhausted"))
        }));
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(StepError::new("no result was recorded"))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            ..RetryPolicy::default()
        };
        let delays: Vec<u128> = (1..=5).map(|a| policy.backoff(a).as_millis()).collect();
        assert_eq!(delays, vec![100, 200, 400, 500, 500]);
        assert_eq!(policy.backoff(60).as_millis(), 500);
    }

    #[test]
    fn attempts_are_counted_from_the_first_call() {
        let policy = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        assert!(policy.may_retry_after(0));
        assert!(policy.may_retry_after(1));
        assert!(!policy.may_retry_after(2));
        assert!(!RetryPolicy::none().may_retry_after(0));
    }

    #[cfg(any(feature = "sns", feature = "sqs"))]
    #[test]
    fn by_id_answers_map_to_positions_and_service_faults_are_retryable() {
        let outcomes = outcomes_by_id(
            4,
            ["0", "3"].into_iter(),
            [
                FailedById {
                    id: "1",
                    code: "InvalidParameter",
                    message: "bad",
                    sender_fault: true,
                },
                FailedById {
                    id: "7",
                    code: "Ignored",
                    message: "no such entry",
                    sender_fault: true,
                },
            ]
            .into_iter()
            .chain(std::iter::once(FailedById {
                id: "x",
                code: "Ignored",
                message: "not a position",
                sender_fault: false,
            })),
        );
        assert_eq!(outcomes[0], EntryOutcome::Accepted);
        assert_eq!(
            outcomes[1],
            EntryOutcome::Rejected {
                code: "InvalidParameter".into(),
                message: "bad".into()
            }
        );
        assert_eq!(outcomes[2], EntryOutcome::Unanswered);
        assert_eq!(outcomes[3], EntryOutcome::Accepted);
        let fault = outcomes_by_id(
            1,
            std::iter::empty(),
            std::iter::once(FailedById {
                id: "0",
                code: "InternalError",
                message: "oops",
                sender_fault: false,
            }),
        );
        assert_eq!(
            fault[0],
            EntryOutcome::Rejected {
                code: SERVICE_FAULT.into(),
                message: "InternalError: oops".into()
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_wait_never_exceeds_the_backoff() {
        let policy = RetryPolicy::default();
        for attempt in 1..6 {
            let start = tokio::time::Instant::now();
            policy.wait_before(attempt).await;
            assert!(start.elapsed() <= policy.backoff(attempt));
        }
    }
}
