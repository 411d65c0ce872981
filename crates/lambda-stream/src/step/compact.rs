//! `compact`: keep only the latest unit per partition key. The superseded units ride along
//! with the one kept and end in its state, so a failure of the latest retries them all.

use std::collections::HashMap;

use futures::{FutureExt, StreamExt};

use crate::pipeline::{Item, Pipeline};

impl<T: Send + 'static> Pipeline<T> {
    /// Keeps, per partition key, the unit with the latest timestamp (the later one in the
    /// batch on a tie). This step waits for the whole batch before passing anything on.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    ///
    /// use lambda_stream::{Envelope, Pipeline, RecordState, testing};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let kept = Arc::new(Mutex::new(Vec::new()));
    /// let seen = Arc::clone(&kept);
    /// let latest = Pipeline::new("latest")
    ///     .compact()
    ///     .tap(move |uow| seen.lock().unwrap().push(uow.event.id().to_string()));
    /// let event = |id: &str, key: &str, at: i64| {
    ///     Envelope::builder("thing-updated").id(id).partition_key(key).timestamp(at).build()
    /// };
    /// let events = [event("a", "t1", 1)?, event("b", "t1", 3)?, event("c", "t1", 2)?, event("d", "t2", 1)?];
    /// let report = testing::run_pipeline(latest, &events).await;
    ///
    /// let mut kept = kept.lock().unwrap().clone();
    /// kept.sort();
    /// assert_eq!(kept, ["b", "d"]);
    /// // The superseded records end as the one kept for their key did.
    /// assert!(report.records.iter().all(|r| r.pipelines == [RecordState::Delivered]));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn compact(self) -> Self {
        self.stage(|flow| {
            flow.collect::<Vec<Item<T>>>()
                .map(|items| {
                    let mut out: Vec<Item<T>> = Vec::with_capacity(items.len());
                    let mut latest: HashMap<String, usize> = HashMap::new();
                    for item in items {
                        let uow = match item {
                            Ok(uow) => uow,
                            Err(settled) => {
                                out.push(Err(settled));
                                continue;
                            }
                        };
                        let key = uow.partition_key().to_string();
                        match latest.get(&key).copied() {
                            None => {
                                latest.insert(key, out.len());
                                out.push(Ok(uow));
                            }
                            Some(at) => {
                                let Some(Ok(kept)) = out.get_mut(at) else {
                                    continue;
                                };
                                if uow.event.timestamp() >= kept.event.timestamp() {
                                    let mut newer = uow;
                                    newer.members.absorb(&kept.members);
                                    *kept = newer;
                                } else {
                                    kept.members.absorb(&uow.members);
                                }
                            }
                        }
                    }
                    futures::stream::iter(out)
                })
                .flatten_stream()
                .boxed()
        })
    }
}
