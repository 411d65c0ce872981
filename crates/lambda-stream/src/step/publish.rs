//! `publish` and `send`: the last step of most pipelines.
//!
//! `publish` serializes each event once, adds the standard tags, and hands the entries to
//! `send`, which groups them to the publisher's limits and settles each unit by its own
//! entry's result, so one rejected entry fails only its unit.

use std::sync::{Arc, OnceLock};

use futures::StreamExt;

use crate::compression::Compression;
use crate::envelope::{Envelope, standard_tags_json};
use crate::error::StepError;
use crate::pipeline::{Delivered, Pipeline, Settled, guarded, map_units};
use crate::publisher::{PublishEntry, Publisher, publish_batch};
use crate::uow::Uow;

impl Pipeline<Envelope> {
    /// Publishes each unit's event: adds the standard tags (the event's own tags win),
    /// serializes it once, then [`send`](Pipeline::send)s the entries. Each unit ends by its
    /// own entry's result.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use lambda_stream::{Envelope, InMemoryPublisher, Pipeline, RecordState, StepError, testing};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let bus = Arc::new(InMemoryPublisher::new());
    /// let share = Pipeline::new("share")
    ///     .map(|uow| {
    ///         Envelope::builder("thing-shared")
    ///             .partition_key(uow.partition_key())
    ///             .build()
    ///             .map_err(StepError::from)
    ///     })
    ///     .publish(bus.clone(), 4);
    /// let report = testing::run_pipeline(share, &[Envelope::builder("thing-created").partition_key("t1").build()?]).await;
    ///
    /// assert_eq!(report.records[0].pipelines, [RecordState::Delivered]);
    /// let published = bus.envelopes();
    /// assert_eq!(published[0].event_type(), "thing-shared");
    /// assert_eq!(published[0].partition_key(), Some("t1"));
    /// // The standard tags are added: the pipeline that published it, among others.
    /// assert_eq!(published[0].tags().get_str("pipeline"), Some("share"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn publish(self, publisher: Arc<dyn Publisher>, concurrency: usize) -> Pipeline<Delivered> {
        self.entries().send(publisher, concurrency)
    }

    /// Like [`publish`](Pipeline::publish), but each unit published goes on with the entry it
    /// sent (its JSON, type and id), for a step that records what was published.
    pub fn publish_returning(
        self,
        publisher: Arc<dyn Publisher>,
        concurrency: usize,
    ) -> Pipeline<PublishEntry> {
        self.entries().send_returning(publisher, concurrency)
    }

    /// Each event as the entry `publish` sends: standard tags added, serialized once.
    fn entries(self) -> Pipeline<PublishEntry> {
        let options = self.compression.clone();
        self.stage(move |flow| {
            // The standard tags and the compression are the same for every event of this
            // run: written and resolved once.
            let standard = OnceLock::new();
            let compression = OnceLock::new();
            let options = options.clone();
            map_units(flow, move |uow: Uow<Envelope>| {
                let (uow, event) = uow.replace(());
                let compression = compression
                    .get_or_init(|| options.resolve(uow.invocation.compression.as_deref()));
                match guarded("publish", || {
                    prepare(&uow, &event, &standard, compression.as_ref())
                }) {
                    Ok(entry) => Ok(uow.with_value(entry)),
                    Err(error) => Err(Settled::failed(uow.members, error)),
                }
            })
        })
    }
}

