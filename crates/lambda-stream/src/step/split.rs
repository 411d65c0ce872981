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
