//! Doing an effect once per event, for effects that are not idempotent themselves (a charge
//! through the payment API must not happen twice when Lambda redelivers a batch).
//!
//! Before the effect, a conditional put claims the event: `in-progress`, expiring with the
//! invocation's deadline. After it, the record becomes `completed`, expiring after a
//! configurable time (set the table's TTL on `expiresAt` to have DynamoDB clean up). A later
//! delivery of a completed event skips the effect; one that finds the event in progress in
//! another invocation fails as retryable, so Lambda tries again once that invocation has
//! finished or its claim has expired. A failed effect releases its claim, and only its own:
//! each claim carries a random token and the release is conditional on it, so a claim taken
//! over by another invocation after ours expired is left alone.
//!
//! The claims live in a [`ClaimStore`]: a DynamoDB table ([`Idempotency::new`]) or, for tests
//! and the local hub, a table in memory ([`Idempotency::with_store`]).
//!
//! Once the effect has run, its unit succeeds even if recording `completed` keeps failing
//! (it is retried with the store's policy first): reporting a failure would have Lambda run
//! the effect again once the claim expires. The failure is logged as an error with the event
//! id; until the claim expires a redelivery is held back as in progress.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_stream::{StepError, Uow};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{ClaimStore, DynamoDbStore, WriteOutcome};
use crate::retry::RetryPolicy;
use crate::store::Key;

/// What [`Idempotency::once`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Once<T> {
    /// The effect ran now, with this result.
    Done(T),
    /// The effect had already completed for this event; it did not run again.
    AlreadyDone,
}

/// Claims events before an effect, in a table keyed `pk` (string) and `sk` (string).
#[derive(Debug, Clone)]
pub struct Idempotency {
    store: Arc<dyn ClaimStore>,
    /// How recording `completed` is retried.
    retry: RetryPolicy,
    completed_for: Duration,
    claim_without_deadline: Duration,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    pk: String,
    sk: String,
    status: String,
    expires_at: i64,
    /// The claiming invocation's token (absent on records written before tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claim: Option<String>,
}

/// How often recording `completed` is tried before the unit succeeds without it.
const COMPLETE_ATTEMPTS: u32 = 4;

const IN_PROGRESS: &str = "in-progress";
const COMPLETED: &str = "completed";

