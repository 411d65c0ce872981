//! The handler: one source, several named pipelines, a fault publisher. It decodes the batch
//! once, runs every pipeline over every unit concurrently, settles each record, publishes the
//! faults, and answers Lambda with the records to retry.
//!
//! The same handler runs under `lambda_runtime` ([`StreamHandler::run`]) and is called
//! directly in tests ([`StreamHandler::handle`], [`StreamHandler::process`]).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::BoxStream;
use serde::Serialize;
use tracing::Instrument;

use crate::claimcheck::Redeemer;
use crate::config::Config;
use crate::envelope::{Envelope, now_millis};
use crate::error::{FailureMode, HandlerError, StepError};
use crate::fault::{FailedRecord, fault_event};
use crate::pipeline::{End, Flow, Pipeline, Settled};
use crate::publish::{PublishEntry, Publisher, publish_batch};
use crate::record::{Records, SourceRecord};
use crate::source::Source;
use crate::telemetry::{PipelineSummary, Summary};
use crate::uow::{Invocation, Members, Uow};

/// The end state of a record in one pipeline. Ordered by precedence: when a record's parts
/// (after `split`) end differently, the record ends in the greatest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RecordState {
    /// Filtered out (or split into nothing, or skipped, or never decoded).
    Filtered,
    /// Reached the end of the pipeline.
    Delivered,
    /// Became a fault event.
    Fault,
    /// Handed back to Lambda to be delivered again.
    Retry,
}

/// What happened to one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordReport {
    /// The state per enabled pipeline, in the order of [`Summary::pipelines`].
    pub pipelines: Vec<RecordState>,
    /// Why the record could not be decoded, if it could not.
    pub decode_error: Option<String>,
    /// True for a test event (`tags.skip`) that was dropped.
    pub skipped: bool,
    /// True when the record is reported to Lambda for retry.
    pub retry: bool,
}

/// Everything an invocation did, for tests and local runs.
#[derive(Debug)]
pub struct Report<R> {
    /// The response for Lambda, or why the invocation fails.
    pub response: Result<R, HandlerError>,
    /// The counts.
    pub summary: Summary,
    /// The fault events (published unless `response` says publishing failed).
    pub faults: Vec<Envelope>,
    /// Per record, in batch order.
    pub records: Vec<RecordReport>,
    /// The batch, freed with the report (after the response is known).
    _batch: HeldBatch,
}

/// The batch a report holds; its `Debug` shows the count, not every record.
struct HeldBatch(Arc<Records>);

impl std::fmt::Debug for HeldBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} records", self.0.len())
    }
}

/// A pipeline with its item type erased, as the handler keeps it.
trait RunPipeline: Send + Sync {
    fn name(&self) -> &str;
    fn failure_mode(&self) -> FailureMode;
    fn start(&self, input: Flow<()>) -> BoxStream<'static, Settled>;
}

impl<T: Send + 'static> RunPipeline for Pipeline<T> {
    fn name(&self) -> &str {
        &self.name
    }

    fn failure_mode(&self) -> FailureMode {
        self.failure_mode
    }

    fn start(&self, input: Flow<()>) -> BoxStream<'static, Settled> {
        self.flow(input)
            .map(|item| match item {
                Ok(uow) => Settled {
                    members: uow.members,
                    end: End::Delivered,
                },
                Err(settled) => settled,
            })
            .boxed()
    }
}

/// A stream processor for one event source. Build it once per process (in `main`), then
/// [`run`](StreamHandler::run) it.
///
/// ```no_run
/// use std::sync::Arc;
/// use lambda_stream::{KinesisSource, Pipeline, StreamHandler, on_type, InMemoryPublisher};
///
/// # async fn doc() -> Result<(), lambda_runtime::Error> {
/// let faults = Arc::new(InMemoryPublisher::new()); // the EventBridge sink in production
/// StreamHandler::new(KinesisSource::new())
///     .pipeline(Pipeline::new("p1").filter(on_type("thing-*")))
///     .faults_to(faults)
///     .run()
///     .await
/// # }
/// ```
pub struct StreamHandler<S: Source> {
    source: Arc<S>,
    pipelines: Vec<Arc<dyn RunPipeline>>,
    faults: Option<Arc<dyn Publisher>>,
    config: Config,
    decode_failure: FailureMode,
    include_skipped: bool,
    redeemer: Option<Arc<dyn Redeemer>>,
}

