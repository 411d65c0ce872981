//! What the hub counts as it runs: every event put on the bus, where it went, and what each
//! function did with its batches, so that a run can show every record accounted for.

use std::collections::BTreeMap;

/// The counts of a run.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Events put on the bus.
    pub put: usize,
    /// Events put, by `detail-type`.
    pub put_by_type: BTreeMap<String, usize>,
    /// Events no rule matched.
    pub unrouted: usize,
    /// Events a target could not take (a missing partition key, an input path the event
    /// lacks), each with the rule and target.
    pub target_failures: Vec<String>,
    /// Records written to each stream (Kinesis and table streams), by ARN.
    pub stream_records: BTreeMap<String, usize>,
    /// Messages published to each topic, by ARN.
    pub topic_messages: BTreeMap<String, usize>,
    /// Per function (`stack/LogicalId`).
    pub functions: BTreeMap<String, FunctionStats>,
    /// Records sent to an on-failure destination after the retries, by function.
    pub to_on_failure: BTreeMap<String, usize>,
    /// Records dropped after the retries with no destination, by function (what Lambda does).
    pub discarded: BTreeMap<String, usize>,
    /// Messages moved to a dead-letter queue, by queue ARN.
    pub dead_lettered: BTreeMap<String, usize>,
}

/// What one function did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionStats {
    /// Invocations.
    pub invocations: usize,
    /// Records in them (a retried record counts again).
    pub records: usize,
    /// Invocations that failed as a whole (an error, a panic, an unreadable response).
    pub failed_invocations: usize,
    /// Records reported in `batchItemFailures`.
    pub batch_item_failures: usize,
    /// Records delivered again after a failure.
    pub retried_records: usize,
    /// Fault events the function published.
    pub faults: usize,
    /// Units its pipelines delivered.
    pub delivered: usize,
}
