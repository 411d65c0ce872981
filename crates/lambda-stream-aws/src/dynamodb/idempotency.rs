//! Doing an effect once per event, for effects that are not idempotent themselves (a charge
//! through the payment API must not happen twice when Lambda redelivers a batch).
//!
//! Before the effect, a conditional put claims the event: `in-progress`, expiring with the
//! invocation's deadline. After it, the record becomes `completed`, expiring after a
//! configurable time (set the table's TTL on `expiresAt` to have DynamoDB clean up). A later
//! delivery of a completed event skips the effect; one that finds the event in progress in
//! another invocation fails as retryable, so Lambda tries again once that invocation has
//! finished or its claim has expired. A failed effect releases its claim.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_stream::{StepError, Uow};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{DynamoDbStore, UpdateExpression, WriteOutcome};

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
    store: DynamoDbStore,
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
}

const IN_PROGRESS: &str = "in-progress";
const COMPLETED: &str = "completed";

fn epoch_seconds_now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Idempotency {
    /// Records in `store`'s table; completed events are remembered for `completed_for`.
    pub fn new(store: DynamoDbStore, completed_for: Duration) -> Self {
        Self {
            store,
            completed_for,
            // Lambda's longest invocation: a claim made without a known deadline lasts as long.
            claim_without_deadline: Duration::from_secs(15 * 60),
        }
    }

    /// A step for `then`/`then_ordered` that runs `effect` once per event of the pipeline:
    ///
    /// ```ignore
    /// pipeline.then(4, idempotency.guard(|uow| async move { charge(&uow).await }))
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
        let key = json!({"pk": format!("idempotency#{pipeline}"), "sk": event_id});
        let now = epoch_seconds_now();
        let claim_for = deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
            .unwrap_or(self.claim_without_deadline);
        let record = Record {
            pk: format!("idempotency#{pipeline}"),
            sk: event_id.to_string(),
            status: IN_PROGRESS.into(),
            expires_at: now + i64::try_from(claim_for.as_secs()).unwrap_or(i64::MAX / 2) + 1,
        };
        // Claim when there is no record, or the one there has expired (a crashed invocation's
        // claim, or a completion older than we remember).
        let mut aliases = UpdateExpression::default();
        let pk = aliases.alias_name("pk");
        let expires = aliases.alias_name("expiresAt");
        let now_value =
            aliases.alias_value(aws_sdk_dynamodb::types::AttributeValue::N(now.to_string()));
        let condition = format!("attribute_not_exists({pk}) OR {expires} < {now_value}");
        match self.store.put_if(&record, &condition, &aliases).await? {
            WriteOutcome::Written => {}
            WriteOutcome::Skipped => {
                let existing: Option<Record> = self.store.get(&key).await?;
                return match existing {
                    Some(r) if r.status == COMPLETED => Ok(Once::AlreadyDone),
                    Some(r) => Err(StepError::retryable(format!(
                        "event {event_id} is in progress in another invocation (claim expires at {})",
                        r.expires_at
                    ))
                    .with_name("InProgressElsewhere")),
                    // Gone between the put and the read: let Lambda try again.
                    None => Err(StepError::retryable(format!(
                        "event {event_id} was claimed and released meanwhile"
                    ))
                    .with_name("InProgressElsewhere")),
                };
            }
        }
        match effect().await {
            Ok(value) => {
                let expires_at = epoch_seconds_now()
                    + i64::try_from(self.completed_for.as_secs()).unwrap_or(i64::MAX / 2);
                self.store
                    .update(&key, &json!({"status": COMPLETED, "expiresAt": expires_at}))
                    .await?;
                Ok(Once::Done(value))
            }
            Err(error) => {
                // Release the claim so a retry can run the effect; if that fails too, the
                // claim still expires with the deadline.
                if let Err(release) = self
                    .store
                    .client()
                    .delete_item()
                    .table_name(self.store.table())
                    .set_key(Some(super::to_item(&key)?))
                    .send()
                    .await
                {
                    tracing::warn!(event_id, error = %release, "could not release the idempotency claim");
                }
                Err(error)
            }
        }
    }
}
