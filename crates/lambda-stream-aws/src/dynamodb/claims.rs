//! Where [`Idempotency`](super::Idempotency) keeps its claims: one conditional put, one read,
//! one conditional delete and one update, as DynamoDB makes them ([`DynamoDbStore`]) or as a
//! table in memory does ([`InMemoryStore`](crate::store::memory::InMemoryStore), for tests and
//! the local hub). Records are objects keyed `pk` and `sk`, with `expiresAt` (epoch seconds)
//! and the claim's `claim` token.

use aws_sdk_dynamodb::types::AttributeValue;
use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_stream::StepError;
use serde_json::Value;

use super::{DynamoDbStore, UpdateExpression, WriteOutcome};
use crate::store::Key;

/// A table of idempotency claims.
pub trait ClaimStore: std::fmt::Debug + Send + Sync + 'static {
    /// Writes `record` unless an item is at its key that is not known to have expired: one
    /// with no `expiresAt`, or with an `expiresAt` of `now` (epoch seconds) or later.
    fn claim(&self, record: Value, now: i64) -> BoxFuture<'_, Result<WriteOutcome, StepError>>;

    /// The record at `key`, if any.
    fn record(&self, key: Key) -> BoxFuture<'_, Result<Option<Value>, StepError>>;

    /// Deletes the record at `key` if its `claim` is `token` (else, or when there is none,
    /// [`WriteOutcome::Skipped`]).
    fn release(&self, key: Key, token: String) -> BoxFuture<'_, Result<WriteOutcome, StepError>>;

    /// Sets every attribute of `attributes` on the record at `key` (creating it if absent).
    fn set(&self, key: Key, attributes: Value) -> BoxFuture<'_, Result<(), StepError>>;
}

impl ClaimStore for DynamoDbStore {
    fn claim(&self, record: Value, now: i64) -> BoxFuture<'_, Result<WriteOutcome, StepError>> {
        async move {
            let mut aliases = UpdateExpression::default();
            let pk = aliases.alias_name("pk");
            let expires = aliases.alias_name("expiresAt");
            let now = aliases.alias_value(AttributeValue::N(now.to_string()));
            let condition = format!("attribute_not_exists({pk}) OR {expires} < {now}");
            self.put_if(&record, &condition, &aliases).await
        }
        .boxed()
    }

    fn record(&self, key: Key) -> BoxFuture<'_, Result<Option<Value>, StepError>> {
        async move { self.get(&key.to_json()).await }.boxed()
    }

    fn release(&self, key: Key, token: String) -> BoxFuture<'_, Result<WriteOutcome, StepError>> {
        async move {
            let mut aliases = UpdateExpression::default();
            let claim = aliases.alias_name("claim");
            let ours = aliases.alias_value(AttributeValue::S(token));
            self.delete_if(&key.to_json(), &format!("{claim} = {ours}"), &aliases)
                .await
        }
        .boxed()
    }

    fn set(&self, key: Key, attributes: Value) -> BoxFuture<'_, Result<(), StepError>> {
        async move { self.update(&key.to_json(), &attributes).await }.boxed()
    }
}
