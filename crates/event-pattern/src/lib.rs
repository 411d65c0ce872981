//! EventBridge event patterns: parse a rule's pattern and tell which events it matches,
//! offline, as `aws events test-event-pattern` does online.
//!
//! ```
//! use event_pattern::{Pattern, RuleSet};
//!
//! let pattern = Pattern::parse(r#"{"source": ["custom"], "detail": {"type": [{"prefix": "order-"}]}}"#)?;
//! let event = serde_json::json!({"source": "custom", "detail": {"type": "order-placed"}});
//! assert!(pattern.matches(&event));
//!
//! let rules = RuleSet::new(vec![("orders".to_string(), pattern)]);
//! assert_eq!(rules.matching(&event), vec!["orders"]);
//! # Ok::<(), event_pattern::PatternError>(())
//! ```
//!
//! Supported, as the EventBridge documentation on event patterns and content filtering
//! describes them: exact values (strings, numbers compared as numbers, booleans, `null`),
//! arrays in events (any element), nested fields, `prefix`, `suffix` (both also with
//! `equals-ignore-case`), `equals-ignore-case`, `wildcard`, `anything-but` (a value, a list,
//! `prefix`, `suffix`, `equals-ignore-case`, `wildcard`), `numeric` (one or two comparisons),
//! `exists`, `cidr` (IPv4 and IPv6), and `$or` at any level. A pattern EventBridge would refuse
//! is a [`PatternError`] naming the path and the reason.

mod command;
mod explain;
mod matching;
mod pattern;
mod rules;

pub use command::test_pattern;
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