impl<S: Source> std::fmt::Debug for StreamHandler<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamHandler")
            .field("source", &self.source.name())
            .field(
                "pipelines",
                &self
                    .pipelines
                    .iter()
                    .map(|p| p.name().to_string())
                    .collect::<Vec<_>>(),
            )
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S: Source> StreamHandler<S> {
    /// A handler for `source`, configured from the environment ([`Config::from_env`]).
    pub fn new(source: S) -> Self {
        Self::with_config(source, Config::from_env())
    }

    /// A handler with explicit configuration (tests).
    pub fn with_config(source: S, config: Config) -> Self {
        Self {
            source: Arc::new(source),
            pipelines: Vec::new(),
            faults: None,
            config,
            decode_failure: FailureMode::Fault,
            include_skipped: false,
            redeemer: None,
        }
    }

    /// Registers a pipeline. Every unit of every batch flows through every enabled pipeline;
    /// the pipelines run concurrently. Pipelines disabled by `ENABLED_PIPELINES` or
    /// `DISABLED_PIPELINES` are left out here.
    #[must_use]
    pub fn pipeline<T: Send + 'static>(mut self, pipeline: Pipeline<T>) -> Self {
        if self.config.is_enabled(pipeline.name()) {
            self.pipelines.push(Arc::new(pipeline));
        } else {
            tracing::info!(
                pipeline = pipeline.name(),
                "pipeline disabled by configuration"
            );
        }
        self
    }

    /// Where fault events go. Without a fault publisher, records that would fault are
    /// retried instead, so nothing is lost.
    #[must_use]
    pub fn faults_to(mut self, publisher: Arc<dyn Publisher>) -> Self {
        self.faults = Some(publisher);
        self
    }

    /// What happens to a record that cannot be decoded: a fault event (default) or a retry.
    #[must_use]
    pub fn on_decode_failure(mut self, mode: FailureMode) -> Self {
        self.decode_failure = mode;
        self
    }

    /// Swaps claim-checked envelopes (with an `s3` pointer) for the events they point at,
    /// fetched from `redeemer`, before the pipelines see them. A unit whose event cannot be
    /// fetched fails (retryable when the store was unavailable).
    #[must_use]
    pub fn redeem_claim_checks(mut self, redeemer: Arc<dyn Redeemer>) -> Self {
        self.redeemer = Some(redeemer);
        self
    }

    /// Lets test events (`tags.skip: true`) through instead of dropping them.
    #[must_use]
    pub fn include_skipped(mut self) -> Self {
        self.include_skipped = true;
        self
    }

    /// The names of the enabled pipelines.
    pub fn pipeline_names(&self) -> Vec<&str> {
        self.pipelines.iter().map(|p| p.name()).collect()
    }

    /// Handles one Lambda event and returns the response for Lambda.
    pub async fn handle(&self, event: S::Event) -> Result<S::Response, HandlerError> {
        self.process(event, Invocation::local()).await.response
    }

    /// Handles one Lambda event and reports everything it did.
    pub async fn process(&self, event: S::Event, invocation: Invocation) -> Report<S::Response> {
        let started = Instant::now();
        let mut invocation = invocation;
        invocation.tags.merge_defaults(&self.config.tags);
        let invocation = Arc::new(invocation);

        let records = Arc::new(self.source.records(event));
        let decoder = Arc::new(Decoder {
            source: Arc::clone(&self.source),
            slots: (0..records.len())
                .map(|_| Mutex::new(Slot::Undecoded))
                .collect(),
            records: Arc::clone(&records),
            pipelines: self.pipelines.len(),
            include_skipped: self.include_skipped,
        });
        let runs = futures::future::join_all(self.pipelines.iter().map(|pipeline| {
            let units = units(&decoder, pipeline.name(), &invocation);
            let units = match &self.redeemer {
                Some(redeemer) => redeem_units(units, Arc::clone(redeemer)),
                None => units,
            };
            let span = tracing::info_span!("pipeline", name = pipeline.name());
            run_pipeline(Arc::clone(pipeline), units, records.len()).instrument(span)
        }))
        .await;

        let mut report = self.settle(&records, &decoder, runs, &invocation).await;
        report.summary.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        report.summary.log();
        if let Some(namespace) = &self.config.emf_namespace {
            let function = self
                .config
                .tags
                .get_str("functionname")
                .unwrap_or("unknown");
            for doc in report
                .summary
                .emf_documents(namespace, function, now_millis())
            {
                // EMF documents must be bare JSON lines on stdout.
                println!("{doc}");
            }
        }
        report
    }

    async fn settle(
        &self,
        records: &Arc<Records>,
        decoder: &Decoder<S>,
        runs: Vec<PipelineRun>,
        invocation: &Invocation,
    ) -> Report<S::Response> {
        // Records no pipeline asked for (none enabled) are decoded here, to be accounted for.
        let decoded: Vec<Decoded> = (0..records.len()).map(|i| decoder.outcome(i)).collect();
        let decode_state = match self.decode_failure {
            FailureMode::Fault => RecordState::Fault,
            FailureMode::Retry => RecordState::Retry,
        };
        let mut reports: Vec<RecordReport> = decoded
            .iter()
            .map(|d| RecordReport {
                pipelines: runs
                    .iter()
                    .map(|_| match d {
                        Decoded::Failed(_) => decode_state,
                        _ => RecordState::Filtered,
                    })
                    .collect(),
                decode_error: match d {
                    Decoded::Failed(reason) => Some(reason.clone()),
                    _ => None,
                },
                skipped: matches!(d, Decoded::Skipped),
                retry: false,
            })
            .collect();
        for (p, run) in runs.iter().enumerate() {
            for (i, state) in run.states.iter().enumerate() {
                if let Some(state) = state {
                    reports[i].pipelines[p] = *state;
                }
            }
        }

        // Faults: one per failed unit, leaving out records that end in retry anyway.
        let mut faults = Vec::new();
        let mut fault_records: Vec<(usize, usize)> = Vec::new(); // (record, pipeline)
        if decode_state == RecordState::Fault {
            for (i, d) in decoded.iter().enumerate() {
                if let Decoded::Failed(reason) = d {
                    let error = StepError::permanent(reason.clone()).with_name("DecodeError");
                    let Some(record) = records.get(i) else {
                        continue;
                    };
                    let failed = [FailedRecord {
                        record,
                        event: None,
                    }];
                    faults.push(fault_event("decode", &error, &failed, &invocation.tags));
                    fault_records.extend((0..runs.len()).map(|p| (i, p)));
                }
            }
        }
        for (p, run) in runs.iter().enumerate() {
            // A record is in at most one fault event per pipeline, even when several of its
            // parts (after `split`) failed.
            let mut in_a_fault = vec![false; records.len()];
            for (members, error) in &run.failures {
                let positions: Vec<usize> = members
                    .iter()
                    .filter(|i| reports[*i].pipelines[p] == RecordState::Fault)
                    .filter(|i| !std::mem::replace(&mut in_a_fault[*i], true))
                    .collect();
                // The envelopes were dropped as units went by; faults are rare, decode again.
                let failed_events: Vec<(SourceRecord<'_>, Option<Envelope>)> = positions
                    .iter()
                    .filter_map(|i| records.get(*i))
                    .map(|record| (record, self.source.decode(record).ok()))
                    .collect();
                let failed: Vec<FailedRecord<'_>> = failed_events
                    .iter()
                    .map(|(record, event)| FailedRecord {
                        record: *record,
                        event: event.as_ref(),
                    })
                    .collect();
                if failed.is_empty() {
                    continue;
                }
                faults.push(fault_event(&run.name, error, &failed, &invocation.tags));
                fault_records.extend(positions.into_iter().map(|i| (i, p)));
            }
        }

        let mut response_error = None;
        let mut faults_published = 0;
        if !faults.is_empty() {
            match &self.faults {
                Some(publisher) => match publish_faults(publisher.as_ref(), &faults).await {
                    Ok(()) => faults_published = faults.len(),
                    Err(error) => {
                        tracing::error!(%error, "fault events not published; the invocation fails");
                        response_error = Some(error);
                    }
                },
                None => {
                    tracing::error!(
                        faults = faults.len(),
                        "no fault publisher configured: failed records are retried instead"
                    );
                    for (i, p) in fault_records {
                        reports[i].pipelines[p] = RecordState::Retry;
                    }
                    faults.clear();
                }
            }
        }

        for report in &mut reports {
            report.retry = report.pipelines.contains(&RecordState::Retry)
                || (report.decode_error.is_some() && decode_state == RecordState::Retry);
        }
        let retry: Vec<SourceRecord<'_>> = reports
            .iter()
            .zip(records.iter())
            .filter(|(r, _)| r.retry)
            .map(|(_, record)| record)
            .collect();
        let response = match response_error {
            Some(error) => Err(error),
            None => self.source.respond(&retry),
        };

        let pipelines = runs
            .iter()
            .enumerate()
            .map(|(p, run)| {
                let mut s = PipelineSummary {
                    name: run.name.clone(),
                    ..PipelineSummary::default()
                };
                for report in &reports {
                    match report.pipelines[p] {
                        RecordState::Delivered => s.delivered += 1,
                        RecordState::Filtered => s.filtered += 1,
                        RecordState::Fault => s.faults += 1,
                        RecordState::Retry => s.retries += 1,
                    }
                }
                s
            })
            .collect();
        let summary = Summary {
            source: self.source.name(),
            records: records.len(),
            undecodable: reports.iter().filter(|r| r.decode_error.is_some()).count(),
            skipped: reports.iter().filter(|r| r.skipped).count(),
            pipelines,
            faults_published,
            retried_records: retry.len(),
            duration_ms: 0.0,
        };
        Report {
            response,
            summary,
            faults,
            records: reports,
            _batch: HeldBatch(Arc::clone(records)),
        }
    }
}

