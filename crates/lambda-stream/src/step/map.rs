//! `map`: a fallible transformation of each unit's value; an error fails only that unit.

use std::sync::Arc;

use crate::error::StepError;
use crate::pipeline::{Pipeline, Settled, guarded, map_units};
use crate::uow::Uow;

impl<T: Send + 'static> Pipeline<T> {
    /// Replaces each unit's value with what `f` returns. An `Err` (or a panic) fails that
    /// unit only; the rest of the batch goes on.
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
