//! An in-memory [`Store`] for tests and the local hub: the same conditions as DynamoDB
//! (put-if-absent, write-only-if-newer, and an idempotency [`ClaimStore`]'s), TTL
//! (`expire_before`), a `data`-style index by any attribute, and the table's change stream as
//! a Lambda DynamoDB event, so a trigger can be fed what a listener wrote. Each change carries
//! the time it was made (`ApproximateCreationDateTime`, which change data capture makes the
//! event's timestamp), from the system clock or one the test sets
//! ([`InMemoryStore::with_clock`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_stream::StepError;
use lambda_stream::testing::Change;
use serde_json::{Map, Value};

use super::{Freshness, Key, Query, Store, key_of};
use crate::dynamodb::{ClaimStore, WriteOutcome};

/// The time a change is made, in epoch milliseconds.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// A table in memory, with its change stream.
#[derive(Default)]
pub struct InMemoryStore {
    items: Mutex<BTreeMap<Key, Value>>,
    changes: Mutex<Vec<Change>>,
    /// Per attribute queried so far: value → the keys of the items holding it, kept up to
    /// date by every write, so a query (an index, as DynamoDB's) does not scan the table.
    indexes: Mutex<BTreeMap<String, BTreeMap<String, BTreeSet<Key>>>>,
    /// When changes happen; the system clock when not set.
    clock: Option<Clock>,
}

impl std::fmt::Debug for InMemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryStore")
            .field("items", &lock(&self.items).len())
            .field("pending_changes", &lock(&self.changes).len())
            .finish_non_exhaustive()
    }
}

/// The attribute's value as an index holds it (strings only, as the tables' indexes).
fn indexed<'a>(item: &'a Value, attribute: &str) -> Option<&'a str> {
    item.get(attribute).and_then(Value::as_str)
}

/// `current` (if an object) with every attribute of `attributes` set (nulls removed), as an
/// update expression sets them, and `key`'s attributes.
fn merged(current: Option<Value>, key: &Key, attributes: Value) -> Map<String, Value> {
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
    item
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl InMemoryStore {
    /// An empty table whose changes carry the system clock's time.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty table whose changes carry `clock`'s time (epoch milliseconds), so a test
    /// decides when each change happened.
    pub fn with_clock(clock: Clock) -> Self {
        Self {
            clock: Some(clock),
            ..Self::default()
        }
    }

    /// The change, stamped with the time it is made.
    fn stamped(&self, change: Change) -> Change {
        let millis = match &self.clock {
            Some(clock) => clock(),
            None => lambda_stream::envelope::now_millis(),
        };
        #[allow(clippy::cast_precision_loss)]
        change.at(millis as f64 / 1000.0)
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
        self.expire_by_before("ttl", epoch_seconds)
    }

    /// [`expire_before`](Self::expire_before) for a table whose TTL attribute is `attribute`.
    pub fn expire_by_before(&self, attribute: &str, epoch_seconds: i64) -> usize {
        let mut items = lock(&self.items);
        let expired: Vec<Key> = items
            .iter()
            .filter(|(_, item)| {
                item.get(attribute)
                    .and_then(Value::as_i64)
                    .is_some_and(|ttl| ttl < epoch_seconds)
            })
            .map(|(key, _)| key.clone())
            .collect();
        let mut changes = lock(&self.changes);
        for key in &expired {
            if let Some(old) = items.remove(key) {
                self.reindex(key, Some(&old), None);
                changes.push(self.stamped(Change::remove(key.to_json(), old).by_ttl()));
            }
        }
        expired.len()
    }

    /// Moves `key` in every index from what `old` held to what `new` holds.
    fn reindex(&self, key: &Key, old: Option<&Value>, new: Option<&Value>) {
        let mut indexes = lock(&self.indexes);
        for (attribute, index) in indexes.iter_mut() {
            let before = old.and_then(|item| indexed(item, attribute));
            let after = new.and_then(|item| indexed(item, attribute));
            if before == after {
                continue;
            }
            if let Some(value) = before
                && let Some(keys) = index.get_mut(value)
            {
                keys.remove(key);
                if keys.is_empty() {
                    index.remove(value);
                }
            }
            if let Some(value) = after {
                index
                    .entry(value.to_string())
                    .or_default()
                    .insert(key.clone());
            }
        }
    }

    fn write(&self, key: Key, item: Value) {
        let old = {
            let mut items = lock(&self.items);
            let old = items.insert(key.clone(), item.clone());
            self.reindex(&key, old.as_ref(), Some(&item));
            old
        };
        let change = match old {
            Some(old) => Change::modify(key.to_json(), item, old),
            None => Change::insert(key.to_json(), item),
        };
        let change = self.stamped(change);
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
            let mut item = merged(current, &key, attributes);
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
            let mut indexes = lock(&self.indexes);
            let index = indexes.entry(query.attribute.clone()).or_insert_with(|| {
                let mut index: BTreeMap<String, BTreeSet<Key>> = BTreeMap::new();
                for (key, item) in items.iter() {
                    if let Some(value) = indexed(item, &query.attribute) {
                        index
                            .entry(value.to_string())
                            .or_default()
                            .insert(key.clone());
                    }
                }
                index
            });
            let keys = index.get(&query.value).cloned().unwrap_or_default();
            drop(indexes);
            let mut found: Vec<Value> = keys
                .iter()
                .filter_map(|key| items.get(key))
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
            let old = {
                let mut items = lock(&self.items);
                let old = items.remove(&key);
                self.reindex(&key, old.as_ref(), None);
                old
            };
            if let Some(old) = old {
                let change = self.stamped(Change::remove(key.to_json(), old));
                lock(&self.changes).push(change);
            }
            Ok(())
        }
        .boxed()
    }
}