impl<S: Source> StreamHandler<S>
where
    S::Response: Serialize,
{
    /// Runs the handler under the Lambda runtime, with Lambda-style logging
    /// ([`init_tracing`](crate::init_tracing)) set up by the caller.
    pub async fn run(self) -> Result<(), lambda_runtime::Error> {
        lambda_runtime::run(self.into_service()).await
    }

    /// The handler as a tower `Service` of Lambda events, to wrap in layers before giving it
    /// to `lambda_runtime::run`.
    pub fn into_service(self) -> StreamService<S> {
        StreamService(Arc::new(self))
    }
}

/// A [`StreamHandler`] as a tower `Service<LambdaEvent<_>>`; see
/// [`StreamHandler::into_service`].
pub struct StreamService<S: Source>(Arc<StreamHandler<S>>);

impl<S: Source> Clone for StreamService<S> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<S: Source> std::fmt::Debug for StreamService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<S: Source> lambda_runtime::tower::Service<lambda_runtime::LambdaEvent<S::Event>>
    for StreamService<S>
{
    type Response = S::Response;
    type Error = HandlerError;
    type Future = futures::future::BoxFuture<'static, Result<S::Response, HandlerError>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), HandlerError>> {
        // The handler keeps no per-call state: it is always ready.
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, event: lambda_runtime::LambdaEvent<S::Event>) -> Self::Future {
        let handler = Arc::clone(&self.0);
        Box::pin(async move {
            let invocation = invocation_from(&event.context);
            handler.process(event.payload, invocation).await.response
        })
    }
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match &error {
            HandlerError::FaultPublish { .. } => "FaultPublishError",
            HandlerError::RetryInvocation { .. } => "RetryInvocation",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.into(),
            error_message: error.to_string(),
        }
    }
}