impl Pipeline<PublishEntry> {
    /// Sends entries already built (a message for a topic or queue, say, that is not an
    /// envelope): groups them to the publisher's limits by its entry sizes and sends up to
    /// `concurrency` requests at a time. Each unit ends by its own entry's result.
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// use lambda_stream::{Envelope, InMemoryPublisher, Pipeline, PublishEntry, RecordState, StepError, testing};
    /// use serde_json::json;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // A topic takes plain messages, not envelopes; one the service rejects fails alone.
    /// let topic = Arc::new(InMemoryPublisher::new().rejecting(|entry: &PublishEntry| {
    ///     entry.json().contains("\"to\":\"\"").then(|| StepError::permanent("no recipient"))
    /// }));
    /// let notify = Pipeline::new("notify")
    ///     .map(|uow| {
    ///         let order: serde_json::Value = uow.event.entity()?;
    ///         let message = json!({ "to": order["customerId"], "text": "Your order is on its way" });
    ///         Ok(PublishEntry::message("order-notification", message.to_string()))
    ///     })
    ///     .send(topic.clone(), 2);
    /// let event = |customer: &str| {
    ///     Envelope::builder("order-dispatched").entity("order", &json!({ "customerId": customer })).build()
    /// };
    /// let report = testing::run_pipeline(notify, &[event("c1")?, event("")?]).await;
    ///
    /// assert_eq!(report.records[0].pipelines, [RecordState::Delivered]);
    /// assert_eq!(report.records[1].pipelines, [RecordState::Fault]);
    /// assert_eq!(topic.published().len(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn send(self, publisher: Arc<dyn Publisher>, concurrency: usize) -> Pipeline<Delivered> {
        self.send_returning(publisher, concurrency)
            .stage(|flow| map_units(flow, |uow| Ok(uow.with_value(Delivered))))
    }

    /// Like [`send`](Pipeline::send), but each unit sent goes on with its entry.
    pub fn send_returning(
        self,
        publisher: Arc<dyn Publisher>,
        concurrency: usize,
    ) -> Pipeline<PublishEntry> {
        // The limits are read when a run starts; a publisher whose `limits` panics fails
        // every unit of that run, not the invocation.
        let limits_of = Arc::clone(&publisher);
        let sizer = Arc::clone(&publisher);
        self.stage(
            move |flow| match guarded("send", || Ok(limits_of.limits())) {
                Ok(limits) => {
                    let sizer = Arc::clone(&sizer);
                    crate::step::batch::batch_flow(
                        flow,
                        limits,
                        Arc::new(move |uow: &Uow<PublishEntry>| sizer.entry_size(&uow.value)),
                    )
                }
                Err(error) => {
                    let message = error.to_string();
                    flow.map(move |item| {
                        let uow = item?;
                        Err(Settled::failed(
                            uow.members,
                            StepError::new(message.clone())
                                .with_name("Panic")
                                .in_step("send"),
                        ))
                    })
                    .boxed()
                }
            },
        )
        .stage(move |flow| {
            let publisher = Arc::clone(&publisher);
            flow.map(move |item| {
                let publisher = Arc::clone(&publisher);
                async move {
                    let batch = match item {
                        Ok(batch) => batch,
                        Err(settled) => return vec![Err(settled)],
                    };
                    let (_, units) = batch.replace(());
                    let (units, entries): (Vec<Uow<()>>, Vec<PublishEntry>) =
                        units.into_iter().map(|uow| uow.replace(())).unzip();
                    let results = publish_batch(publisher.as_ref(), &entries).await;
                    units
                        .into_iter()
                        .zip(entries)
                        .zip(results)
                        .map(|((uow, entry), result)| match result {
                            Ok(()) => Ok(uow.with_value(entry)),
                            Err(error) => Err(Settled::failed(uow.members, error)),
                        })
                        .collect()
                }
            })
            .buffered(concurrency.max(1))
            .flat_map(futures::stream::iter)
            .boxed()
        })
    }
}

/// The entry for an event: its JSON with the standard tags, its large values compressed if
/// the pipeline compresses.
fn prepare(
    uow: &Uow<()>,
    event: &Envelope,
    standard: &OnceLock<String>,
    compression: Option<&Compression>,
) -> Result<PublishEntry, StepError> {
    let (json, spans) = if event.tags().is_empty() {
        let tags = standard.get_or_init(|| standard_tags_json(&uow.invocation.tags, &uow.pipeline));
        event.to_json_with_raw_tags(tags)
    } else {
        event.to_json_with_tags_and_spans(&uow.invocation.tags, &uow.pipeline)
    };
    // A compressed id, type or key moves (the spans are checked against the text, and
    // copied when they no longer match).
    let json = match compression.map(|c| c.compress(&json)).transpose()? {
        Some(Some(compressed)) => compressed,
        _ => json,
    };
    Ok(PublishEntry::from_written(event, json, spans))
}
