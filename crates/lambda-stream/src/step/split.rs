//! `split`: one unit into many. Every part accounts for the same record; the record ends in
//! the worst state of its parts (retry, then fault, then delivered), and a unit split into
//! nothing is filtered out.

use std::sync::Arc;

use futures::StreamExt;

use crate::error::StepError;
use crate::pipeline::{Pipeline, Settled, guarded};
use crate::uow::Uow;

impl<T: Send + 'static> Pipeline<T> {
    /// Splits each unit into the values `f` returns, one unit each.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// use lambda_stream::{Envelope, Pipeline, RecordState, testing};
    /// use serde_json::json;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let parts = Arc::new(AtomicUsize::new(0));
    /// let counted = Arc::clone(&parts);
    /// let items = Pipeline::new("items")
    ///     .split(|uow| {
    ///         let order: serde_json::Value = uow.event.entity()?;
    ///         Ok(order["items"].as_array().cloned().unwrap_or_default())
    ///     })
    ///     .tap(move |_item| {
    ///         counted.fetch_add(1, Ordering::Relaxed);
    ///     });
    /// let three = Envelope::builder("order-placed").entity("order", &json!({ "items": [1, 2, 3] })).build()?;
    /// let none = Envelope::builder("order-placed").entity("order", &json!({ "items": [] })).build()?;
    /// let report = testing::run_pipeline(items, &[three, none]).await;
    ///
    /// assert_eq!(parts.load(Ordering::Relaxed), 3);
    /// // A record is delivered when all its parts are; one split into nothing is filtered out.
    /// assert_eq!(report.records[0].pipelines, [RecordState::Delivered]);
    /// assert_eq!(report.records[1].pipelines, [RecordState::Filtered]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn split<U, F>(self, f: F) -> Pipeline<U>
    where
        U: Send + 'static,
        F: Fn(&Uow<T>) -> Result<Vec<U>, StepError> + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.stage(move |flow| {
            let f = Arc::clone(&f);
            flow.flat_map(move |item| {
                let parts: Vec<_> = match item {
                    Err(settled) => vec![Err(settled)],
                    Ok(uow) => match guarded("split", || f(&uow)) {
                        Ok(values) if values.is_empty() => {
                            vec![Err(Settled::filtered(uow.members))]
                        }
                        Ok(values) => values.into_iter().map(|v| Ok(uow.sibling(v))).collect(),
                        Err(error) => vec![Err(Settled::failed(uow.members, error))],
                    },
                };
                futures::stream::iter(parts)
            })
            .boxed()
        })
    }
}
