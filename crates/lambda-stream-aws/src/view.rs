//! Materialized views, the BFF listener's job (the Node library's `materialize`): each event
//! becomes a write of one item, per key in order, only if it is newer than what the item
//! holds, so events that arrive late or twice change nothing.
//!
//! | Node library | Rust |
//! |---|---|
//! | `materialize` with `toUpdateRequest` | [`MaterializeStep::materialize`] with a function to a [`View`] |
//! | `updateExpression` + `timestampCondition` | [`Store::update_if_newer`] |
//! | `latched: true` on view writes | set on every write |
//!
//! Every write sets the single-table attributes: `discriminator`, `timestamp` (the event's),
//! `latched: true` (so the table's trigger does not turn the view back into events), `ttl`
//! (the event's time plus the configured days, when configured) and `deleted` (a soft
//! delete). A write older than the item is counted *stale*, one with the item's own
//! timestamp a *duplicate*; neither is a delivery.

use std::sync::Arc;

use futures::StreamExt;
use lambda_stream::{Delivered, Pipeline, Settled, StepError, Uow};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::store::{Freshness, Key, Store};

/// One item of a view, as an event writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    key: Key,
    discriminator: String,
    attributes: Map<String, Value>,
    deleted: bool,
}

impl View {
    /// The item at `key` of kind `discriminator`, with `attributes` (an object).
    pub fn new<T: Serialize + ?Sized>(
        key: Key,
        discriminator: impl Into<String>,
        attributes: &T,
    ) -> Result<Self, StepError> {
        let attributes = match serde_json::to_value(attributes)? {
            Value::Object(map) => map,
            _ => {
                return Err(
                    StepError::permanent("a view's attributes must be an object")
                        .with_name("InvalidView"),
                );
            }
        };
        Ok(Self {
            key,
            discriminator: discriminator.into(),
            attributes,
            deleted: false,
        })
    }

    /// Marks the item deleted (a soft delete: the item stays, with `deleted: true`).
    #[must_use]
    pub fn deleted(mut self) -> Self {
        self.deleted = true;
        self
    }

    /// The item's key.
    pub fn key(&self) -> &Key {
        &self.key
    }
}

/// Where and how views are written.
#[derive(Clone)]
pub struct Views {
    store: Arc<dyn Store>,
    ttl_days: Option<u32>,
    concurrency: usize,
}

impl std::fmt::Debug for Views {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Views")
            .field("ttl_days", &self.ttl_days)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl Views {
    /// Views in `store`, without TTL, 8 keys written at a time.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            ttl_days: None,
            concurrency: 8,
        }
    }

    /// Items expire `days` after their event (DynamoDB's TTL on `ttl`).
    #[must_use]
    pub fn ttl_days(mut self, days: u32) -> Self {
        self.ttl_days = Some(days);
        self
    }

    /// How many keys are written at a time.
    #[must_use]
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// The attributes written for `view` by an event of `timestamp`.
    fn attributes(&self, view: View, timestamp: i64) -> Value {
        let mut attributes = view.attributes;
        attributes.insert("discriminator".into(), Value::String(view.discriminator));
        attributes.insert("latched".into(), Value::Bool(true));
        attributes.insert("deleted".into(), Value::Bool(view.deleted));
        if let Some(days) = self.ttl_days {
            let ttl = timestamp / 1000 + i64::from(days) * 86_400;
            attributes.insert("ttl".into(), Value::from(ttl));
        }
        Value::Object(attributes)
    }
}

/// The `materialize` step, on any pipeline.
pub trait MaterializeStep<T> {
    /// Writes the [`View`] `to_view` makes of each unit, per partition key in order, only if
    /// the event is newer than the item. Units end *delivered* (written), *stale* or
    /// *duplicate*.
    /// ```
    /// use std::sync::Arc;
    ///
    /// use lambda_stream::{Envelope, Pipeline, RecordState, testing};
    /// use lambda_stream_aws::store::memory::InMemoryStore;
    /// use lambda_stream_aws::store::Key;
    /// use lambda_stream_aws::view::{MaterializeStep, View, Views};
    /// use serde_json::json;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let table = Arc::new(InMemoryStore::new());
    /// let views = Views::new(table.clone());
    /// let menus = Pipeline::new("menus").materialize(&views, |uow| {
    ///     let key = Key::new(uow.partition_key(), "menu");
    ///     match uow.event.event_type() {
    ///         // A soft delete: the item stays, with `deleted: true`, for the trigger to see.
    ///         "restaurant-closed" => View::new(key, "menu", &json!({})).map(View::deleted),
    ///         _ => View::new(key, "menu", &json!({ "items": ["soup"] })),
    ///     }
    /// });
    /// let event = |event_type: &str, at: i64| Envelope::builder(event_type).partition_key("r1").timestamp(at).build();
    /// let events = [event("menu-updated", 1_000)?, event("restaurant-closed", 2_000)?, event("menu-updated", 1_500)?];
    /// let report = testing::run_pipeline(menus, &events).await;
    ///
    /// let states: Vec<_> = report.records.iter().map(|r| r.pipelines[0]).collect();
    /// assert_eq!(states, [RecordState::Delivered, RecordState::Delivered, RecordState::Stale]);
    /// let item = &table.items()[0];
    /// assert_eq!((item["deleted"].clone(), item["latched"].clone()), (json!(true), json!(true)));
    /// # Ok(())
    /// # }
    /// ```
    fn materialize<F>(self, views: &Views, to_view: F) -> Pipeline<Delivered>
    where
        F: Fn(&Uow<T>) -> Result<View, StepError> + Send + Sync + 'static;
}

impl<T: Send + 'static> MaterializeStep<T> for Pipeline<T> {
    fn materialize<F>(self, views: &Views, to_view: F) -> Pipeline<Delivered>
    where
        F: Fn(&Uow<T>) -> Result<View, StepError> + Send + Sync + 'static,
    {
        let writer = views.clone();
        self.map(to_view)
            .then_ordered(views.concurrency, move |uow: Uow<View>| {
                let writer = writer.clone();
                async move {
                    let timestamp = uow.event.timestamp();
                    let (_, view) = uow.replace(());
                    let key = view.key.clone();
                    let attributes = writer.attributes(view, timestamp);
                    writer
                        .store
                        .update_if_newer(key, attributes, timestamp)
                        .await
                }
            })
            .step(|flow| {
                flow.map(|item| {
                    let uow = item?;
                    match uow.value {
                        Freshness::Written => Ok(uow.with_value(Delivered)),
                        Freshness::Stale => Err(Settled::stale(uow)),
                        _ => Err(Settled::duplicate(uow)),
                    }
                })
                .boxed()
            })
    }
}
