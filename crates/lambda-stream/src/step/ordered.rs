//! `then_ordered`: ordered concurrency. Units with the same partition key run one after the
//! other in arrival order; units with different keys run concurrently, up to a limit.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, Stream};
use futures::{FutureExt, StreamExt};

use crate::error::StepError;
use crate::pipeline::{Flow, Item, Pipeline, Settled, guarded_async};
use crate::uow::Uow;

/// How many units may wait behind busy keys before the step stops reading its input.
const WAITING_PER_SLOT: usize = 64;

impl<T: Send + 'static> Pipeline<T> {
    /// Runs `f` on each unit: the same partition key ([`Uow::partition_key`]) strictly in
    /// order, different keys concurrently, at most `concurrency` at a time. Units leave as
    /// they finish.
    ///
    /// **Order under failure**: once a unit of a key fails here, the later units of that key
    /// in the batch are not run; they end in retry (`OrderedAfterFailure`, retryable), so
    /// their effects never happen before the failed one's. On a stream (Kinesis, DynamoDB)
    /// they come again after the failed record; the failed unit itself ends as its error
    /// and the pipeline's failure mode say (a retry comes back first; a fault lets the later
    /// ones through on the next delivery). Units of other keys are not held back.
    ///
    /// ```
    /// use lambda_stream::{Envelope, Pipeline, RecordState, StepError, testing};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let in_order = Pipeline::new("per-key").then_ordered(4, |uow| async move {
    ///     if uow.event.event_type() == "thing-busy" {
    ///         Err(StepError::retryable("the service is busy"))
    ///     } else {
    ///         Ok(())
    ///     }
    /// });
    /// let event = |event_type: &str, key: &str| Envelope::builder(event_type).partition_key(key).build();
    /// let events = [event("thing-busy", "t1")?, event("thing-updated", "t1")?, event("thing-updated", "t2")?];
    /// let report = testing::run_pipeline(in_order, &events).await;
    ///
    /// assert_eq!(report.records[0].pipelines, [RecordState::Retry]);
    /// // Not run: t1's update must not happen before the failed unit of t1.
    /// assert_eq!(report.records[1].pipelines, [RecordState::Retry]);
    /// // Another key goes on.
    /// assert_eq!(report.records[2].pipelines, [RecordState::Delivered]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn then_ordered<U, F, Fut>(self, concurrency: usize, f: F) -> Pipeline<U>
    where
        U: Send + 'static,
        F: Fn(Uow<T>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<U, StepError>> + Send + 'static,
    {
        let f = Arc::new(f);
        let concurrency = concurrency.max(1);
        self.stage(move |flow| {
            let f = Arc::clone(&f);
            let run: RunFn<T, U> = Arc::new(move |uow: Uow<T>| {
                let f = Arc::clone(&f);
                async move {
                    let identity = uow.sibling(());
                    match guarded_async("then_ordered", || f(uow)).await {
                        Ok(value) => Ok(identity.with_value(value)),
                        Err(error) => Err(Settled::failed(identity.members, error)),
                    }
                }
                .boxed()
            });
            OrderedByKey::new(flow, concurrency, run).boxed()
        })
    }
}

type RunFn<T, U> = Arc<dyn Fn(Uow<T>) -> BoxFuture<'static, Item<U>> + Send + Sync>;

struct OrderedByKey<T, U> {
    input: Option<Flow<T>>,
    run: RunFn<T, U>,
    limit: usize,
    running: FuturesUnordered<BoxFuture<'static, (String, Item<U>)>>,
    /// Units waiting for their key to be free, per busy key.
    waiting: HashMap<String, VecDeque<Uow<T>>>,
    waiting_count: usize,
    /// Settled items read from the input, passed straight through.
    passed: VecDeque<Item<U>>,
    /// Keys with a failed unit: their later units are not run.
    failed: std::collections::HashSet<String>,
}

impl<T: Send + 'static, U: Send + 'static> OrderedByKey<T, U> {
    fn new(input: Flow<T>, limit: usize, run: RunFn<T, U>) -> Self {
        Self {
            input: Some(input),
            run,
            limit,
            running: FuturesUnordered::new(),
            waiting: HashMap::new(),
            waiting_count: 0,
            passed: VecDeque::new(),
            failed: std::collections::HashSet::new(),
        }
    }

    /// Settles a unit of a key that already failed, without running it.
    fn hold_back(&mut self, key: &str, uow: Uow<T>) {
        let error = StepError::retryable(format!(
            "an earlier unit of partition key `{key}` failed in this batch; this one is retried after it to keep the key's order"
        ))
        .with_name("OrderedAfterFailure");
        self.passed.push_back(Err(Settled::failed(
            uow.members,
            error.in_step("then_ordered"),
        )));
    }

    fn start(&mut self, key: String, uow: Uow<T>) {
        let future = (self.run)(uow);
        self.running
            .push(future.map(move |item| (key, item)).boxed());
    }

    /// Reads input while there is room, starting units whose key is free.
    fn fill(&mut self, cx: &mut Context<'_>) {
        while self.running.len() < self.limit && self.waiting_count < self.limit * WAITING_PER_SLOT
        {
            let Some(input) = self.input.as_mut() else {
                return;
            };
            match input.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(uow))) => {
                    let key = uow.partition_key().to_string();
                    if self.failed.contains(&key) {
                        self.hold_back(&key, uow);
                    } else if let Some(queue) = self.waiting.get_mut(&key) {
                        queue.push_back(uow);
                        self.waiting_count += 1;
                    } else {
                        // The key is now busy: later units of it wait here.
                        self.waiting.insert(key.clone(), VecDeque::new());
                        self.start(key, uow);
                    }
                }
                Poll::Ready(Some(Err(settled))) => self.passed.push_back(Err(settled)),
                Poll::Ready(None) => self.input = None,
                Poll::Pending => return,
            }
        }
    }
}

// Nothing in it is pinned structurally: the input and the futures are boxed.
impl<T, U> Unpin for OrderedByKey<T, U> {}

impl<T: Send + 'static, U: Send + 'static> Stream for OrderedByKey<T, U> {
    type Item = Item<U>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item<U>>> {
        let this = &mut *self;
        loop {
            this.fill(cx);
            if let Some(item) = this.passed.pop_front() {
                return Poll::Ready(Some(item));
            }
            match this.running.poll_next_unpin(cx) {
                Poll::Ready(Some((key, item))) => {
                    let failed = matches!(&item, Err(settled) if settled.error().is_some());
                    if failed {
                        // Everything waiting behind it is held back, in order.
                        let waiting = this.waiting.remove(&key).unwrap_or_default();
                        this.waiting_count -= waiting.len();
                        for uow in waiting {
                            this.hold_back(&key, uow);
                        }
                        this.failed.insert(key);
                    } else {
                        let next = this.waiting.get_mut(&key).and_then(VecDeque::pop_front);
                        match next {
                            Some(uow) => {
                                this.waiting_count -= 1;
                                this.start(key, uow);
                            }
                            None => {
                                this.waiting.remove(&key);
                            }
                        }
                    }
                    return Poll::Ready(Some(item));
                }
                Poll::Ready(None) => {
                    // Nothing running means nothing waits either (a waiting key always has a
                    // running unit); when the input is done too, so are we.
                    if this.input.is_none() {
                        return Poll::Ready(None);
                    }
                    // The input has more but was not ready, or the fill loop stopped for the
                    // limit: `fill` registered the waker when it saw Pending.
                    if this.running.is_empty() && this.passed.is_empty() {
                        return Poll::Pending;
                    }
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
