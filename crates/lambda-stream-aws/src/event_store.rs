//! The micro event store of a control service (the Node library's `collect`, `correlate`,
//! `evaluate` and `expired`): the listener collects the events that matter, keyed by what
//! correlates them (an order id); the trigger, fed by the store table's stream, evaluates the
//! correlated events at each new one and publishes the higher-order events that follow.
//!
//! | Node library | Rust |
//! |---|---|
//! | `collect` | [`EventStoreSteps::collect`]: `pk` = event id, `sk` = `EVENT`, `discriminator` = `EVENT`, `data` = correlation key, `timestamp`, `ttl`, `expire`, `event` |
//! | `correlate` | [`EventStoreSteps::correlate`]: `pk` = key, `sk` = event id, `discriminator` = `CORREL` |
//! | the correlation query | [`EventStore::correlated`]: the `data` index and the `CORREL` rows of a key, by time |
//! | `evaluate` | [`EventStoreSteps::evaluate`] then [`EventStore::publish_once`] |
//! | `expired` | the DynamoDB source: a collected event flagged `expire` removed by TTL becomes `<type>-expired` |
//!
//! **Exactly once per id.** A higher-order event's id is deterministic: `<trigger id>.<rule>`
//! by default, or `<key>.<rule>` for a rule that should fire once per key whichever event
//! completes it. Before publishing, the ids already recorded as emitted (an `EMITTED` row) are
//! dropped as duplicates, and so are repeats within the run; after publishing, the id is
//! recorded. Only a crash between the bus accepting an event and the record being written can
//! publish an id again, with the same id for consumers to drop.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use lambda_stream::source::{COLLECTED, CORRELATED};
use lambda_stream::{
    Delivered, Envelope, Pipeline, PublishEntry, Publisher, Settled, StepError, Uow,
};
use serde_json::{Value, json};

use crate::dynamodb::WriteOutcome;
use crate::store::{Key, Query, Store};

pub use lambda_stream::source::EMITTED;

/// The index whose partition key is `data` (the correlation key) and sort key `sk`.
pub const DATA_INDEX: &str = "DataIndex";

/// A micro event store in a table.
#[derive(Clone)]
pub struct EventStore {
    store: Arc<dyn Store>,
    ttl_days: u32,
    concurrency: usize,
}

impl std::fmt::Debug for EventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStore")
            .field("ttl_days", &self.ttl_days)
            .finish_non_exhaustive()
    }
}

/// A higher-order event a rule emits.
#[derive(Debug, Clone)]
pub struct Emit {
    rule: String,
    key: Option<String>,
    event: Envelope,
}

impl Emit {
    /// `event` (its id is replaced), emitted by `rule` once per triggering event.
    pub fn new(rule: impl Into<String>, event: Envelope) -> Self {
        Self {
            rule: rule.into(),
            key: None,
            event,
        }
    }

    /// Emitted once per `key` (an order id, say) whichever event completes the rule: the id
    /// is `<key>.<rule>`.
    #[must_use]
    pub fn once_per(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
}

impl EventStore {
    /// An event store in `store`; rows expire after `ttl_days`.
    pub fn new(store: Arc<dyn Store>, ttl_days: u32) -> Self {
        Self {
            store,
            ttl_days,
            concurrency: 8,
        }
    }

    fn ttl(&self, timestamp: i64) -> i64 {
        timestamp / 1000 + i64::from(self.ttl_days) * 86_400
    }

    fn event_json(event: &Envelope) -> Result<Value, StepError> {
        serde_json::from_str(&event.to_json()).map_err(StepError::from)
    }

    /// The row `collect` writes for `event` under `key`; with `expire_after`, the row
    /// expires then and the event becomes `<type>-expired`.
    fn collected_row(
        &self,
        event: &Envelope,
        key: &str,
        expire_after: Option<Duration>,
    ) -> Result<Value, StepError> {
        let ttl = match expire_after {
            Some(after) => {
                event.timestamp() / 1000 + i64::try_from(after.as_secs()).unwrap_or(i64::MAX / 4)
            }
            None => self.ttl(event.timestamp()),
        };
        Ok(json!({
            "pk": event.id(),
            "sk": COLLECTED,
            "discriminator": COLLECTED,
            "data": key,
            "timestamp": event.timestamp(),
            "ttl": ttl,
            "expire": expire_after.is_some(),
            "event": Self::event_json(event)?,
        }))
    }

