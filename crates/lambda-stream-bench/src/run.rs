//! One implementation running one workload in this process: the first invocation is the
//! cold pass, the rest are warm. What a fresh process prints for the comparison driver.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::measure::{ms, peak_rss_kib, timed};
use crate::workload::{CountingPublisher, Workload, handler, invoke};

/// Which implementation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implementation {
    /// This library.
    Library,
    /// The hand-written floor.
    Floor,
}

impl Implementation {
    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Library => "library",
            Self::Floor => "floor",
        }
    }

    /// The implementation of that name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Library, Self::Floor]
            .into_iter()
            .find(|i| i.name() == name)
    }
}

/// What one process measured, as one JSON line (the Node script prints the same shape).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunResult {
    /// `library`, `floor` or `node`.
    pub implementation: String,
    /// `egress` or `listener`.
    pub workload: String,
    /// Records in the event.
    pub records: usize,
    /// Events published by the first pass.
    pub published: usize,
    /// The first pass, in a process that had done nothing else yet.
    pub cold_ms: f64,
    /// Every later pass.
    pub warm_ms: Vec<f64>,
    /// The whole process's peak resident memory after the first pass, in KiB.
    pub rss_kib_first: u64,
    /// The whole process's peak resident memory after every pass, in KiB.
    pub rss_kib_peak: u64,
}

/// Runs `passes` invocations of a workload over the Lambda JSON bytes (at least one).
pub fn run(
    implementation: Implementation,
    workload: Workload,
    json: &[u8],
    records: usize,
    passes: usize,
) -> Result<RunResult, String> {
    let passes = passes.max(1);
    let mut times = Vec::with_capacity(passes);
    let mut published = 0;
    let mut rss_kib_first = 0;
    match implementation {
        Implementation::Library => {
            // Init, as a function does before its first invocation.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .map_err(|e| format!("runtime: {e}"))?;
            let publisher = Arc::new(CountingPublisher::default());
            let handler = handler(workload, Arc::clone(&publisher));
            for pass in 0..passes {
                let (time, count) = timed(|| runtime.block_on(invoke(&handler, &publisher, json)));
                let count = count?;
                times.push(ms(time));
                if pass == 0 {
                    published = count;
                    rss_kib_first = peak_rss_kib();
                }
            }
        }
        Implementation::Floor => {
            let tags = crate::floor::tags_json();
            for pass in 0..passes {
                let (time, count) = timed(|| crate::floor::run(workload, json, &tags));
                times.push(ms(time));
                if pass == 0 {
                    published = count;
                    rss_kib_first = peak_rss_kib();
                }
            }
        }
    }
    Ok(RunResult {
        implementation: implementation.name().to_string(),
        workload: workload.name().to_string(),
        records,
        published,
        cold_ms: times[0],
        warm_ms: times[1..].to_vec(),
        rss_kib_first,
        rss_kib_peak: peak_rss_kib(),
    })
}
