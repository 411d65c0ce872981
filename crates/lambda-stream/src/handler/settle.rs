//! Settling: every record ends in exactly one state per pipeline, the faults are published,
//! and the records to retry become the response for Lambda.

use std::sync::Arc;

use serde::Serialize;

use super::decode::{Decoder, Outcome};
use super::faults::{self, FaultSink};
use super::run::PipelineRun;
use crate::deadline::Deadline;
use crate::envelope::Envelope;
use crate::error::{FailureMode, HandlerError};
use crate::publisher::Publisher;
use crate::record::{Records, SourceRecord};
use crate::source::Source;
use crate::telemetry::{PipelineSummary, Summary};
use crate::uow::Invocation;

/// The end state of a record in one pipeline. Ordered by precedence: when a record's parts
/// (after `split`) end differently, the record ends in the greatest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum RecordState {
    /// Filtered out (or split into nothing, or skipped, or never decoded).
    Filtered,
    /// Reached a sink that already held it (the same event again): nothing written.
    Duplicate,
    /// Reached a sink that holds something newer (a late event): nothing written.
    Stale,
    /// Reached the end of the pipeline.
    Delivered,
    /// Became a fault event.
    Fault,
    /// Handed back to Lambda to be delivered again.
    Retry,
}

/// What happened to one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
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
#[non_exhaustive]
pub struct Report<R> {
    /// The response for Lambda, or why the invocation fails.
    pub response: Result<R, HandlerError>,
    /// The counts.
    pub summary: Summary,
    /// The fault events published (a fault that could not be published is not here: its
    /// records are retried instead, see [`Summary::faults_unpublished`]).
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

/// What settling needs from the handler.
pub(super) struct Settle<'a, S> {
    pub(super) source: &'a S,
    pub(super) faults_to: Option<&'a dyn Publisher>,
    pub(super) decode_failure: FailureMode,
    /// When fault publishing must be done.
    pub(super) stop: Deadline,
}

impl<S: Source> Settle<'_, S> {
    pub(super) async fn settle(
        &self,
        records: &Arc<Records>,
        decoder: &Decoder<S>,
        runs: Vec<PipelineRun>,
        invocation: &Invocation,
    ) -> Report<S::Response> {
        let decode_state = match self.decode_failure {
            FailureMode::Fault => RecordState::Fault,
            FailureMode::Retry => RecordState::Retry,
        };
        if runs.is_empty() {
            for i in 0..records.len() {
                decoder.check_untouched(i);
            }
        }
        let mut reports: Vec<RecordReport> = (0..records.len())
            .map(|i| {
                let outcome = decoder.outcome(i);
                RecordReport {
                    pipelines: runs
                        .iter()
                        .enumerate()
                        .map(|(p, run)| match (&outcome, run.states[i]) {
                            (_, Some(state)) => state,
                            (Outcome::Failed(_), None) => decode_state,
                            // Stopped at the deadline before reaching it: it comes again.
                            (Outcome::Event, None)
                                if run.stopped_early && decoder.may_want(i, p) =>
                            {
                                RecordState::Retry
                            }
                            (_, None) => RecordState::Filtered,
                        })
                        .collect(),
                    skipped: matches!(outcome, Outcome::Skipped),
                    decode_error: match outcome {
                        Outcome::Failed(reason) => Some(reason),
                        _ => None,
                    },
                    retry: false,
                }
            })
            .collect();
        let mut retried_for_faults = vec![false; records.len()];
        let mark = |reports: &mut [RecordReport], forced: &[bool]| {
            for (report, forced) in reports.iter_mut().zip(forced) {
                report.retry = *forced
                    || report.pipelines.contains(&RecordState::Retry)
                    || (report.decode_error.is_some() && decode_state == RecordState::Retry);
            }
        };
        mark(&mut reports, &retried_for_faults);

        let sink = match self.faults_to.map(FaultSink::new) {
            Some(Ok(sink)) => Some(sink),
            Some(Err(error)) => {
                tracing::error!(%error, "the fault publisher failed; failed records are retried instead");
                None
            }
            None => None,
        };
        let fits = |event: &Envelope| sink.as_ref().is_none_or(|sink| sink.fits(event));
        let faults = faults::collect(
            self.source,
            records,
            &reports,
            &runs,
            decode_state == RecordState::Fault,
            &invocation.tags,
            &fits,
        );
        let results = match (&sink, faults.is_empty()) {
            (_, true) => Vec::new(),
            (Some(sink), false) => sink.publish(&faults, self.stop).await,
            (None, false) => {
                tracing::error!(
                    faults = faults.len(),
                    "no fault publisher: failed records are retried instead"
                );
                faults
                    .iter()
                    .map(|_| Err("no fault publisher".into()))
                    .collect()
            }
        };
        let mut published = Vec::with_capacity(faults.len());
        let mut unpublished = 0;
        for (fault, result) in faults.into_iter().zip(results) {
            match result {
                Ok(()) => published.push(fault.event),
                Err(reason) => {
                    unpublished += 1;
                    if sink.is_some() {
                        tracing::error!(%reason, records = fault.accounts_for.len(), "fault event not published; its records are retried");
                    }
                    for (i, p) in fault.accounts_for {
                        match p {
                            Some(p) => reports[i].pipelines[p] = RecordState::Retry,
                            None => retried_for_faults[i] = true,
                        }
                    }
                }
            }
        }
        mark(&mut reports, &retried_for_faults);

        let retry: Vec<SourceRecord<'_>> = reports
            .iter()
            .zip(records.iter())
            .filter(|(r, _)| r.retry)
            .map(|(_, record)| record)
            .collect();
        let response = self.source.respond(&retry);
        let mut summary = summarize(self.source.name(), &reports, &runs, published.len());
        summary.faults_unpublished = unpublished;
        Report {
            response,
            summary,
            faults: published,
            records: reports,
            _batch: HeldBatch(Arc::clone(records)),
        }
    }
}

fn summarize(
    source: &'static str,
    reports: &[RecordReport],
    runs: &[PipelineRun],
    faults_published: usize,
) -> Summary {
    let pipelines = runs
        .iter()
        .enumerate()
        .map(|(p, run)| {
            let mut s = PipelineSummary {
                name: run.name.clone(),
                ..PipelineSummary::default()
            };
            for report in reports {
                match report.pipelines[p] {
                    RecordState::Delivered => s.delivered += 1,
                    RecordState::Stale => s.stale += 1,
                    RecordState::Duplicate => s.duplicates += 1,
                    RecordState::Filtered => s.filtered += 1,
                    RecordState::Fault => s.faults += 1,
                    RecordState::Retry => s.retries += 1,
                }
            }
            s
        })
        .collect();
    Summary {
        source,
        records: reports.len(),
        undecodable: reports.iter().filter(|r| r.decode_error.is_some()).count(),
        skipped: reports.iter().filter(|r| r.skipped).count(),
        pipelines,
        faults_published,
        faults_unpublished: 0,
        retried_records: reports.iter().filter(|r| r.retry).count(),
        duration_ms: 0.0,
    }
}
