//! DynamoDB for materialized views, micro event stores and idempotency: put, update from any
//! struct or map (aliased names, see [`request::UpdateExpression`]), conditional writes
//! including *write only if newer* for order-tolerant views, batch get retrying unprocessed
//! keys, and queries that follow every page.
//!
//! A view written only if the event is newer, inside a `then_ordered` step (the same calls run
//! against moto in `tests/dynamodb_moto.rs`; [`crate::view`] does this for you):
//!
//! ```no_run
//! use lambda_stream::Pipeline;
//! use lambda_stream_aws::WriteOutcome;
//! use lambda_stream_aws::DynamoDbStore;
//! use serde_json::json;
//!
//! # async fn doc() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let table = DynamoDbStore::from_env().await?; // ENTITY_TABLE_NAME
//! let pipeline = Pipeline::new("statuses").on_type("order-*").then_ordered(8, move |uow| {
//!     let table = table.clone();
//!     async move {
//!         let key = json!({ "pk": uow.partition_key(), "sk": "status" });
//!         let status = json!({ "status": uow.event.event_type() });
//!         let outcome = table.update_if_newer(&key, &status, "timestamp", uow.event.timestamp()).await?;
//!         Ok(outcome == WriteOutcome::Written)
//!     }
//! });
//! # let _ = pipeline; Ok(()) }
//! ```
//!
//! | variable | meaning |
//! |---|---|
//! | `ENTITY_TABLE_NAME` | the table (read by [`DynamoDbStore::from_env`]) |
//! | `AWS_ENDPOINT_URL`, `AWS_REGION`, ... | as the AWS SDK reads them |

pub mod claims;
pub mod idempotency;
pub mod request;
pub mod service;
mod store;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use lambda_stream::StepError;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ConfigError;
use crate::retry::{NextAttempt, RetryPolicy, call_error};
pub use claims::ClaimStore;
pub use idempotency::{Idempotency, Once};
pub use request::{Item, UpdateExpression, to_item};
use service::{CONDITION_FAILED, is_retryable_request_code};

/// The most keys one BatchGetItem request reads.
pub const MAX_BATCH_GET_KEYS: usize = 100;

/// What a conditional write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteOutcome {
    /// The item was written.
    Written,
    /// The condition did not hold (a newer version is stored, say): nothing was written.
    Skipped,
}

/// One table, through one SDK client made once per process.
#[derive(Debug, Clone)]
pub struct DynamoDbStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    retry: RetryPolicy,
}

/// A conditional write's result: written, skipped (the condition failed), or the error.
fn conditional_outcome<T, E, R>(
    result: Result<T, aws_smithy_runtime_api::client::result::SdkError<E, R>>,
    operation: &str,
) -> Result<WriteOutcome, StepError>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(WriteOutcome::Written),
        Err(e) if is_condition_failure(&e) => Ok(WriteOutcome::Skipped),
        Err(e) => Err(call_error(e, is_retryable_request_code).into_step_error(operation)),
    }
}

/// The key, the update and the condition of a write that only lands on an item with no
/// `timestamp_attribute` or an older one.
pub(super) fn newer_update<K, T>(
    key: &K,
    attributes: &T,
    timestamp_attribute: &str,
    timestamp: i64,
) -> Result<(Item, UpdateExpression, String), StepError>
where
    K: Serialize + ?Sized,
    T: Serialize + ?Sized,
{
    let key = to_item(key)?;
    let mut skip: Vec<&str> = key.keys().map(String::as_str).collect();
    skip.push(timestamp_attribute);
    let mut update = UpdateExpression::set_all(attributes, &skip)?;
    let ts = AttributeValue::N(timestamp.to_string());
    update.set(timestamp_attribute, ts.clone());
    let name = update.alias_name(timestamp_attribute);
    let value = update.alias_value(ts);
    let condition = format!("attribute_not_exists({name}) OR {name} < {value}");
    Ok((key, update, condition))
}

