#![doc = include_str!("../README.md")]

mod bytes;
mod command;
mod explain;
mod matching;
mod pattern;
mod rules;

pub use command::{json_argument, test_pattern};
pub use explain::Mismatch;
pub use pattern::{MAX_DEPTH, MAX_MATCHERS, Pattern};
pub use rules::RuleSet;

/// Why a pattern was refused: where in it (a dotted path, empty for the whole pattern) and
/// why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    path: String,
    reason: String,
}

impl PatternError {
    pub(crate) fn new(path: &str, reason: impl Into<String>) -> Self {
        Self {
            path: path.to_string(),
            reason: reason.into(),
        }
    }

    /// Where in the pattern (`detail.amount`), empty for the pattern as a whole.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Why.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl std::fmt::Display for PatternError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "invalid event pattern: {}", self.reason)
        } else {
            write!(
                f,
                "invalid event pattern at `{}`: {}",
                self.path, self.reason
            )
        }
    }
}

impl std::error::Error for PatternError {}

impl Pattern {
    /// True when `event` (the whole EventBridge event: `source`, `detail-type`, `detail`, ...)
    /// matches the pattern.
    pub fn matches(&self, event: &serde_json::Value) -> bool {
        matching::matches(self, event)
    }
}