fn invocation_from(context: &lambda_runtime::Context) -> Invocation {
    let now = u64::try_from(now_millis()).unwrap_or(0);
    let remaining = Duration::from_millis(context.deadline.saturating_sub(now));
    Invocation {
        request_id: context.request_id.clone(),
        deadline: Some(Instant::now() + remaining),
        tags: crate::envelope::Tags::new(),
    }
}

/// A record after decoding.
enum Decoded {
    Event,
    Skipped,
    Failed(String),
}

/// Decodes each record once, on demand, for every pipeline: the first pipeline to reach a
/// record decodes it, the last one to take it drops the shared envelope, so a batch's
/// envelopes are not all in memory at once.
struct Decoder<S> {
    source: Arc<S>,
    records: Arc<Records>,
    slots: Vec<Mutex<Slot>>,
    pipelines: usize,
    include_skipped: bool,
}

enum Slot {
    Undecoded,
    /// Decoded; this many pipelines have yet to take it.
    Shared(Arc<Envelope>, usize),
    /// Decoded and taken by every pipeline.
    Taken,
    Skipped,
    Failed(String),
}

impl<S: Source> Decoder<S> {
    fn decode(&self, i: usize) -> Slot {
        let Some(record) = self.records.get(i) else {
            return Slot::Failed(format!("no record at position {i}"));
        };
        match self.source.decode(record) {
            Ok(event) if event.is_skipped() && !self.include_skipped => Slot::Skipped,
            Ok(event) => Slot::Shared(Arc::new(event), self.pipelines),
            Err(error) => {
                tracing::warn!(source = self.source.name(), %error, "record not decoded");
                Slot::Failed(error.to_string())
            }
        }
    }