    /// The events correlated by `key` (collected under it, or correlated to it), oldest
    /// first, each once.
    pub async fn correlated(&self, key: &str) -> Result<Vec<Envelope>, StepError> {
        let mut rows = self
            .store
            .query(Query::index(DATA_INDEX, "data", key).sk_prefix(COLLECTED))
            .await?;
        rows.extend(
            self.store
                .query(Query::partition(key))
                .await?
                .into_iter()
                .filter(|row| row.get("discriminator").and_then(Value::as_str) == Some(CORRELATED)),
        );
        let mut seen = HashSet::new();
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            let Some(event) = row.get("event") else {
                continue;
            };
            let event = Envelope::parse(event.to_string())?;
            if seen.insert(event.id().to_string()) {
                events.push(event);
            }
        }
        events.sort_by(|a, b| {
            a.timestamp()
                .cmp(&b.timestamp())
                .then_with(|| a.id().cmp(b.id()))
        });
        Ok(events)
    }

    /// True when the higher-order event `id` was published already.
    pub async fn was_emitted(&self, id: &str) -> Result<bool, StepError> {
        Ok(self.store.get(Key::new(id, EMITTED)).await?.is_some())
    }

    /// Publishes the higher-order events of a pipeline ending in
    /// [`evaluate`](EventStoreSteps::evaluate) through the normal `publish` step, then
    /// records each id as emitted.
    pub fn publish_once(
        &self,
        pipeline: Pipeline<Envelope>,
        publisher: Arc<dyn Publisher>,
        concurrency: usize,
    ) -> Pipeline<Delivered> {
        let events = self.clone();
        pipeline.publish_returning(publisher, concurrency).then(
            self.concurrency,
            move |uow: Uow<PublishEntry>| {
                let events = events.clone();
                async move {
                    let id = uow.value.id().unwrap_or_default().to_string();
                    let row = json!({
                        "pk": id,
                        "sk": EMITTED,
                        "discriminator": EMITTED,
                        "ttl": events.ttl(uow.event.timestamp()),
                    });
                    events.store.put(row).await?;
                    Ok(Delivered)
                }
            },
        )
    }
}

/// The event store's steps, on any pipeline.
pub trait EventStoreSteps<T> {
    /// Collects each unit's event under the correlation key `key` gives (written once per
    /// event id: the same event again is a *duplicate*). When `expire` gives a time for an
    /// event, its row expires that long after the event and DynamoDB's TTL turns it into
    /// `<type>-expired` (a deadline, say, for a payment that never comes); other rows live the
    /// store's TTL days.
    fn collect<K, E>(self, events: &EventStore, key: K, expire: E) -> Pipeline<Delivered>
    where
        K: Fn(&Uow<T>) -> Result<String, StepError> + Send + Sync + 'static,
        E: Fn(&Envelope) -> Option<Duration> + Send + Sync + 'static;

    /// Correlates each unit's event to more keys (a `CORREL` row per key).
    /// ```
    /// use std::sync::Arc;
    ///
    /// use lambda_stream::{Envelope, Pipeline, testing};
    /// use lambda_stream_aws::event_store::{EventStore, EventStoreSteps};
    /// use lambda_stream_aws::store::memory::InMemoryStore;
    /// use serde_json::json;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let events = EventStore::new(Arc::new(InMemoryStore::new()), 30);
    /// // A delivery concerns its order and its driver: rules about either key see it.
    /// let by_order_and_driver = Pipeline::new("correlate").correlate(&events, |uow| {
    ///     let delivery: serde_json::Value = uow.event.entity()?;
    ///     let id = |name: &str| delivery[name].as_str().unwrap_or_default().to_string();
    ///     Ok(vec![format!("order#{}", id("orderId")), format!("driver#{}", id("driverId"))])
    /// });
    /// let picked_up = Envelope::builder("delivery-picked-up")
    ///     .entity("delivery", &json!({ "orderId": "o1", "driverId": "d7" }))
    ///     .build()?;
    /// testing::run_pipeline(by_order_and_driver, &[picked_up]).await;
    ///
    /// let drivers = events.correlated("driver#d7").await?;
    /// assert_eq!(drivers[0].event_type(), "delivery-picked-up");
    /// # Ok(())
    /// # }
    /// ```
    fn correlate<K>(self, events: &EventStore, keys: K) -> Pipeline<Delivered>
    where
        K: Fn(&Uow<T>) -> Result<Vec<String>, StepError> + Send + Sync + 'static;

