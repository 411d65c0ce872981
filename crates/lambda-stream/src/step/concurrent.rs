//! `then`: an async step (a call to another service) with bounded concurrency.
//!
//! Units leave in the order they came, but up to `concurrency` calls run at once, whatever
//! their partition keys: use [`then_ordered`](crate::Pipeline::then_ordered) when the effects
//! of one key must happen in order.

use std::future::Future;
use std::sync::Arc;

use futures::StreamExt;

use crate::error::StepError;
use crate::pipeline::{Pipeline, Settled, guarded_async};
use crate::uow::Uow;

impl<T: Send + 'static> Pipeline<T> {
    /// Runs `f` on each unit, at most `concurrency` at a time (at least 1). An `Err` or a
    /// panic fails that unit only.
    ///
    /// ```
    /// use lambda_stream::{Envelope, Pipeline, RecordState, StepError, testing};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let lookups = Pipeline::new("lookups").then(4, |uow| async move {
    ///     // An async call per unit, four at a time (a lookup, a write, ...).
    ///     if uow.event.event_type() == "thing-busy" {
    ///         Err(StepError::retryable("the service is busy"))
    ///     } else {
    ///         Ok(uow.event.id().len())
    ///     }
    /// });
    /// let events = [Envelope::builder("thing-created").build()?, Envelope::builder("thing-busy").build()?];
    /// let report = testing::run_pipeline(lookups, &events).await;
    ///
    /// assert_eq!(report.records[0].pipelines, [RecordState::Delivered]);
    /// assert_eq!(report.records[1].pipelines, [RecordState::Retry]);
    /// // Lambda is told to deliver the busy record (and the ones after it on its shard) again.
    /// let response = serde_json::to_value(report.response?)?;
    /// assert_eq!(response["batchItemFailures"].as_array().map(Vec::len), Some(1));
    /// # Ok(())
    /// # }
    /// ```
    pub fn then<U, F, Fut>(self, concurrency: usize, f: F) -> Pipeline<U>
    where
        U: Send + 'static,
        F: Fn(Uow<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<U, StepError>> + Send + 'static,
    {
        self.then_named("then", concurrency, f)
    }

    /// [`then`](Pipeline::then) for a step of the library's own, named in its errors.
    pub(crate) fn then_named<U, F, Fut>(
        self,
        step: &'static str,
        concurrency: usize,
        f: F,
    ) -> Pipeline<U>
    where
        U: Send + 'static,
        F: Fn(Uow<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<U, StepError>> + Send + 'static,
    {
        let f = Arc::new(f);
        let concurrency = concurrency.max(1);
        self.stage(move |flow| {
            let f = Arc::clone(&f);
            flow.map(move |item| {
                let f = Arc::clone(&f);
                async move {
                    let uow = item?;
                    let identity = uow.sibling(());
                    match guarded_async(step, || f(uow)).await {
                        Ok(value) => Ok(identity.with_value(value)),
                        Err(error) => Err(Settled::failed(identity.members, error)),
                    }
                }
            })
            .buffered(concurrency)
            .boxed()
        })
    }
}
