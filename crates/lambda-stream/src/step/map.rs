//! `map`: a fallible transformation of each unit's value; an error fails only that unit.

use std::sync::Arc;

use crate::error::StepError;
use crate::pipeline::{Pipeline, Settled, guarded, map_units};
use crate::uow::Uow;

impl<T: Send + 'static> Pipeline<T> {
    /// Replaces each unit's value with what `f` returns. An `Err` (or a panic) fails that
    /// unit only; the rest of the batch goes on.
    ///
    /// ```
    /// use lambda_stream::{Envelope, Pipeline, RecordState, StepError, testing};
    /// use serde_json::json;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let names = Pipeline::new("names").map(|uow| {
    ///     let thing: serde_json::Value = uow.event.entity()?;
    ///     thing["name"]
    ///         .as_str()
    ///         .map(str::to_owned)
    ///         .ok_or_else(|| StepError::permanent("the thing has no name"))
    /// });
    /// let named = Envelope::builder("thing-created").entity("thing", &json!({ "name": "One" })).build()?;
    /// let nameless = Envelope::builder("thing-created").entity("thing", &json!({})).build()?;
    /// let report = testing::run_pipeline(names, &[named, nameless]).await;
    ///
    /// // The bad record becomes a fault event; the other one is delivered all the same.
    /// assert_eq!(report.records[0].pipelines, [RecordState::Delivered]);
    /// assert_eq!(report.records[1].pipelines, [RecordState::Fault]);
    /// assert_eq!(report.faults.len(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn map<U, F>(self, f: F) -> Pipeline<U>
    where
        U: Send + 'static,
        F: Fn(&Uow<T>) -> Result<U, StepError> + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.stage(move |flow| {
            let f = Arc::clone(&f);
            map_units(flow, move |uow| match guarded("map", || f(&uow)) {
                Ok(value) => Ok(uow.with_value(value)),
                Err(error) => Err(Settled::failed(uow.members, error)),
            })
        })
    }
}