    /// For each unit, reads the events correlated by `key` and asks `rules` which
    /// higher-order events follow; each becomes a unit of its own with a deterministic id
    /// and `triggers: [the triggering event]`. Ids already emitted, or repeated in this run,
    /// end as *duplicates*. Publish them with [`EventStore::publish_once`].
    fn evaluate<K, R>(self, events: &EventStore, key: K, rules: R) -> Pipeline<Envelope>
    where
        K: Fn(&Uow<T>) -> Result<String, StepError> + Send + Sync + 'static,
        R: Fn(&Envelope, &[Envelope]) -> Vec<Emit> + Send + Sync + 'static;
}

impl<T: Send + 'static> EventStoreSteps<T> for Pipeline<T> {
    fn collect<K, E>(self, events: &EventStore, key: K, expire: E) -> Pipeline<Delivered>
    where
        K: Fn(&Uow<T>) -> Result<String, StepError> + Send + Sync + 'static,
        E: Fn(&Envelope) -> Option<Duration> + Send + Sync + 'static,
    {
        let store = events.clone();
        self.map(move |uow| store.collected_row(&uow.event, &key(uow)?, expire(&uow.event)))
            .then(events.concurrency, {
                let store = events.clone();
                move |uow: Uow<Value>| {
                    let store = store.clone();
                    async move { store.store.put_if_absent(uow.value).await }
                }
            })
            .step(|flow| {
                flow.map(|item| {
                    let uow = item?;
                    match uow.value {
                        WriteOutcome::Written => Ok(uow.with_value(Delivered)),
                        _ => Err(Settled::duplicate(uow)),
                    }
                })
                .boxed()
            })
    }

    fn correlate<K>(self, events: &EventStore, keys: K) -> Pipeline<Delivered>
    where
        K: Fn(&Uow<T>) -> Result<Vec<String>, StepError> + Send + Sync + 'static,
    {
        let store = events.clone();
        self.map(keys)
            .then(events.concurrency, move |uow: Uow<Vec<String>>| {
                let store = store.clone();
                async move {
                    let event = EventStore::event_json(&uow.event)?;
                    for key in &uow.value {
                        store
                            .store
                            .put(json!({
                                "pk": key,
                                "sk": uow.event.id(),
                                "discriminator": CORRELATED,
                                "timestamp": uow.event.timestamp(),
                                "ttl": store.ttl(uow.event.timestamp()),
                                "event": event,
                            }))
                            .await?;
                    }
                    Ok(Delivered)
                }
            })
    }

    fn evaluate<K, R>(self, events: &EventStore, key: K, rules: R) -> Pipeline<Envelope>
    where
        K: Fn(&Uow<T>) -> Result<String, StepError> + Send + Sync + 'static,
        R: Fn(&Envelope, &[Envelope]) -> Vec<Emit> + Send + Sync + 'static,
    {
        let store = events.clone();
        let rules = Arc::new(rules);
        self.map(key)
            .then_ordered(events.concurrency, move |uow: Uow<String>| {
                let store = store.clone();
                let rules = Arc::clone(&rules);
                async move {
                    let correlated = store.correlated(&uow.value).await?;
                    let mut emitted = Vec::new();
                    for emit in rules(&uow.event, &correlated) {
                        let id = match &emit.key {
                            Some(key) => format!("{key}.{}", emit.rule),
                            None => format!("{}.{}", uow.event.id(), emit.rule),
                        };
                        let mut event = emit.event;
                        event.set_id(id);
                        event.set_field("triggers", &[EventStore::event_json(&uow.event)?])?;
                        emitted.push(event);
                    }
                    Ok::<_, StepError>(emitted)
                }
            })
            .split(|uow| Ok::<_, StepError>(uow.value.clone()))
            .step({
                let store = events.clone();
                move |flow| {
                    // Ids already published, or met before in this run, are not published again.
                    let seen = Arc::new(Mutex::new(HashSet::new()));
                    let store = store.clone();
                    flow.then(move |item| {
                        let seen = Arc::clone(&seen);
                        let store = store.clone();
                        async move {
                            let uow = item?;
                            let id = uow.value.id().to_string();
                            let fresh = seen
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .insert(id.clone());
                            match store.was_emitted(&id).await {
                                Ok(false) if fresh => Ok(uow),
                                Ok(_) => Err(Settled::duplicate(uow)),
                                Err(error) => Err(Settled::fail(uow, error)),
                            }
                        }
                    })
                    .boxed()
                }
            })
    }
}