    fn lock(&self, i: usize) -> std::sync::MutexGuard<'_, Slot> {
        self.slots[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The record's envelope for one pipeline, or `None` if it is skipped or undecodable.
    fn take(&self, i: usize) -> Option<Arc<Envelope>> {
        let mut slot = self.lock(i);
        if matches!(*slot, Slot::Undecoded) {
            *slot = self.decode(i);
        }
        match std::mem::replace(&mut *slot, Slot::Taken) {
            Slot::Shared(event, remaining) => {
                if remaining > 1 {
                    *slot = Slot::Shared(Arc::clone(&event), remaining - 1);
                }
                Some(event)
            }
            other => {
                if !matches!(other, Slot::Taken) {
                    *slot = other;
                }
                None
            }
        }
    }

    /// How the record decoded (decoding it now if no pipeline did).
    fn outcome(&self, i: usize) -> Decoded {
        let mut slot = self.lock(i);
        if matches!(*slot, Slot::Undecoded) {
            *slot = self.decode(i);
        }
        match &*slot {
            Slot::Skipped => Decoded::Skipped,
            Slot::Failed(reason) => Decoded::Failed(reason.clone()),
            _ => Decoded::Event,
        }
    }
}

/// The units that enter one pipeline: every decoded, non-skipped record, decoded as the
/// pipeline pulls them.
fn units<S: Source>(
    decoder: &Arc<Decoder<S>>,
    pipeline: &str,
    invocation: &Arc<Invocation>,
) -> Flow<()> {
    let pipeline: Arc<str> = Arc::from(pipeline);
    let decoder = Arc::clone(decoder);
    let invocation = Arc::clone(invocation);
    let count = decoder.records.len();
    let units = (0..count).filter_map(move |i| {
        let event = decoder.take(i)?;
        let position = u32::try_from(i).unwrap_or(u32::MAX);
        Some(Ok(Uow {
            records: Arc::clone(&decoder.records),
            position,
            event,
            pipeline: Arc::clone(&pipeline),
            invocation: Arc::clone(&invocation),
            value: (),
            members: Members::One(position),
        }))
    });
    futures::stream::iter(units).boxed()
}

/// Swaps each claim-checked unit's event for the stored one.
fn redeem_units(units: Flow<()>, redeemer: Arc<dyn Redeemer>) -> Flow<()> {
    units
        .then(move |item| {
            let redeemer = Arc::clone(&redeemer);
            async move {
                let mut uow = item?;
                let Some(pointer) = uow.event.s3.clone() else {
                    return Ok(uow);
                };
                match crate::claimcheck::redeem(redeemer.as_ref(), &pointer).await {
                    Ok(event) => {
                        uow.event = Arc::new(event);
                        Ok(uow)
                    }
                    Err(error) => Err(Settled::failed(uow.members, error.in_step("redeem"))),
                }
            }
        })
        .boxed()
}

struct PipelineRun {
    name: String,
    /// Per record: its state in this pipeline (`None`: no unit of it reached an end).
    states: Vec<Option<RecordState>>,
    /// The failed units that may become fault events.
    failures: Vec<(Members, StepError)>,
}

async fn run_pipeline(
    pipeline: Arc<dyn RunPipeline>,
    input: Flow<()>,
    records: usize,
) -> PipelineRun {
    let mode = pipeline.failure_mode();
    let mut run = PipelineRun {
        name: pipeline.name().to_string(),
        states: vec![None; records],
        failures: Vec::new(),
    };
    let mut settled = pipeline.start(input);
    while let Some(Settled { members, end }) = settled.next().await {
        let state = match &end {
            End::Delivered => RecordState::Delivered,
            End::Filtered => RecordState::Filtered,
            End::Failed(error) => match error.disposition(mode) {
                FailureMode::Fault => RecordState::Fault,
                FailureMode::Retry => RecordState::Retry,
            },
        };
        for i in members.iter() {
            if let Some(slot) = run.states.get_mut(i) {
                *slot = Some(slot.map_or(state, |s| s.max(state)));
            }
        }
        if let End::Failed(error) = end {
            tracing::warn!(pipeline = %run.name, %error, "unit failed");
            if state == RecordState::Fault {
                run.failures.push((members, error));
            }
        }
    }
    run
}

/// Publishes the fault events in batches within the publisher's limits.
async fn publish_faults(
    publisher: &dyn Publisher,
    faults: &[Envelope],
) -> Result<(), HandlerError> {
    let limits = publisher.limits();
    let entries: Vec<PublishEntry> = faults.iter().map(PublishEntry::from_envelope).collect();
    let mut failed = 0;
    let mut first_reason = None;
    let mut start = 0;
    while start < entries.len() {
        let mut end = start;
        let mut bytes = 0usize;
        while end < entries.len() && end - start < limits.max_count.max(1) {
            let size = publisher.entry_size(&entries[end]);
            if end > start && bytes + size > limits.max_bytes {
                break;
            }
            bytes += size;
            end += 1;
        }
        for result in publish_batch(publisher, &entries[start..end]).await {
            if let Err(error) = result {
                failed += 1;
                first_reason.get_or_insert_with(|| error.to_string());
            }
        }
        start = end;
    }
    match first_reason {
        None => Ok(()),
        Some(reason) => Err(HandlerError::FaultPublish { failed, reason }),
    }
}
