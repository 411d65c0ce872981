//! One single-table store behind a trait: [`DynamoDbStore`](crate::DynamoDbStore) in
//! production, [`InMemoryStore`](memory::InMemoryStore) in tests (feature `testing`), so the
//! BFF and control building blocks ([`crate::view`], [`crate::event_store`]) and the
//! functions that use them are tested without AWS and against `moto_server` alike.
//!
//! Items are JSON objects keyed by `pk` and `sk` (strings), with the single-table attributes
//! of the Node library: `discriminator`, `timestamp` (epoch ms), `ttl` (epoch s), `latched`,
//! `deleted`.

#[cfg(feature = "testing")]
pub mod memory;

use futures::future::BoxFuture;
use lambda_stream::StepError;
use serde_json::Value;

use crate::dynamodb::WriteOutcome;

/// An item's key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// The partition key.
    pub pk: String,
    /// The sort key.
    pub sk: String,
}

impl Key {
    /// The key `pk`, `sk`.
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }

    /// The key as a JSON object (`{"pk": ..., "sk": ...}`).
    pub fn to_json(&self) -> Value {
        serde_json::json!({"pk": self.pk, "sk": self.sk})
    }

    /// The key of a JSON item, if it has string `pk` and `sk`.
    pub fn of(item: &Value) -> Option<Self> {
        Some(Self::new(
            item.get("pk")?.as_str()?,
            item.get("sk")?.as_str()?,
        ))
    }
}

/// What a write guarded by the item's `timestamp` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Freshness {
    /// Written: there was nothing, or something older.
    Written,
    /// Not written: the item holds something newer.
    Stale,
    /// Not written: the item holds this very timestamp already (the same event again).
    Duplicate,
}

/// Which items a query reads: those whose `attribute` is `value` (the table's `pk`, or an
/// index's partition key), optionally only the sort keys starting with `sk_prefix`, in
/// sort-key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The index to read, or the table itself.
    pub index: Option<String>,
    /// The partition key attribute (`pk` for the table).
    pub attribute: String,
    /// Its value.
    pub value: String,
    /// Only sort keys that start with this.
    pub sk_prefix: Option<String>,
}

impl Query {
    /// The items of partition `pk`.
    pub fn partition(pk: impl Into<String>) -> Self {
        Self {
            index: None,
            attribute: "pk".into(),
            value: pk.into(),
            sk_prefix: None,
        }
    }

    /// The items whose `attribute` is `value` in `index` (a global secondary index whose
    /// partition key is `attribute` and sort key `sk`).
    pub fn index(
        index: impl Into<String>,
        attribute: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        Self {
            index: Some(index.into()),
            attribute: attribute.into(),
            value: value.into(),
            sk_prefix: None,
        }
    }

    /// Only the items whose sort key starts with `prefix`.
    #[must_use]
    pub fn sk_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.sk_prefix = Some(prefix.into());
        self
    }
}

/// A single-table store of JSON items.
pub trait Store: Send + Sync + 'static {
    /// Writes `item` (an object with `pk` and `sk`), replacing any item at its key.
    fn put(&self, item: Value) -> BoxFuture<'_, Result<(), StepError>>;

    /// Writes `item` only if no item is at its key.
    fn put_if_absent(&self, item: Value) -> BoxFuture<'_, Result<WriteOutcome, StepError>>;

    /// Sets `attributes` (and `timestamp`) on the item at `key`, creating it, unless it holds
    /// a `timestamp` as new or newer.
    fn update_if_newer(
        &self,
        key: Key,
        attributes: Value,
        timestamp: i64,
    ) -> BoxFuture<'_, Result<Freshness, StepError>>;

    /// The item at `key`, if any.
    fn get(&self, key: Key) -> BoxFuture<'_, Result<Option<Value>, StepError>>;

    /// The items `query` selects, in sort-key order, every page read.
    fn query(&self, query: Query) -> BoxFuture<'_, Result<Vec<Value>, StepError>>;

    /// Deletes the item at `key`, if any.
    fn delete(&self, key: Key) -> BoxFuture<'_, Result<(), StepError>>;
}

/// Checks that `item` is an object with string `pk` and `sk`.
pub(crate) fn key_of(item: &Value) -> Result<Key, StepError> {
    Key::of(item).ok_or_else(|| {
        StepError::permanent("an item needs string `pk` and `sk` attributes")
            .with_name("InvalidItem")
    })
}
