//! `batch`: group units by count and by bytes. A batch settles as one unit: if it fails,
//! every record in it fails.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::StreamExt;
use futures::stream::Stream;

use crate::pipeline::{Flow, Item, Pipeline, Settled, guarded};
use crate::uow::{Batch, Members, Uow};

/// Batches up to this many units are allocated at their full size up front.
const MAX_PREALLOCATED: usize = 512;

/// The most a batch may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Units per batch (at least 1).
    pub max_count: usize,
    /// Bytes per batch, as measured by the size function; a unit larger than this on its own
    /// travels alone.
    pub max_bytes: usize,
}

impl BatchLimits {
    /// EventBridge `PutEvents`: 10 entries and 256 KB per request.
    pub const EVENTBRIDGE: Self = Self {
        max_count: 10,
        max_bytes: 256 * 1024,
    };

    /// Limits by count only.
    pub fn count(max_count: usize) -> Self {
        Self {
            max_count,
            max_bytes: usize::MAX,
        }
    }
}

impl<T: Send + 'static> Pipeline<T> {
    /// Groups units into batches of at most `limits.max_count` units and
    /// `limits.max_bytes` bytes (each unit's size from `size`). The batch unit's `value` holds
    /// the units; its own record and event are the first unit's. A unit whose size cannot be
    /// told (`size` panicked) fails alone.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    ///
    /// use lambda_stream::{BatchLimits, Envelope, Pipeline, RecordState, testing};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sizes = Arc::new(Mutex::new(Vec::new()));
    /// let seen = Arc::clone(&sizes);
    /// let in_twos = Pipeline::new("in-twos")
    ///     .batch(BatchLimits::count(2), |_uow| 1)
    ///     .tap(move |batch| seen.lock().unwrap().push(batch.value.len()));
    /// let events: Vec<Envelope> = (0..5)
    ///     .map(|i| Envelope::builder("thing-created").partition_key(format!("t{i}")).build())
    ///     .collect::<Result<_, _>>()?;
    /// let report = testing::run_pipeline(in_twos, &events).await;
    ///
    /// assert_eq!(*sizes.lock().unwrap(), [2, 2, 1]);
    /// assert!(report.records.iter().all(|r| r.pipelines == [RecordState::Delivered]));
    /// # Ok(())
    /// # }
    /// ```
    pub fn batch<F>(self, limits: BatchLimits, size: F) -> Pipeline<Batch<T>>
    where
        F: Fn(&Uow<T>) -> usize + Send + Sync + 'static,
    {
        let size: SizeFn<T> = Arc::new(size);
        self.stage(move |flow| batch_flow(flow, limits, Arc::clone(&size)))
    }
}

pub(crate) type SizeFn<T> = Arc<dyn Fn(&Uow<T>) -> usize + Send + Sync>;

/// The flow of batches of `flow`'s units.
pub(crate) fn batch_flow<T: Send + 'static>(
    flow: Flow<T>,
    limits: BatchLimits,
    size: SizeFn<T>,
) -> Flow<Batch<T>> {
    Batcher::new(flow, limits, size).boxed()
}

struct Batcher<T> {
    input: Option<Flow<T>>,
    limits: BatchLimits,
    size: SizeFn<T>,
    open: Vec<Uow<T>>,
    open_bytes: usize,
    ready: std::collections::VecDeque<Item<Batch<T>>>,
}

impl<T: Send + 'static> Batcher<T> {
    fn new(input: Flow<T>, limits: BatchLimits, size: SizeFn<T>) -> Self {
        Self {
            input: Some(input),
            limits: BatchLimits {
                max_count: limits.max_count.max(1),
                max_bytes: limits.max_bytes,
            },
            size,
            open: Vec::with_capacity(limits.max_count.clamp(1, MAX_PREALLOCATED)),
            open_bytes: 0,
            ready: std::collections::VecDeque::new(),
        }
    }

    fn close(&mut self) {
        if self.open.is_empty() {
            return;
        }
        let capacity = self.limits.max_count.min(MAX_PREALLOCATED);
        let units = std::mem::replace(&mut self.open, Vec::with_capacity(capacity));
        self.open_bytes = 0;
        let mut head = units[0].sibling(());
        head.members = Members::Many(
            units
                .iter()
                .flat_map(|u| u.members.iter())
                .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
                .collect(),
        );
        self.ready.push_back(Ok(head.with_value(units)));
    }

    fn add(&mut self, uow: Uow<T>) {
        let bytes = match guarded("batch", || Ok((self.size)(&uow))) {
            Ok(bytes) => bytes,
            Err(error) => {
                self.ready
                    .push_back(Err(Settled::failed(uow.members, error)));
                return;
            }
        };
        if !self.open.is_empty() && self.open_bytes.saturating_add(bytes) > self.limits.max_bytes {
            self.close();
        }
        self.open_bytes = self.open_bytes.saturating_add(bytes);
        self.open.push(uow);
        if self.open.len() >= self.limits.max_count || self.open_bytes >= self.limits.max_bytes {
            self.close();
        }
    }
}

// Nothing in a Batcher is pinned structurally: the input is a boxed stream.
impl<T> Unpin for Batcher<T> {}

impl<T: Send + 'static> Stream for Batcher<T> {
    type Item = Item<Batch<T>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(item) = this.ready.pop_front() {
                return Poll::Ready(Some(item));
            }
            let Some(input) = this.input.as_mut() else {
                return Poll::Ready(None);
            };
            match input.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(uow))) => this.add(uow),
                Poll::Ready(Some(Err(settled))) => return Poll::Ready(Some(Err(settled))),
                Poll::Ready(None) => {
                    this.input = None;
                    this.close();
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
