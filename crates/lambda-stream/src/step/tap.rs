//! `tap` and `trace`: look at units without changing them.

use std::sync::Arc;

use crate::error::StepError;
use crate::pipeline::{Pipeline, Settled, guarded, map_units};
use crate::uow::Uow;

impl<T: Send + 'static> Pipeline<T> {
    /// Calls `f` on each unit and passes it on unchanged (a panic in `f` fails the unit).
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    ///
    /// use lambda_stream::{Envelope, Pipeline, testing};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let types = Arc::new(Mutex::new(Vec::new()));
    /// let seen = Arc::clone(&types);
    /// let watched = Pipeline::new("watched")
    ///     .tap(move |uow| seen.lock().unwrap().push(uow.event.event_type().to_string()))
    ///     .trace("after-tap");
    /// testing::run_pipeline(watched, &[Envelope::builder("thing-created").build()?]).await;
    /// assert_eq!(*types.lock().unwrap(), ["thing-created"]);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn tap<F>(self, f: F) -> Self
    where
        F: Fn(&Uow<T>) + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.stage(move |flow| {
            let f = Arc::clone(&f);
            map_units(flow, move |uow| {
                match guarded("tap", || {
                    f(&uow);
                    Ok::<_, StepError>(())
                }) {
                    Ok(()) => Ok(uow),
                    Err(error) => Err(Settled::failed(uow.members, error)),
                }
            })
        })
    }

    /// Logs each unit at debug level with a label (id, type, partition key).
    #[must_use]
    pub fn trace(self, label: &'static str) -> Self {
        self.tap(move |uow| {
            tracing::debug!(
                step = label,
                pipeline = %uow.pipeline,
                id = uow.event.id(),
                event_type = uow.event.event_type(),
                partition_key = uow.partition_key(),
                "unit"
            );
        })
    }
}
