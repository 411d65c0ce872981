//! An in-memory [`Store`] for tests: the same conditions as DynamoDB (put-if-absent,
//! write-only-if-newer), TTL (`expire_before`), a `data`-style index by any attribute, and
//! the table's change stream as a Lambda DynamoDB event, so a trigger can be fed what a
//! listener wrote.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_stream::StepError;
use lambda_stream::testing::Change;
use serde_json::{Map, Value};

use super::{Freshness, Key, Query, Store, key_of};
use crate::dynamodb::WriteOutcome;

/// A table in memory, with its change stream.
#[derive(Debug, Default)]
pub struct InMemoryStore {
    items: Mutex<BTreeMap<Key, Value>>,
    changes: Mutex<Vec<Change>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl InMemoryStore {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every item, in key order.
    pub fn items(&self) -> Vec<Value> {
        lock(&self.items).values().cloned().collect()
    }

    /// The changes since the last call, as the table's stream delivers them to a trigger.
    pub fn take_stream_event(&self) -> lambda_stream::RecordsEvent {
        let changes = std::mem::take(&mut *lock(&self.changes));
        lambda_stream::testing::dynamodb_event(&changes)
    }

    /// How many changes wait in the stream.
    pub fn pending_changes(&self) -> usize {
        lock(&self.changes).len()
    }

    /// Removes the items whose `ttl` (epoch seconds) is before `epoch_seconds`, as
    /// DynamoDB's TTL does: the removals are in the stream as made by the service.
    pub fn expire_before(&self, epoch_seconds: i64) -> usize {
        let mut items = lock(&self.items);
        let expired: Vec<Key> = items
            .iter()
            .filter(|(_, item)| {
                item.get("ttl")
                    .and_then(Value::as_i64)
                    .is_some_and(|ttl| ttl < epoch_seconds)
            })
            .map(|(key, _)| key.clone())
            .collect();
        let mut changes = lock(&self.changes);
        for key in &expired {
            if let Some(old) = items.remove(key) {
                changes.push(Change::remove(key.to_json(), old).by_ttl());
            }
        }
        expired.len()
    }

    fn write(&self, key: Key, item: Value) {
        let old = lock(&self.items).insert(key.clone(), item.clone());
        let change = match old {
            Some(old) => Change::modify(key.to_json(), item, old),
            None => Change::insert(key.to_json(), item),
        };
        lock(&self.changes).push(change);
    }
}

impl Store for InMemoryStore {
    fn put(&self, item: Value) -> BoxFuture<'_, Result<(), StepError>> {
        async move {
            let key = key_of(&item)?;
            self.write(key, item);
            Ok(())
        }
        .boxed()
    }

    fn put_if_absent(&self, item: Value) -> BoxFuture<'_, Result<WriteOutcome, StepError>> {
        async move {
            let key = key_of(&item)?;
            if lock(&self.items).contains_key(&key) {
                return Ok(WriteOutcome::Skipped);
            }
            self.write(key, item);
            Ok(WriteOutcome::Written)
        }
        .boxed()
    }

    fn update_if_newer(
        &self,
        key: Key,
        attributes: Value,
        timestamp: i64,
    ) -> BoxFuture<'_, Result<Freshness, StepError>> {
        async move {
            let current = lock(&self.items).get(&key).cloned();
            let held = current
                .as_ref()
                .and_then(|item| item.get("timestamp"))
                .and_then(Value::as_i64);
            match held {
                Some(held) if held == timestamp => return Ok(Freshness::Duplicate),
                Some(held) if held > timestamp => return Ok(Freshness::Stale),
                _ => {}
            }
            let mut item = match current {
                Some(Value::Object(map)) => map,
                _ => Map::new(),
            };
            if let Value::Object(attributes) = attributes {
                for (name, value) in attributes {
                    if value.is_null() {
                        item.remove(&name);
                    } else {
                        item.insert(name, value);
                    }
                }
            }
            item.insert("pk".into(), Value::String(key.pk.clone()));
            item.insert("sk".into(), Value::String(key.sk.clone()));
            item.insert("timestamp".into(), Value::from(timestamp));
            self.write(key, Value::Object(item));
            Ok(Freshness::Written)
        }
        .boxed()
    }

    fn get(&self, key: Key) -> BoxFuture<'_, Result<Option<Value>, StepError>> {
        async move { Ok(lock(&self.items).get(&key).cloned()) }.boxed()
    }

    fn query(&self, query: Query) -> BoxFuture<'_, Result<Vec<Value>, StepError>> {
        async move {
            let items = lock(&self.items);
            let mut found: Vec<Value> = items
                .values()
                .filter(|item| {
                    item.get(&query.attribute).and_then(Value::as_str) == Some(query.value.as_str())
                })
                .filter(|item| {
                    query.sk_prefix.as_deref().is_none_or(|prefix| {
                        item.get("sk")
                            .and_then(Value::as_str)
                            .is_some_and(|sk| sk.starts_with(prefix))
                    })
                })
                .cloned()
                .collect();
            found.sort_by(|a, b| {
                a.get("sk")
                    .and_then(Value::as_str)
                    .cmp(&b.get("sk").and_then(Value::as_str))
            });
            Ok(found)
        }
        .boxed()
    }

    fn delete(&self, key: Key) -> BoxFuture<'_, Result<(), StepError>> {
        async move {
            let old = lock(&self.items).remove(&key);
            if let Some(old) = old {
                lock(&self.changes).push(Change::remove(key.to_json(), old));
            }
            Ok(())
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn conditions_ttl_queries_and_the_stream_behave_like_the_table() {
        let store = InMemoryStore::new();
        let item = json!({"pk": "o1", "sk": "order", "discriminator": "order", "ttl": 10});
        assert_eq!(
            store.put_if_absent(item.clone()).await.expect("ok"),
            WriteOutcome::Written
        );
        assert_eq!(
            store.put_if_absent(item).await.expect("ok"),
            WriteOutcome::Skipped
        );
        let key = Key::new("v1", "view");
        let write = |ts| store.update_if_newer(key.clone(), json!({"status": ts}), ts);
        assert_eq!(write(5).await.expect("ok"), Freshness::Written);
        assert_eq!(write(5).await.expect("ok"), Freshness::Duplicate);
        assert_eq!(write(3).await.expect("ok"), Freshness::Stale);
        assert_eq!(write(7).await.expect("ok"), Freshness::Written);
        let view = store.get(key).await.expect("ok").expect("there");
        assert_eq!(view["status"], 7);
        store
            .put(json!({"pk": "e1", "sk": "EVENT", "data": "o1"}))
            .await
            .expect("ok");
        store
            .put(json!({"pk": "e2", "sk": "EVENT", "data": "o1"}))
            .await
            .expect("ok");
        let by_data = store
            .query(Query::index("DataIndex", "data", "o1"))
            .await
            .expect("ok");
        assert_eq!(by_data.len(), 2);
        let partition = store
            .query(Query::partition("o1").sk_prefix("ord"))
            .await
            .expect("ok");
        assert_eq!(partition.len(), 1);
        assert_eq!(store.pending_changes(), 5);
        let event = store.take_stream_event();
        assert_eq!(event.records().len(), 5);
        assert_eq!(store.expire_before(11), 1);
        let expired = store.take_stream_event();
        let record = expired.records().get(0).expect("one removal");
        assert_eq!(
            record.get_str(&["userIdentity", "principalId"]).as_deref(),
            Some("dynamodb.amazonaws.com")
        );
    }
}
