//! A named pipeline: the steps a unit of work goes through, built once and run for every
//! invocation. The step methods live in [`crate::step`], one module each; a step of your own
//! is a function over the stream of units ([`Pipeline::step`]).

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::stream::{BoxStream, StreamExt};

use crate::compression::Compression;
use crate::error::{FailureMode, StepError};
use crate::step::filter::TypeFilter;
use crate::uow::{Members, Uow};

/// A unit that left the pipeline before its end: filtered out, or failed. It travels on to
/// the end of the pipeline so its records are accounted for.
#[derive(Debug)]
pub struct Settled {
    pub(crate) members: Members,
    pub(crate) end: End,
}

#[derive(Debug)]
pub(crate) enum End {
    Delivered,
    Filtered,
    Stale,
    Duplicate,
    Failed(StepError),
}

impl Settled {
    /// The unit is filtered out: its records end as *filtered* in this pipeline.
    pub fn filter_out<T>(uow: Uow<T>) -> Self {
        Self::filtered(uow.members)
    }

    /// The unit failed: its records become a fault event or a retry, as the error's class
    /// and the pipeline's failure mode say.
    pub fn fail<T>(uow: Uow<T>, error: StepError) -> Self {
        Self::failed(uow.members, error)
    }

    /// The unit reached a sink that holds something newer (an event that arrived late):
    /// nothing was written, and its records are counted as *stale*, not delivered.
    pub fn stale<T>(uow: Uow<T>) -> Self {
        Self {
            members: uow.members,
            end: End::Stale,
        }
    }

    /// The unit reached a sink that already held it (the same event again): its records
    /// are counted as *duplicates*, not delivered.
    pub fn duplicate<T>(uow: Uow<T>) -> Self {
        Self {
            members: uow.members,
            end: End::Duplicate,
        }
    }

    /// True when the unit was filtered out.
    pub fn is_filtered(&self) -> bool {
        matches!(self.end, End::Filtered)
    }

    /// The error, when the unit failed.
    pub fn error(&self) -> Option<&StepError> {
        match &self.end {
            End::Failed(error) => Some(error),
            _ => None,
        }
    }

    pub(crate) fn filtered(members: Members) -> Self {
        Self {
            members,
            end: End::Filtered,
        }
    }

    pub(crate) fn failed(members: Members, error: StepError) -> Self {
        Self {
            members,
            end: End::Failed(error),
        }
    }
}

/// The value of a unit that a pipeline delivered: what `publish` and `send` give, and what
/// a last step of your own returns once its effect is done (an API called, a row written).
///
/// [`StreamHandler::pipeline`](crate::StreamHandler::pipeline) takes only pipelines of
/// `Delivered`: a pipeline that forgets its last step does not compile, instead of counting
/// every unit that reaches its end as delivered.
///
/// ```
/// use lambda_stream::{Delivered, Pipeline, StepError};
///
/// let notify = Pipeline::new("notify")
///     .on_type("order-confirmed")
///     .then(4, |uow| async move {
///         // call the API here
///         Ok::<_, StepError>(Delivered)
///     });
/// # let _: Pipeline<Delivered> = notify;
/// ```
///
/// A pipeline that forgets its last step is a compile error, not a silent drop:
///
/// ```compile_fail
/// use lambda_stream::{KinesisSource, Pipeline, StreamHandler};
///
/// let _ = StreamHandler::new(KinesisSource::new())
///     .pipeline(Pipeline::new("share").on_type("thing-*")); // no publish: does not compile
/// ```
///
/// ```
/// # use lambda_stream::{KinesisSource, Pipeline, StreamHandler};
/// let _ = StreamHandler::new(KinesisSource::new())
///     .pipeline(Pipeline::new("share").on_type("thing-*").delivered()); // said on purpose
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Delivered;

/// What flows between steps: a live unit, or one already settled that is carried to the end
/// so it is accounted for.
pub type Item<T> = Result<Uow<T>, Settled>;

/// The stream of items inside one run of a pipeline: what a step takes and gives.
pub type Flow<T> = BoxStream<'static, Item<T>>;

type Build<T> = Arc<dyn Fn(Flow<()>) -> Flow<T> + Send + Sync>;