fn epoch_seconds_now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Idempotency {
    /// Records in `store`'s table; completed events are remembered for `completed_for`.
    pub fn new(store: DynamoDbStore, completed_for: Duration) -> Self {
        let retry = *store.retry_policy();
        Self::with_retry(Arc::new(store), retry, completed_for)
    }

    /// Records in `store` (a table in memory, say); completed events are remembered for
    /// `completed_for`; recording `completed` is retried with the default policy.
    pub fn with_store(store: Arc<dyn ClaimStore>, completed_for: Duration) -> Self {
        Self::with_retry(store, RetryPolicy::default(), completed_for)
    }

    fn with_retry(store: Arc<dyn ClaimStore>, retry: RetryPolicy, completed_for: Duration) -> Self {
        Self {
            store,
            retry,
            completed_for,
            // Lambda's longest invocation: a claim made without a known deadline lasts as long.
            claim_without_deadline: Duration::from_secs(15 * 60),
        }
    }

    /// A step for `then`/`then_ordered` that runs `effect` once per event of the pipeline:
    /// the same event delivered again (Lambda may) finds the effect done and skips it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::time::Duration;
    ///
    /// use lambda_stream::{Envelope, Pipeline, testing};
    /// use lambda_stream_aws::Idempotency;
    /// use lambda_stream_aws::store::memory::InMemoryStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // DynamoDbStore in production; the in-memory table keeps the same claims.
    /// let once = Arc::new(Idempotency::with_store(Arc::new(InMemoryStore::new()), Duration::from_secs(3600)));
    /// let charges = Arc::new(AtomicUsize::new(0));
    /// let pipeline = || {
    ///     let charges = Arc::clone(&charges);
    ///     Pipeline::new("charge").then(4, once.guard(move |_uow| {
    ///         let charges = Arc::clone(&charges);
    ///         async move {
    ///             charges.fetch_add(1, Ordering::Relaxed); // the call to the payment processor
    ///             Ok(())
    ///         }
    ///     }))
    /// };
    /// let payment = Envelope::builder("payment-requested").id("p1").build()?;
    /// testing::run_pipeline(pipeline(), &[payment.clone()]).await;
    /// testing::run_pipeline(pipeline(), &[payment]).await;
    /// assert_eq!(charges.load(Ordering::Relaxed), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn guard<T, U, F, Fut>(
        self: &Arc<Self>,
        effect: F,
    ) -> impl Fn(Uow<T>) -> BoxFuture<'static, Result<Once<U>, StepError>> + Send + Sync + 'static
    where
        T: Send + 'static,
        U: Send + 'static,
        F: Fn(Uow<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<U, StepError>> + Send + 'static,
    {
        let this = Arc::clone(self);
        let effect = Arc::new(effect);
        move |uow: Uow<T>| {
            let this = Arc::clone(&this);
            let effect = Arc::clone(&effect);
            async move {
                let pipeline = uow.pipeline.to_string();
                let id = uow.event.id().to_string();
                let deadline = uow.invocation.deadline;
                this.once(&pipeline, &id, deadline, move || effect(uow))
                    .await
            }
            .boxed()
        }
    }

    /// Runs `effect` unless it already completed for `event_id` in `pipeline`.
    pub async fn once<T, F, Fut>(
        &self,
        pipeline: &str,
        event_id: &str,
        deadline: Option<Instant>,
        effect: F,
    ) -> Result<Once<T>, StepError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, StepError>>,
    {
        let key = Key::new(format!("idempotency#{pipeline}"), event_id);
        let now = epoch_seconds_now();
        let claim_for = deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
            .unwrap_or(self.claim_without_deadline);
        let token = uuid::Uuid::new_v4().to_string();
        let record = Record {
            pk: key.pk.clone(),
            sk: key.sk.clone(),
            status: IN_PROGRESS.into(),
            expires_at: now + i64::try_from(claim_for.as_secs()).unwrap_or(i64::MAX / 2) + 1,
            claim: Some(token.clone()),
        };
        let record = serde_json::to_value(&record)
            .map_err(|e| StepError::new(format!("an idempotency record: {e}")))?;
        match self.store.claim(record, now).await? {
            WriteOutcome::Written => {}
            WriteOutcome::Skipped => {
                let existing: Option<Record> = self
                    .store
                    .record(key.clone())
                    .await?
                    .and_then(|record| serde_json::from_value(record).ok());
                return match existing {
                    Some(r) if r.status == COMPLETED => Ok(Once::AlreadyDone),
                    Some(r) => Err(StepError::retryable(format!(
                        "event {event_id} is in progress in another invocation (claim expires at {})",
                        r.expires_at
                    ))
                    .with_name("InProgressElsewhere")),
                    None => Err(StepError::retryable(format!(
                        "event {event_id} was claimed and released meanwhile"
                    ))
                    .with_name("InProgressElsewhere")),
                };
            }
        }
        match effect().await {
            Ok(value) => {
                self.record_completed(&key, event_id).await;
                Ok(Once::Done(value))
            }
            Err(error) => {
                // Release our claim so a retry can run the effect; if that fails too, the
                // claim still expires with the deadline.
                match self.store.release(key, token).await {
                    Ok(WriteOutcome::Written) => {}
                    Ok(WriteOutcome::Skipped) => {
                        tracing::warn!(
                            event_id,
                            "the idempotency claim was taken over meanwhile; left as it is"
                        );
                    }
                    Err(release) => {
                        tracing::warn!(event_id, error = %release, "could not release the idempotency claim");
                    }
                }
                Err(error)
            }
        }
    }

    /// Marks the event completed, trying a few times: the effect has run, so the unit must
    /// not fail now.
    async fn record_completed(&self, key: &Key, event_id: &str) {
        let expires_at = epoch_seconds_now()
            + i64::try_from(self.completed_for.as_secs()).unwrap_or(i64::MAX / 2);
        let policy = &self.retry;
        let mut attempt = 0;
        loop {
            let error = match self
                .store
                .set(
                    key.clone(),
                    json!({"status": COMPLETED, "expiresAt": expires_at}),
                )
                .await
            {
                Ok(()) => return,
                Err(error) => error,
            };
            match policy.next(attempt, None) {
                crate::retry::NextAttempt::After(wait) if attempt + 1 < COMPLETE_ATTEMPTS => {
                    tokio::time::sleep(wait).await;
                }
                _ => {
                    tracing::error!(
                        event_id,
                        %error,
                        "the effect ran but could not be recorded as completed; a redelivery after the claim expires would run it again"
                    );
                    return;
                }
            }
            attempt += 1;
        }
    }
}
