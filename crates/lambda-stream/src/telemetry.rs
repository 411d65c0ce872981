//! What an invocation did: one structured summary line, and the same counts as CloudWatch
//! embedded-format (EMF) metrics when enabled.

use serde::Serialize;
use serde_json::json;

/// Counts for one pipeline. Every record the function received is in exactly one of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PipelineSummary {
    /// The pipeline's name.
    pub name: String,
    /// Records that reached the end of the pipeline.
    pub delivered: usize,
    /// Records filtered out (including test events tagged `skip` and records that did not
    /// decode, which never enter a pipeline).
    pub filtered: usize,
    /// Records that became fault events.
    pub faults: usize,
    /// Records handed back to Lambda to retry.
    pub retries: usize,
    /// Records whose write was older than what the sink holds (a late event): nothing
    /// written.
    pub stale: usize,
    /// Records whose write the sink already held (the same event again): nothing written.
    pub duplicates: usize,
}

impl PipelineSummary {
    /// The total: the number of records in the batch.
    pub fn total(&self) -> usize {
        self.delivered + self.filtered + self.faults + self.retries + self.stale + self.duplicates
    }
}

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// The event source (`kinesis`, `sqs`, ...).
    pub source: &'static str,
    /// Records received.
    pub records: usize,
    /// Records that could not be decoded.
    pub undecodable: usize,
    /// Test events (`tags.skip`) dropped before the pipelines.
    pub skipped: usize,
    /// Per enabled pipeline.
    pub pipelines: Vec<PipelineSummary>,
    /// Fault events published.
    pub faults_published: usize,
    /// Fault events that could not be published (no fault publisher, a failed publish, the
    /// deadline): their records were retried instead.
    pub faults_unpublished: usize,
    /// Records reported back to Lambda for retry.
    pub retried_records: usize,
    /// Wall time of the invocation in milliseconds.
    pub duration_ms: f64,
}

impl Summary {
    /// Writes the summary line (an `info` event with the summary as JSON).
    pub fn log(&self) {
        let json = serde_json::to_string(self).unwrap_or_default();
        tracing::info!(target: "lambda_stream::summary", summary = %json, "invocation summary");
    }

    /// The embedded-format metric documents, one per pipeline, for `functionname`.
    pub fn emf_documents(
        &self,
        namespace: &str,
        function_name: &str,
        timestamp_ms: i64,
    ) -> Vec<String> {
        let metric_names = [
            "delivered",
            "filtered",
            "faults",
            "retries",
            "stale",
            "duplicates",
        ];
        self.pipelines
            .iter()
            .map(|p| {
                let mut doc = json!({
                    "_aws": {
                        "Timestamp": timestamp_ms,
                        "CloudWatchMetrics": [{
                            "Namespace": namespace,
                            "Dimensions": [["functionname", "pipeline"]],
                            "Metrics": metric_names
                                .iter()
                                .map(|n| json!({"Name": n, "Unit": "Count"}))
                                .collect::<Vec<_>>(),
                        }],
                    },
                    "functionname": function_name,
                    "pipeline": p.name,
                });
                let counts = [
                    p.delivered,
                    p.filtered,
                    p.faults,
                    p.retries,
                    p.stale,
                    p.duplicates,
                ];
                for (name, count) in metric_names.iter().zip(counts) {
                    doc[*name] = json!(count);
                }
                doc.to_string()
            })
            .collect()
    }
}

/// Sets up logging the way Lambda expects: JSON lines when the function's log format is JSON
/// (`AWS_LAMBDA_LOG_FORMAT`), the level from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`.
pub fn init_tracing() {
    lambda_runtime::tracing::init_default_subscriber();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_documents_carry_every_count() {
        let summary = Summary {
            pipelines: vec![PipelineSummary {
                name: "p1".into(),
                delivered: 3,
                filtered: 2,
                faults: 1,
                retries: 0,
                stale: 4,
                duplicates: 5,
            }],
            ..Summary::default()
        };
        let docs = summary.emf_documents("NS", "fn", 1000);
        assert_eq!(docs.len(), 1);
        let doc: serde_json::Value = serde_json::from_str(&docs[0]).expect("json");
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "NS");
        assert_eq!(doc["_aws"]["Timestamp"], 1000);
        assert_eq!(doc["pipeline"], "p1");
        assert_eq!(doc["functionname"], "fn");
        assert_eq!(doc["delivered"], 3);
        assert_eq!(doc["stale"], 4);
        assert_eq!(doc["duplicates"], 5);
        assert_eq!(doc["filtered"], 2);
        assert_eq!(doc["faults"], 1);
        assert_eq!(doc["retries"], 0);
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .map(Vec::len),
            Some(6)
        );
    }
}
