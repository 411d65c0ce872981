//! The fault events of an invocation: one per undecodable record and one per failed unit,
//! published once the whole batch is through.

use super::run::PipelineRun;
use super::settle::{RecordReport, RecordState};
use crate::envelope::{Envelope, Tags};
use crate::error::{HandlerError, StepError};
use crate::fault::{FailedRecord, fault_event};
use crate::publisher::{PublishEntry, Publisher, publish_batch};
use crate::record::{Records, SourceRecord};
use crate::source::Source;

/// The fault events, and the (record, pipeline) pairs they account for.
pub(super) struct Faults {
    pub(super) events: Vec<Envelope>,
    pub(super) accounts_for: Vec<(usize, usize)>,
}

/// A fault event for every record that could not be decoded (when decode failures fault) and
/// every unit that failed for good, leaving out records that end in retry anyway.
pub(super) fn collect<S: Source>(
    source: &S,
    records: &Records,
    reports: &[RecordReport],
    runs: &[PipelineRun],
    decode_faults: bool,
    tags: &Tags,
) -> Faults {
    let mut faults = Faults {
        events: Vec::new(),
        accounts_for: Vec::new(),
    };
    if decode_faults {
        for (i, report) in reports.iter().enumerate() {
            let (Some(reason), Some(record)) = (&report.decode_error, records.get(i)) else {
                continue;
            };
            let error = StepError::permanent(reason.clone()).with_name("DecodeError");
            let failed = [FailedRecord {
                record,
                event: None,
            }];
            faults
                .events
                .push(fault_event("decode", &error, &failed, tags));
            faults.accounts_for.extend((0..runs.len()).map(|p| (i, p)));
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
            faults
                .events
                .push(fault_event(&run.name, error, &failed, tags));
            faults
                .accounts_for
                .extend(positions.into_iter().map(|i| (i, p)));
        }
    }
    faults
}

/// Publishes the fault events in batches within the publisher's limits.
pub(super) async fn publish(
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
