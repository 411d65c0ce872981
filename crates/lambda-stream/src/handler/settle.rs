//! Settling: every record ends in exactly one state per pipeline, the faults are published,
//! and the records to retry become the response for Lambda.

use std::sync::Arc;

use serde::Serialize;

use super::decode::{Decoder, Outcome};
use super::faults;
use super::run::PipelineRun;
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

/// What settling needs from the handler.
pub(super) struct Settle<'a, S> {
    pub(super) source: &'a S,
    pub(super) faults_to: Option<&'a dyn Publisher>,
    pub(super) decode_failure: FailureMode,
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
        let mut reports: Vec<RecordReport> = (0..records.len())
            .map(|i| {
                let outcome = decoder.outcome(i);
                RecordReport {
                    pipelines: runs
                        .iter()
                        .map(|run| match (&outcome, run.states[i]) {
                            (_, Some(state)) => state,
                            (Outcome::Failed(_), None) => decode_state,
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

        let faults = faults::collect(
            self.source,
            records,
            &reports,
            &runs,
            decode_state == RecordState::Fault,
            &invocation.tags,
        );
        let mut fault_events = faults.events;
        let mut response_error = None;
        let mut faults_published = 0;
        if !fault_events.is_empty() {
            match self.faults_to {
                Some(publisher) => match faults::publish(publisher, &fault_events).await {
                    Ok(()) => faults_published = fault_events.len(),
                    Err(error) => {
                        tracing::error!(%error, "fault events not published; the invocation fails");
                        response_error = Some(error);
                    }
                },
                None => {
                    tracing::error!(
                        faults = fault_events.len(),
                        "no fault publisher configured: failed records are retried instead"
                    );
                    for (i, p) in faults.accounts_for {
                        reports[i].pipelines[p] = RecordState::Retry;
                    }
                    fault_events.clear();
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
        let summary = summarize(self.source.name(), &reports, &runs, faults_published);
        Report {
            response,
            summary,
            faults: fault_events,
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
        retried_records: reports.iter().filter(|r| r.retry).count(),
        duration_ms: 0.0,
    }
}
