//! Configuration from the environment, read once when the function starts (never per event,
//! never from global state: the handler owns its [`Config`]).
//!
//! | variable | meaning |
//! |---|---|
//! | `ACCOUNT_NAME` | `account` tag |
//! | `AWS_REGION` | `region` tag |
//! | `STAGE` | `stage` tag |
//! | `PROJECT` (or `SERVERLESS_PROJECT`) | `source` tag |
//! | `AWS_LAMBDA_FUNCTION_NAME` | `functionname` tag |
//! | `ENABLED_PIPELINES` | comma-separated names: only these run |
//! | `DISABLED_PIPELINES` | comma-separated names: these do not run |
//! | `LAMBDA_STREAM_METRICS` | `emf` prints CloudWatch embedded-format metrics |
//! | `LAMBDA_STREAM_METRICS_NAMESPACE` | the metrics namespace (default `LambdaStream`) |
//! | `LAMBDA_STREAM_DEADLINE_MARGIN_MS` | how long before Lambda's deadline the pipelines stop (default 1000; see [`crate::deadline`]) |
//! | `COMPRESSION_THRESHOLD`, `COMPRESSION_IGNORE` | `publish` compresses values over this many bytes of estimate, except those named (Node's option names; off when unset: see [`crate::compression`]) |

use std::collections::HashSet;
use std::time::Duration;

use crate::compression::Compression;
use crate::envelope::Tags;

/// What the handler reads from the environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// The standard tags published events carry.
    pub tags: Tags,
    /// When set, only these pipelines run.
    pub enabled_pipelines: Option<HashSet<String>>,
    /// These pipelines do not run.
    pub disabled_pipelines: HashSet<String>,
    /// Print embedded-format metrics, in this namespace.
    pub emf_namespace: Option<String>,
    /// How long before the invocation's deadline the pipelines stop, so that what did not
    /// finish is settled and the response is sent in time.
    pub deadline_margin: Duration,
    /// How `publish` compresses in pipelines that do not say (`COMPRESSION_THRESHOLD`).
    pub compression: Option<Compression>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            tags: Tags::new(),
            enabled_pipelines: None,
            disabled_pipelines: HashSet::new(),
            emf_namespace: None,
            deadline_margin: crate::deadline::DEFAULT_MARGIN,
            compression: None,
        }
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut tags = Tags::new();
        let standard = [
            ("account", get("ACCOUNT_NAME")),
            ("region", get("AWS_REGION")),
            ("stage", get("STAGE")),
            (
                "source",
                get("PROJECT").or_else(|| get("SERVERLESS_PROJECT")),
            ),
            ("functionname", get("AWS_LAMBDA_FUNCTION_NAME")),
        ];
        for (name, value) in standard {
            if let Some(value) = value {
                tags.insert(name, value);
            }
        }
        let emf_namespace = get("LAMBDA_STREAM_METRICS")
            .filter(|v| v.eq_ignore_ascii_case("emf"))
            .map(|_| {
                get("LAMBDA_STREAM_METRICS_NAMESPACE").unwrap_or_else(|| "LambdaStream".into())
            });
        Self {
            tags,
            enabled_pipelines: get("ENABLED_PIPELINES").map(|v| names(&v)),
            disabled_pipelines: get("DISABLED_PIPELINES")
                .map(|v| names(&v))
                .unwrap_or_default(),
            emf_namespace,
            deadline_margin: match get("LAMBDA_STREAM_DEADLINE_MARGIN_MS") {
                Some(ms) => match ms.trim().parse::<u64>() {
                    Ok(ms) => Duration::from_millis(ms),
                    Err(_) => {
                        tracing::warn!(value = %ms, "LAMBDA_STREAM_DEADLINE_MARGIN_MS is not a number of milliseconds; using the default");
                        crate::deadline::DEFAULT_MARGIN
                    }
                },
                None => crate::deadline::DEFAULT_MARGIN,
            },
            compression: match Compression::from_lookup(get) {
                Ok(compression) => compression,
                Err(error) => {
                    tracing::warn!(%error, "compression stays off");
                    None
                }
            },
        }
    }

    /// The function's region (`AWS_REGION`, the `region` tag).
    pub fn region(&self) -> Option<&str> {
        self.tags.get_str("region")
    }

    /// Whether the pipeline of this name runs.
    pub fn is_enabled(&self, pipeline: &str) -> bool {
        let enabled = self
            .enabled_pipelines
            .as_ref()
            .is_none_or(|names| names.contains(pipeline));
        enabled && !self.disabled_pipelines.contains(pipeline)
    }
}