fn is_condition_failure<E, R>(
    error: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> bool
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    matches!(
        error,
        aws_smithy_runtime_api::client::result::SdkError::ServiceError(e)
            if e.err().code() == Some(CONDITION_FAILED)
    )
}

impl DynamoDbStore {
    /// A store for `table`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            retry: RetryPolicy::default(),
        }
    }

    /// A store for `ENTITY_TABLE_NAME` with a client made from the environment.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Self::from_env_var(&sdk, "ENTITY_TABLE_NAME")
    }

    /// A store for the table named by the environment variable `variable`
    /// (`EVENT_TABLE_NAME`, say), with a client made from `sdk`: a function with several
    /// tables loads the SDK configuration once and makes one store per table.
    pub fn from_env_var(sdk: &aws_config::SdkConfig, variable: &str) -> Result<Self, ConfigError> {
        Self::from_lookup(sdk, variable, |name| std::env::var(name).ok())
    }

    /// [`DynamoDbStore::from_env_var`] reading variables through `lookup` (tests).
    pub fn from_lookup(
        sdk: &aws_config::SdkConfig,
        variable: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let table = ConfigError::required(lookup, variable)?;
        Ok(Self::new(aws_sdk_dynamodb::Client::new(sdk), table))
    }

    /// Uses another retry policy for unprocessed keys.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The retry policy of the store's own loops.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The SDK client, for calls this store does not wrap.
    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    /// Puts an item (a struct or map with its key attributes).
    pub async fn put<T: Serialize + ?Sized>(&self, item: &T) -> Result<(), StepError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(item)?))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| call_error(e, is_retryable_request_code).into_step_error("PutItem"))
    }

    /// Puts an item only if `condition` holds (with its own names and values in `update`'s
    /// aliases); a failed condition is [`WriteOutcome::Skipped`].
    pub async fn put_if<T: Serialize + ?Sized>(
        &self,
        item: &T,
        condition: &str,
        aliases: &UpdateExpression,
    ) -> Result<WriteOutcome, StepError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(item)?))
            .condition_expression(condition)
            .set_expression_attribute_names(non_empty(aliases.names().clone()))
            .set_expression_attribute_values(non_empty(aliases.values().clone()))
            .send()
            .await;
        conditional_outcome(result, "PutItem")
    }

    /// Deletes the item at `key` only if `condition` holds (with its own names and values in
    /// `aliases`); a failed condition is [`WriteOutcome::Skipped`].
    pub async fn delete_if<K: Serialize + ?Sized>(
        &self,
        key: &K,
        condition: &str,
        aliases: &UpdateExpression,
    ) -> Result<WriteOutcome, StepError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(to_item(key)?))
            .condition_expression(condition)
            .set_expression_attribute_names(non_empty(aliases.names().clone()))
            .set_expression_attribute_values(non_empty(aliases.values().clone()))
            .send()
            .await;
        conditional_outcome(result, "DeleteItem")
    }

    /// Updates the item at `key` with every attribute of `attributes` (nulls removed).
    pub async fn update<K, T>(&self, key: &K, attributes: &T) -> Result<(), StepError>
    where
        K: Serialize + ?Sized,
        T: Serialize + ?Sized,
    {
        let key = to_item(key)?;
        let key_names: Vec<&str> = key.keys().map(String::as_str).collect();
        let update = UpdateExpression::set_all(attributes, &key_names)?;
        self.send_update(key, update, None).await.map(|_| ())
    }

    /// Updates the item at `key` only if it has no `timestamp_attribute` yet or an older one:
    /// an event that arrives late (or again) cannot overwrite what a newer one wrote. The
    /// timestamp is set with the attributes.
    pub async fn update_if_newer<K, T>(
        &self,
        key: &K,
        attributes: &T,
        timestamp_attribute: &str,
        timestamp: i64,
    ) -> Result<WriteOutcome, StepError>
    where
        K: Serialize + ?Sized,
        T: Serialize + ?Sized,
    {
        let (key, update, condition) =
            newer_update(key, attributes, timestamp_attribute, timestamp)?;
        self.send_update(key, update, Some(condition)).await
    }

    /// The `UpdateItem` request for `update` of `key`, under `condition`: the one place both
    /// the inherent updates and the `Store` implementation build it.
    fn update_request(
        &self,
        key: Item,
        update: &UpdateExpression,
        condition: Option<String>,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update.expression())
            .set_condition_expression(condition)
            .set_expression_attribute_names(non_empty(update.names().clone()))
            .set_expression_attribute_values(non_empty(update.values().clone()))
    }

    async fn send_update(
        &self,
        key: Item,
        update: UpdateExpression,
        condition: Option<String>,
    ) -> Result<WriteOutcome, StepError> {
        if update.is_empty() {
            return Ok(WriteOutcome::Skipped);
        }
        let result = self.update_request(key, &update, condition).send().await;
        match result {
            Ok(_) => Ok(WriteOutcome::Written),
            Err(e) if is_condition_failure(&e) => Ok(WriteOutcome::Skipped),
            Err(e) => Err(call_error(e, is_retryable_request_code).into_step_error("UpdateItem")),
        }
    }

    /// Reads the item at `key`, if any.
    pub async fn get<K: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        key: &K,
    ) -> Result<Option<T>, StepError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(to_item(key)?))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| call_error(e, is_retryable_request_code).into_step_error("GetItem"))?;
        output.item.map(from_item).transpose()
    }

    /// Reads the items at `keys` (any number: 100 per request), retrying unprocessed keys with
    /// backoff. Missing items are left out; the order is not the keys' order.
    pub async fn batch_get<K: Serialize, T: DeserializeOwned>(
        &self,
        keys: &[K],
    ) -> Result<Vec<T>, StepError> {
        let mut found = Vec::new();
        for chunk in keys.chunks(MAX_BATCH_GET_KEYS) {
            let mut pending: Vec<Item> = chunk.iter().map(to_item).collect::<Result<_, _>>()?;
            let mut attempt = 0;
            while !pending.is_empty() {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(pending.clone()))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StepError::permanent(e.to_string()))?;
                let call = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send();
                let output = self
                    .retry
                    .call(call)
                    .await
                    .map_err(|deadline| {
                        StepError::retryable(format!("BatchGetItem: {deadline}"))
                            .with_name("BatchGetItemDeadlineExceeded")
                    })?
                    .map_err(|e| {
                        call_error(e, is_retryable_request_code).into_step_error("BatchGetItem")
                    })?;
                if let Some(items) = output.responses.and_then(|mut r| r.remove(&self.table)) {
                    for item in items {
                        found.push(from_item(item)?);
                    }
                }
                pending = output
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                match self.retry.next(attempt, None) {
                    NextAttempt::After(wait) => tokio::time::sleep(wait).await,
                    _ => {
                        return Err(StepError::retryable(format!(
                            "BatchGetItem left {} key(s) unprocessed after {} attempt(s)",
                            pending.len(),
                            attempt + 1
                        ))
                        .with_name("BatchGetItemRetriesExhausted"));
                    }
                }
                attempt += 1;
            }
        }
        Ok(found)
    }

    /// Every item whose partition key `pk_attribute` is `pk_value`, following every page
    /// (`page_size` items per request when given).
    pub async fn query_partition<T: DeserializeOwned>(
        &self,
        pk_attribute: &str,
        pk_value: &str,
        page_size: Option<i32>,
    ) -> Result<Vec<T>, StepError> {
        let query = crate::store::Query {
            index: None,
            attribute: pk_attribute.to_string(),
            value: pk_value.to_string(),
            sk_prefix: None,
        };
        self.query_pages(&query, page_size)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }
}

fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StepError> {
    serde_dynamo::from_item(item).map_err(|e| {
        StepError::permanent(format!(
            "a stored item does not have the shape expected: {e}"
        ))
        .with_name("InvalidItem")
    })
}

fn non_empty<K, V>(
    map: std::collections::HashMap<K, V>,
) -> Option<std::collections::HashMap<K, V>> {
    (!map.is_empty()).then_some(map)
}