impl ClaimStore for InMemoryStore {
    fn claim(&self, record: Value, now: i64) -> BoxFuture<'_, Result<WriteOutcome, StepError>> {
        async move {
            let key = key_of(&record)?;
            // As the DynamoDB condition `attribute_not_exists(pk) OR expiresAt < now`.
            let standing = lock(&self.items).get(&key).is_some_and(|item| {
                item.get("expiresAt")
                    .and_then(Value::as_i64)
                    .is_none_or(|expires| expires >= now)
            });
            if standing {
                return Ok(WriteOutcome::Skipped);
            }
            self.write(key, record);
            Ok(WriteOutcome::Written)
        }
        .boxed()
    }

    fn record(&self, key: Key) -> BoxFuture<'_, Result<Option<Value>, StepError>> {
        self.get(key)
    }

    fn release(&self, key: Key, token: String) -> BoxFuture<'_, Result<WriteOutcome, StepError>> {
        async move {
            let ours = lock(&self.items)
                .get(&key)
                .and_then(|item| item.get("claim"))
                .and_then(Value::as_str)
                == Some(token.as_str());
            if !ours {
                return Ok(WriteOutcome::Skipped);
            }
            self.delete(key).await?;
            Ok(WriteOutcome::Written)
        }
        .boxed()
    }

    fn set(&self, key: Key, attributes: Value) -> BoxFuture<'_, Result<(), StepError>> {
        async move {
            let current = lock(&self.items).get(&key).cloned();
            let item = merged(current, &key, attributes);
            self.write(key, Value::Object(item));
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
    async fn each_change_carries_the_time_it_was_made() {
        use lambda_stream::Source;
        use std::sync::atomic::{AtomicI64, Ordering};
        let now = Arc::new(AtomicI64::new(1_700_000_000_000));
        let clock = Arc::clone(&now);
        let store = InMemoryStore::with_clock(Arc::new(move || clock.load(Ordering::SeqCst)));
        let item = json!({"pk": "o1", "sk": "order", "discriminator": "order", "timestamp": 1});
        store.put(item.clone()).await.expect("put");
        now.store(1_700_000_042_000, Ordering::SeqCst);
        store.delete(Key::new("o1", "order")).await.expect("delete");
        let event = store.take_stream_event();
        let source = lambda_stream::DynamoDbSource::default();
        let times: Vec<i64> = event
            .records()
            .iter()
            .map(|r| source.envelope(r).expect("an event").timestamp())
            .collect();
        assert_eq!(
            times,
            [1_700_000_000_000, 1_700_000_042_000],
            "not the item's own"
        );
    }

    #[tokio::test]
    async fn a_query_follows_every_write_update_delete_and_expiry() {
        let store = InMemoryStore::new();
        let query = |value: &str| Query {
            index: None,
            attribute: "data".into(),
            value: value.into(),
            sk_prefix: None,
        };
        let keys = |items: Vec<Value>| -> Vec<String> {
            items
                .iter()
                .map(|i| i["pk"].as_str().unwrap_or_default().to_string())
                .collect()
        };
        store
            .put(json!({"pk": "e1", "sk": "EVENT", "data": "o1"}))
            .await
            .expect("ok");
        // Indexed from the first query on.
        assert_eq!(keys(store.query(query("o1")).await.expect("ok")), ["e1"]);
        store
            .put(json!({"pk": "e2", "sk": "EVENT", "data": "o1", "ttl": 5}))
            .await
            .expect("ok");
        store
            .put(json!({"pk": "e1", "sk": "EVENT", "data": "o2"}))
            .await
            .expect("ok");
        assert_eq!(keys(store.query(query("o1")).await.expect("ok")), ["e2"]);
        assert_eq!(keys(store.query(query("o2")).await.expect("ok")), ["e1"]);
        store.expire_before(6);
        assert!(store.query(query("o1")).await.expect("ok").is_empty());
        store.delete(Key::new("e1", "EVENT")).await.expect("ok");
        assert!(store.query(query("o2")).await.expect("ok").is_empty());
        store
            .update_if_newer(Key::new("e3", "EVENT"), json!({"data": "o2"}), 1)
            .await
            .expect("ok");
        assert_eq!(keys(store.query(query("o2")).await.expect("ok")), ["e3"]);
    }

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

    #[tokio::test]
    async fn claims_hold_until_they_expire_and_only_their_own_token_releases_them() {
        let store = InMemoryStore::new();
        let key = Key::new("idempotency#p", "e1");
        let claim = |token: &str, expires: i64| json!({"pk": "idempotency#p", "sk": "e1", "claim": token, "expiresAt": expires});
        assert_eq!(
            store.claim(claim("a", 100), 50).await.expect("ok"),
            WriteOutcome::Written
        );
        // Standing until its `expiresAt` has passed (100 is still standing at 100).
        assert_eq!(
            store.claim(claim("b", 200), 100).await.expect("ok"),
            WriteOutcome::Skipped
        );
        assert_eq!(
            store.claim(claim("b", 200), 101).await.expect("ok"),
            WriteOutcome::Written
        );
        // a's release leaves b's claim alone; b's removes it.
        let release = |token: &str| store.release(key.clone(), token.to_string());
        assert_eq!(release("a").await.expect("ok"), WriteOutcome::Skipped);
        assert_eq!(release("b").await.expect("ok"), WriteOutcome::Written);
        assert_eq!(release("b").await.expect("ok"), WriteOutcome::Skipped);
        assert!(store.record(key.clone()).await.expect("ok").is_none());
        // `set` creates or completes the record; one with no `expiresAt` always stands.
        store
            .set(key.clone(), json!({"status": "completed", "claim": null}))
            .await
            .expect("ok");
        let record = store.record(key.clone()).await.expect("ok").expect("set");
        assert_eq!(
            record,
            json!({"pk": "idempotency#p", "sk": "e1", "status": "completed"})
        );
        assert_eq!(
            store.claim(claim("c", 300), i64::MAX).await.expect("ok"),
            WriteOutcome::Skipped
        );
        // TTL on the table's own attribute (the idempotency table's is `expiresAt`).
        store
            .set(key.clone(), json!({"expiresAt": 400}))
            .await
            .expect("ok");
        assert_eq!(store.expire_before(1_000), 0, "not a `ttl`");
        assert_eq!(store.expire_by_before("expiresAt", 400), 0, "not yet");
        assert_eq!(store.expire_by_before("expiresAt", 401), 1);
        assert!(store.record(key).await.expect("ok").is_none());
    }
}
