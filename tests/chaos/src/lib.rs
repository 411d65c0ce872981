//! Fault injection for lambda-stream, run by `scripts/chaos` (not part of the default test
//! run; a small smoke run of each is):
//!
//! - [`soak`]: a million records through several pipelines under a chaos publisher and
//!   chaotic steps (entry failures, throttles, permanent refusals, timeouts, hangs, panics),
//!   every record's end checked against what the sinks recorded, the fault events byte for
//!   byte, and the partial batch responses.
//! - [`fuzz`]: a seeded structure-aware mutator over every source decoder and the envelope:
//!   no panic, no hang, every record accounted for, every envelope that parses writes back to
//!   one equal to it.

pub mod fuzz;
pub mod mutate;
pub mod soak;

/// Violations of the guarantees, by kind; a run passes when it is empty.
#[derive(Debug, Default)]
pub struct Violations(std::collections::BTreeMap<String, (usize, String)>);

impl Violations {
    /// Records a violation of `kind` (the first example of each kind is kept).
    pub fn add(&mut self, kind: &str, example: impl FnOnce() -> String) {
        let entry = self
            .0
            .entry(kind.to_string())
            .or_insert_with(|| (0, example()));
        entry.0 += 1;
    }

    /// True when there were none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many there were in all.
    pub fn total(&self) -> usize {
        self.0.values().map(|(n, _)| n).sum()
    }

    /// Adds another run's violations.
    pub fn merge(&mut self, other: Self) {
        for (kind, (n, example)) in other.0 {
            let entry = self.0.entry(kind).or_insert((0, example));
            entry.0 += n;
        }
    }
}

impl std::fmt::Display for Violations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no violations");
        }
        for (kind, (n, example)) in &self.0 {
            writeln!(f, "{n:>8} {kind}: e.g. {example}")?;
        }
        Ok(())
    }
}

/// The parts of a fault event the checks read: the unit's pipeline and its records, as raw
/// JSON so they compare byte for byte with what was sent.
#[derive(serde::Deserialize)]
pub struct FaultDoc<'a> {
    /// The failed unit.
    #[serde(borrow)]
    pub uow: FaultUow<'a>,
}

/// A fault's `uow`: one record, or a batch of them.
#[derive(serde::Deserialize)]
pub struct FaultUow<'a> {
    /// The pipeline (`decode` for an undecodable record).
    #[serde(default)]
    pub pipeline: Option<String>,
    /// The record, for a unit of one.
    #[serde(borrow, default)]
    pub record: Option<&'a serde_json::value::RawValue>,
    /// The records, for a batch unit.
    #[serde(borrow, default)]
    pub batch: Option<Vec<BatchMember<'a>>>,
    /// Set when the record was trimmed to fit.
    #[serde(default)]
    pub trimmed: Option<serde_json::Value>,
}

/// One record of a batch unit's fault.
#[derive(serde::Deserialize)]
pub struct BatchMember<'a> {
    /// The record.
    #[serde(borrow)]
    pub record: &'a serde_json::value::RawValue,
}

impl<'a> FaultUow<'a> {
    /// Every record the fault carries.
    pub fn records(self) -> Vec<&'a serde_json::value::RawValue> {
        match (self.record, self.batch) {
            (Some(record), _) => vec![record],
            (None, Some(batch)) => batch.into_iter().map(|m| m.record).collect(),
            (None, None) => Vec::new(),
        }
    }
}

/// A current-thread runtime whose clock is paused: waits and deadlines cost no wall time.
pub fn paused_runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => panic!("cannot start a tokio runtime: {error}"),
    }
}