fn names(list: &str) -> HashSet<String> {
    list.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Config {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn standard_tags_come_from_the_environment() {
        let c = config(&[
            ("ACCOUNT_NAME", "dev"),
            ("AWS_REGION", "us-east-1"),
            ("STAGE", "test"),
            ("SERVERLESS_PROJECT", "customer"),
            ("AWS_LAMBDA_FUNCTION_NAME", "fn-1"),
        ]);
        assert_eq!(c.tags.get_str("account"), Some("dev"));
        assert_eq!(c.tags.get_str("region"), Some("us-east-1"));
        assert_eq!(c.tags.get_str("stage"), Some("test"));
        assert_eq!(c.tags.get_str("source"), Some("customer"));
        assert_eq!(c.tags.get_str("functionname"), Some("fn-1"));
        let c = config(&[("PROJECT", "p"), ("SERVERLESS_PROJECT", "s")]);
        assert_eq!(c.tags.get_str("source"), Some("p"));
        assert_eq!(config(&[]).tags.len(), 0);
    }

    #[test]
    fn pipelines_are_toggled_by_exact_name() {
        let c = config(&[("ENABLED_PIPELINES", "a, b,,"), ("DISABLED_PIPELINES", "b")]);
        assert!(c.is_enabled("a"));
        assert!(!c.is_enabled("b"));
        assert!(!c.is_enabled("c"));
        assert!(!c.is_enabled("a2"));
        let c = config(&[("DISABLED_PIPELINES", "x")]);
        assert!(c.is_enabled("a"));
        assert!(!c.is_enabled("x"));
    }

    #[test]
    fn the_deadline_margin_defaults_to_a_second() {
        assert_eq!(config(&[]).deadline_margin, Duration::from_secs(1));
        assert_eq!(Config::default().deadline_margin, Duration::from_secs(1));
        let c = config(&[("LAMBDA_STREAM_DEADLINE_MARGIN_MS", "250")]);
        assert_eq!(c.deadline_margin, Duration::from_millis(250));
        let c = config(&[("LAMBDA_STREAM_DEADLINE_MARGIN_MS", "soon")]);
        assert_eq!(c.deadline_margin, Duration::from_secs(1));
    }

    #[test]
    fn compression_is_off_unless_the_environment_sets_a_threshold() {
        assert_eq!(config(&[]).compression, None);
        assert_eq!(
            config(&[
                ("COMPRESSION_THRESHOLD", "10240"),
                ("COMPRESSION_IGNORE", "raw")
            ])
            .compression,
            Some(Compression::threshold(10_240).ignore(["raw"]))
        );
        assert_eq!(
            config(&[("COMPRESSION_THRESHOLD", "big")]).compression,
            None
        );
    }

    #[test]
    fn emf_is_opt_in() {
        assert_eq!(config(&[]).emf_namespace, None);
        assert_eq!(
            config(&[("LAMBDA_STREAM_METRICS", "EMF")])
                .emf_namespace
                .as_deref(),
            Some("LambdaStream")
        );
        assert_eq!(
            config(&[
                ("LAMBDA_STREAM_METRICS", "emf"),
                ("LAMBDA_STREAM_METRICS_NAMESPACE", "N")
            ])
            .emf_namespace
            .as_deref(),
            Some("N")
        );
    }
}
