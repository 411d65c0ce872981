//! Settling: every record ends in exactly one state per pipeline, the faults are published,
//! and the records to retry become the response for Lambda. One function per step of that,
//! in the order [`Settle::settle`] runs them.

use std::sync::Arc;

use super::decode::{Decoder, Outcome};
use super::faults::{self, FaultSink};
use super::report::{HeldBatch, RecordReport, RecordState, Report};
use super::run::PipelineRun;
use crate::deadline::Deadline;
use crate::envelope::Envelope;
use crate::error::FailureMode;
use crate::publisher::Publisher;
use crate::record::{Records, SourceRecord};
use crate::source::Source;
use crate::telemetry::{PipelineSummary, Summary};
use crate::uow::Invocation;

/// What settling needs from the handler.
pub(super) struct Settle<'a, S> {
    pub(super) source: &'a S,
    pub(super) faults_to: Option<&'a dyn Publisher>,
    pub(super) decode_failure: FailureMode,
    /// When fault publishing must be done.
    pub(super) stop: Deadline,
}

impl<S: Source> Settle<'_, S> {
    /// Settles an invocation: where each record ended, the faults published (a record whose
    /// fault is not taken is retried instead), and the response for Lambda.
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
        let mut reports = record_reports(records, decoder, &runs, decode_state);
        let mut retried_for_faults = vec![false; records.len()];
        mark_retries(&mut reports, &retried_for_faults, decode_state);
        let (published, unpublished) = self
            .publish_faults(
                records,
                &mut reports,
                &mut retried_for_faults,
                &runs,
                decode_state,
                invocation,
            )
            .await;
        mark_retries(&mut reports, &retried_for_faults, decode_state);
        self.report(records, reports, &runs, published, unpublished)
    }

    /// Publishes the fault events of the failed records and units; a fault that is not
    /// published turns its records into retries (in their pipeline, or for an undecodable
    /// record in `retried_for_faults`). The faults published, and how many were not.
    async fn publish_faults(
        &self,
        records: &Records,
        reports: &mut [RecordReport],
        retried_for_faults: &mut [bool],
        runs: &[PipelineRun],
        decode_state: RecordState,
        invocation: &Invocation,
    ) -> (Vec<Envelope>, usize) {
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
            reports,
            runs,
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
        (published, unpublished)
    }

    /// The response for Lambda (the records to retry) and the report.
    fn report(
        &self,
        records: &Arc<Records>,
        reports: Vec<RecordReport>,
        runs: &[PipelineRun],
        published: Vec<Envelope>,
        unpublished: usize,
    ) -> Report<S::Response> {
        let retry: Vec<SourceRecord<'_>> = reports
            .iter()
            .zip(records.iter())
            .filter(|(r, _)| r.retry)
            .map(|(_, record)| record)
            .collect();
        let response = self.source.respond(&retry);
        let mut summary = summarize(self.source.name(), &reports, runs, published.len());
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

/// Where each record ended in each pipeline, as the runs and the decoder left it: a record
/// a pipeline never got is filtered there, unless it could not be decoded (a fault or a
/// retry, as `decode_state` says) or the pipeline stopped at the deadline before reaching a
/// record it may have wanted (a retry).
fn record_reports<S: Source>(
    records: &Records,
    decoder: &Decoder<S>,
    runs: &[PipelineRun],
    decode_state: RecordState,
) -> Vec<RecordReport> {
    if runs.is_empty() {
        for i in 0..records.len() {
            decoder.check_untouched(i);
        }
    }
    (0..records.len())
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
                        (Outcome::Event, None) if run.stopped_early && decoder.may_want(i, p) => {
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
        .collect()
}

/// A record is retried when a pipeline retries it, when its fault was not published, or when
/// it could not be decoded and decode failures retry.
fn mark_retries(reports: &mut [RecordReport], forced: &[bool], decode_state: RecordState) {
    for (report, forced) in reports.iter_mut().zip(forced) {
        report.retry = *forced
            || report.pipelines.contains(&RecordState::Retry)
            || (report.decode_error.is_some() && decode_state == RecordState::Retry);
    }
}

/// The counts of an invocation, from its records' reports.
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
