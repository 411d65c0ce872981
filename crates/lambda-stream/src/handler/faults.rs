//! The fault events of an invocation: one per undecodable record and one per failed unit
//! (more when a unit is too large for one), published once the whole batch is through.
//!
//! Publishing faults calls the fault publisher's code (`limits`, `entry_size`, `publish`);
//! a panic there, a rejected entry or the deadline fails only the faults concerned, and their
//! records are retried instead.

use super::report::{RecordReport, RecordState};
use super::run::PipelineRun;
use crate::deadline::Deadline;
use crate::envelope::{Envelope, Tags};
use crate::error::StepError;
use crate::fault::{FailedRecord, fault_events};
use crate::pipeline::guarded;
use crate::publisher::{PublishEntry, Publisher, publish_batch};
use crate::record::{Records, SourceRecord};
use crate::source::Source;
use crate::step::batch::BatchLimits;

/// A fault event and the (record, pipeline) pairs it accounts for; `None` for the pipeline
/// when the record could not be decoded.
pub(super) struct Fault {
    pub(super) event: Envelope,
    pub(super) accounts_for: Vec<(usize, Option<usize>)>,
}

/// A fault event for every record that could not be decoded (when decode failures fault) and
/// every unit that failed for good, leaving out records that end in retry anyway (they fault,
/// if they still fail, on the delivery where nothing retries them). Each event is made to
/// `fit`.
pub(super) fn collect<S: Source>(
    source: &S,
    records: &Records,
    reports: &[RecordReport],
    runs: &[PipelineRun],
    decode_faults: bool,
    tags: &Tags,
    fits: &dyn Fn(&Envelope) -> bool,
) -> Vec<Fault> {
    let mut faults = Vec::new();
    if decode_faults {
        for (i, report) in reports.iter().enumerate() {
            let (Some(reason), Some(record), false) =
                (&report.decode_error, records.get(i), report.retry)
            else {
                continue;
            };
            let error = StepError::permanent(reason.clone()).with_name("DecodeError");
            let failed = [FailedRecord {
                record,
                event: None,
            }];
            faults.extend(
                fault_events("decode", &error, &failed, tags, fits)
                    .into_iter()
                    .map(|f| Fault {
                        event: f.event,
                        accounts_for: vec![(i, None)],
                    }),
            );
        }
    }
    for (p, run) in runs.iter().enumerate() {
        // A record is in at most one fault event per pipeline, even when several of its
        // parts (after `split`) failed.
        let mut in_a_fault = vec![false; records.len()];
        for (members, error) in &run.failures {
            let positions: Vec<usize> = members
                .iter()
                .filter(|i| reports[*i].pipelines[p] == RecordState::Fault && !reports[*i].retry)
                .filter(|i| !std::mem::replace(&mut in_a_fault[*i], true))
                .collect();
            // The events were dropped as units went by; faults are rare, decode again.
            let failed_events: Vec<(SourceRecord<'_>, Option<Envelope>)> = positions
                .iter()
                .filter_map(|i| records.get(*i))
                .map(|record| (record, source.envelope(record).ok()))
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
            for fault in fault_events(&run.name, error, &failed, tags, fits) {
                faults.push(Fault {
                    event: fault.event,
                    accounts_for: positions[fault.records]
                        .iter()
                        .map(|i| (*i, Some(p)))
                        .collect(),
                });
            }
        }
    }
    faults
}

/// The fault publisher, with its limits read once (guarded: a panic there is contained).
pub(super) struct FaultSink<'a> {
    publisher: &'a dyn Publisher,
    limits: BatchLimits,
}

impl<'a> FaultSink<'a> {
    pub(super) fn new(publisher: &'a dyn Publisher) -> Result<Self, StepError> {
        let limits = guarded("fault publisher limits", || Ok(publisher.limits()))?;
        Ok(Self { publisher, limits })
    }

    /// The entry's size as the publisher counts it; `None` when its `entry_size` panicked.
    fn size(&self, entry: &PublishEntry) -> Option<usize> {
        guarded("fault publisher entry_size", || {
            Ok(self.publisher.entry_size(entry))
        })
        .ok()
    }

    /// True when the publisher can take `event` in one request.
    pub(super) fn fits(&self, event: &Envelope) -> bool {
        self.size(&PublishEntry::from_envelope(event))
            .is_some_and(|size| size <= self.limits.max_bytes)
    }

    /// Publishes the events in requests within the publisher's limits until `stop`, and
    /// returns per event whether it was published (or why not).
    pub(super) async fn publish(
        &self,
        faults: &[Fault],
        stop: Deadline,
    ) -> Vec<Result<(), String>> {
        let entries: Vec<PublishEntry> = faults
            .iter()
            .map(|f| PublishEntry::from_envelope(&f.event))
            .collect();
        let mut results: Vec<Result<(), String>> = Vec::with_capacity(entries.len());
        let mut start = 0;
        while start < entries.len() {
            let mut end = start;
            let mut bytes = 0usize;
            while end < entries.len() && end - start < self.limits.max_count.max(1) {
                let Some(size) = self.size(&entries[end]) else {
                    break;
                };
                if end > start && bytes.saturating_add(size) > self.limits.max_bytes {
                    break;
                }
                bytes = bytes.saturating_add(size);
                end += 1;
            }
            if end == start {
                // Its size could not be known: it cannot be sent.
                results.push(Err("the fault publisher's entry_size panicked".into()));
                start += 1;
                continue;
            }
            let batch = &entries[start..end];
            match stop
                .scope(stop.run(publish_batch(self.publisher, batch)))
                .await
            {
                Ok(sent) => results.extend(sent.into_iter().map(|r| r.map_err(|e| e.to_string()))),
                Err(deadline) => {
                    results.extend(entries[start..].iter().map(|_| Err(deadline.to_string())));
                    break;
                }
            }
            start = end;
        }
        results
    }
}