/// A named pipeline of steps over units of work.
///
/// ```
/// use lambda_stream::{Pipeline, StepError};
///
/// #[derive(serde::Serialize)]
/// struct External { f1: String }
///
/// let pipeline = Pipeline::new("things-to-partner")
///     .on_type("thing-*")
///     .map(|uow| {
///         let thing: serde_json::Value = uow.event.entity()?;
///         Ok::<_, StepError>(External { f1: thing["name"].as_str().unwrap_or_default().into() })
///     });
/// # let _ = pipeline;
/// ```
pub struct Pipeline<T = ()> {
    pub(crate) name: Arc<str>,
    pub(crate) failure_mode: FailureMode,
    pub(crate) build: Build<T>,
    /// How many steps the pipeline has.
    pub(crate) steps: usize,
    /// The type filters the pipeline starts with: the handler applies them to a record's type
    /// before it reads the rest of the event.
    pub(crate) type_filters: Vec<TypeFilter>,
    /// How `publish` compresses, over what the environment says.
    pub(crate) compression: CompressionOptions,
}

/// A pipeline's own compression options (Node's `compressionThreshold` and
/// `compressionIgnore` on a rule), over the environment's (`COMPRESSION_THRESHOLD`,
/// `COMPRESSION_IGNORE`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CompressionOptions {
    threshold: Option<usize>,
    ignore: Vec<String>,
    off: bool,
}

impl CompressionOptions {
    /// What `publish` does: the pipeline's threshold, else the environment's (none: no
    /// compression); the names both ignore.
    pub(crate) fn resolve(&self, env: Option<&Compression>) -> Option<Compression> {
        if self.off {
            return None;
        }
        let threshold = self.threshold.or(env.map(Compression::threshold_bytes))?;
        Some(
            Compression::threshold(threshold)
                .ignore(env.map(|c| c.ignored().to_vec()).unwrap_or_default())
                .ignore(self.ignore.iter().cloned()),
        )
    }
}

impl<T> Clone for Pipeline<T> {
    fn clone(&self) -> Self {
        Self {
            name: Arc::clone(&self.name),
            failure_mode: self.failure_mode,
            build: Arc::clone(&self.build),
            steps: self.steps,
            type_filters: self.type_filters.clone(),
            compression: self.compression.clone(),
        }
    }
}

impl<T> fmt::Debug for Pipeline<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("name", &self.name)
            .field("failure_mode", &self.failure_mode)
            .finish_non_exhaustive()
    }
}

impl Pipeline<()> {
    /// A pipeline with no steps yet: every unit that reaches its end is delivered.
    pub fn new(name: impl Into<String>) -> Self {
        let name: String = name.into();
        Self {
            name: Arc::from(name.as_str()),
            failure_mode: FailureMode::default(),
            build: Arc::new(|flow| flow),
            steps: 0,
            type_filters: Vec::new(),
            compression: CompressionOptions::default(),
        }
    }
}

