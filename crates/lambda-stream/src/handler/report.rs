//! What an invocation did: each record's end state per pipeline, the fault events published,
//! the counts, and the response for Lambda.

use std::sync::Arc;

use serde::Serialize;

use crate::envelope::Envelope;
use crate::error::HandlerError;
use crate::record::Records;
use crate::telemetry::Summary;

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
    pub(super) _batch: HeldBatch,
}

/// The batch a report holds; its `Debug` shows the count, not every record.
pub(super) struct HeldBatch(pub(super) Arc<Records>);

impl std::fmt::Debug for HeldBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} records", self.0.len())
    }
}
