//! [`DynamoDbStore`] as a [`Store`](crate::store::Store): the single-table operations the BFF
//! and control building blocks use, on DynamoDB.

use aws_sdk_dynamodb::types::AttributeValue;
use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_stream::StepError;

use super::service::is_retryable_request_code;
use super::{
    DynamoDbStore, Item, UpdateExpression, WriteOutcome, from_item, newer_update, to_item,
};
use crate::retry::call_error;

impl crate::store::Store for DynamoDbStore {
    fn put(&self, item: serde_json::Value) -> BoxFuture<'_, Result<(), StepError>> {
        async move {
            crate::store::key_of(&item)?;
            DynamoDbStore::put(self, &item).await
        }
        .boxed()
    }

    fn put_if_absent(
        &self,
        item: serde_json::Value,
    ) -> BoxFuture<'_, Result<WriteOutcome, StepError>> {
        async move {
            crate::store::key_of(&item)?;
            let mut aliases = UpdateExpression::default();
            let pk = aliases.alias_name("pk");
            self.put_if(&item, &format!("attribute_not_exists({pk})"), &aliases)
                .await
        }
        .boxed()
    }

    fn update_if_newer(
        &self,
        key: crate::store::Key,
        attributes: serde_json::Value,
        timestamp: i64,
    ) -> BoxFuture<'_, Result<crate::store::Freshness, StepError>> {
        async move {
            let (key, update, condition) =
                newer_update(&key.to_json(), &attributes, "timestamp", timestamp)?;
            let result = self
                .update_request(key, &update, Some(condition))
                .return_values_on_condition_check_failure(
                    aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
            use aws_smithy_runtime_api::client::result::SdkError;
            match result {
                Ok(_) => Ok(crate::store::Freshness::Written),
                Err(SdkError::ServiceError(failure))
                    if matches!(
                        failure.err(),
                        UpdateItemError::ConditionalCheckFailedException(_)
                    ) =>
                {
                    // The item held this timestamp already (the same event) or a newer one.
                    let held = match failure.err() {
                        UpdateItemError::ConditionalCheckFailedException(e) => e
                            .item()
                            .and_then(|item| item.get("timestamp"))
                            .and_then(|ts| ts.as_n().ok())
                            .and_then(|n| n.parse::<i64>().ok()),
                        _ => None,
                    };
                    Ok(if held == Some(timestamp) {
                        crate::store::Freshness::Duplicate
                    } else {
                        crate::store::Freshness::Stale
                    })
                }
                Err(e) => {
                    Err(call_error(e, is_retryable_request_code).into_step_error("UpdateItem"))
                }
            }
        }
        .boxed()
    }

    fn get(
        &self,
        key: crate::store::Key,
    ) -> BoxFuture<'_, Result<Option<serde_json::Value>, StepError>> {
        async move { DynamoDbStore::get(self, &key.to_json()).await }.boxed()
    }

    fn query(
        &self,
        query: crate::store::Query,
    ) -> BoxFuture<'_, Result<Vec<serde_json::Value>, StepError>> {
        async move { self.query_items(&query).await }.boxed()
    }

    fn delete(&self, key: crate::store::Key) -> BoxFuture<'_, Result<(), StepError>> {
        async move {
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(to_item(&key.to_json())?))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| call_error(e, is_retryable_request_code).into_step_error("DeleteItem"))
        }
        .boxed()
    }
}

impl DynamoDbStore {
    /// The items `query` selects (the table or an index, a sort-key prefix), every page read.
    pub async fn query_items(
        &self,
        query: &crate::store::Query,
    ) -> Result<Vec<serde_json::Value>, StepError> {
        self.query_pages(query, None)
            .await?
            .into_iter()
            .map(from_item)
            .collect()
    }

    /// The raw items of every page of `query`, `page_size` per request when given.
    pub(super) async fn query_pages(
        &self,
        query: &crate::store::Query,
        page_size: Option<i32>,
    ) -> Result<Vec<Item>, StepError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        let condition = match query.sk_prefix {
            Some(_) => "#pk = :pk AND begins_with(#sk, :prefix)",
            None => "#pk = :pk",
        };
        loop {
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(query.index.clone())
                .key_condition_expression(condition)
                .expression_attribute_names("#pk", &query.attribute)
                .expression_attribute_values(":pk", AttributeValue::S(query.value.clone()))
                .set_limit(page_size)
                .set_exclusive_start_key(start.take())
                // Indexes cannot be read consistently; the table can.
                .consistent_read(query.index.is_none());
            if let Some(prefix) = &query.sk_prefix {
                request = request
                    .expression_attribute_names("#sk", "sk")
                    .expression_attribute_values(":prefix", AttributeValue::S(prefix.clone()));
            }
            let output = request
                .send()
                .await
                .map_err(|e| call_error(e, is_retryable_request_code).into_step_error("Query"))?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }
}