impl<T: Send + 'static> Pipeline<T> {
    /// The pipeline's name (what `ENABLED_PIPELINES` and `DISABLED_PIPELINES` refer to).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What happens to a unit whose step failed with an unclassified error: a fault event
    /// (the default) or a batch item failure so Lambda retries it. Retryable errors are
    /// always retried and permanent ones always faulted.
    #[must_use]
    pub fn on_failure(mut self, mode: FailureMode) -> Self {
        self.failure_mode = mode;
        self
    }

    /// The failure mode.
    pub fn failure_mode(&self) -> FailureMode {
        self.failure_mode
    }

    /// Node's `compressionThreshold`: the `publish` steps after this compress every value
    /// whose estimated size is over `bytes` (see [`crate::compression`]), whatever
    /// `COMPRESSION_THRESHOLD` says. Without it, `publish` compresses only when
    /// `COMPRESSION_THRESHOLD` is set.
    #[must_use]
    pub fn compression_threshold(mut self, bytes: usize) -> Self {
        self.compression.threshold = Some(bytes);
        self.compression.off = false;
        self
    }

    /// Node's `compressionIgnore`: values of these names are never compressed by the
    /// `publish` steps after this (added to `COMPRESSION_IGNORE`).
    #[must_use]
    pub fn compression_ignore<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.compression
            .ignore
            .extend(names.into_iter().map(Into::into));
        self
    }

    /// The `publish` steps after this never compress, whatever the environment says.
    #[must_use]
    pub fn no_compression(mut self) -> Self {
        self.compression.off = true;
        self
    }

    /// Appends a step of your own: a function from the stream of units to a stream of units,
    /// called once per invocation. Every item that comes in must go out once, as a live unit
    /// (with [`Uow::with_value`]) or settled ([`Settled::filter_out`], [`Settled::fail`]);
    /// items already settled pass through unchanged. A record whose unit a step loses is
    /// retried (and logged as an error), so nothing is dropped silently.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use lambda_stream::{Flow, Pipeline, Settled};
    ///
    /// /// Keeps only the first unit of each partition key in a batch.
    /// fn first_per_key(flow: Flow<()>) -> Flow<()> {
    ///     let mut seen = std::collections::HashSet::new();
    ///     flow.map(move |item| {
    ///         let uow = item?;
    ///         if seen.insert(uow.partition_key().to_string()) {
    ///             Ok(uow)
    ///         } else {
    ///             Err(Settled::filter_out(uow))
    ///         }
    ///     })
    ///     .boxed()
    /// }
    ///
    /// let pipeline = Pipeline::new("dedupe").step(first_per_key);
    /// # let _ = pipeline;
    /// ```
    pub fn step<U, F>(self, step: F) -> Pipeline<U>
    where
        U: Send + 'static,
        F: Fn(Flow<T>) -> Flow<U> + Send + Sync + 'static,
    {
        self.stage(step)
    }

    /// Appends a stage that transforms the whole flow; every step is one of these.
    pub(crate) fn stage<U, F>(self, stage: F) -> Pipeline<U>
    where
        F: Fn(Flow<T>) -> Flow<U> + Send + Sync + 'static,
    {
        let previous = self.build;
        Pipeline {
            name: self.name,
            failure_mode: self.failure_mode,
            build: Arc::new(move |flow| stage(previous(flow))),
            steps: self.steps + 1,
            type_filters: self.type_filters,
            compression: self.compression,
        }
    }

    /// Counts every unit that reaches this point as delivered: for a pipeline whose effect
    /// happened in an earlier step (a `tap` that records, say). Prefer ending with the step
    /// that delivers, which gives [`Delivered`] itself.
    pub fn delivered(self) -> Pipeline<Delivered> {
        self.stage(|flow| map_units(flow, |uow| Ok(uow.with_value(Delivered))))
    }

    /// Builds the flow for one invocation.
    pub(crate) fn flow(&self, input: Flow<()>) -> Flow<T> {
        (self.build)(input)
    }
}

/// Runs a step's code on a unit, turning an error or a panic into that unit's failure.
pub(crate) fn guarded<R>(
    step: &'static str,
    f: impl FnOnce() -> Result<R, StepError>,
) -> Result<R, StepError> {
    match std::panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result.map_err(|e| e.in_step(step)),
        Err(payload) => Err(StepError::from_panic(payload.as_ref()).in_step(step)),
    }
}

/// Like [`guarded`] for a unit's async work: the future and the call that makes it.
pub(crate) async fn guarded_async<R, Fut>(
    step: &'static str,
    make: impl FnOnce() -> Fut,
) -> Result<R, StepError>
where
    Fut: std::future::Future<Output = Result<R, StepError>>,
{
    use futures::FutureExt;
    let future = match std::panic::catch_unwind(AssertUnwindSafe(make)) {
        Ok(future) => future,
        Err(payload) => return Err(StepError::from_panic(payload.as_ref()).in_step(step)),
    };
    match AssertUnwindSafe(future).catch_unwind().await {
        Ok(result) => result.map_err(|e| e.in_step(step)),
        Err(payload) => Err(StepError::from_panic(payload.as_ref()).in_step(step)),
    }
}

/// Maps the live units of a flow with a fallible function, settling failures.
pub(crate) fn map_units<T, U, F>(flow: Flow<T>, f: F) -> Flow<U>
where
    T: Send + 'static,
    U: Send + 'static,
    F: Fn(Uow<T>) -> Item<U> + Send + 'static,
{
    flow.map(move |item| item.and_then(&f)).boxed()
}
