//! Cold start: a function binary started under a local Lambda Runtime API, timed from `exec`
//! to its first `GET /runtime/invocation/next` (init) and on to its first response, with its
//! resident memory at each point; beside it, the Node library's module load in a fresh `node`
//! process (what a Node function does at init).

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lambda_stream_aws::testing::http::{LocalEndpoint, Reply};

use crate::measure::{Spread, ms, status_kib};
use crate::workload::{Workload, envelope};

const NEXT: &str = "/2018-06-01/runtime/invocation/next";

/// What one cold start measured.
#[derive(Debug, Clone, Copy)]
pub struct ColdStart {
    /// From `exec` to the first request for an invocation.
    pub init_ms: f64,
    /// Resident memory when it asked, KiB.
    pub init_rss_kib: u64,
    /// From handing over the first invocation to its response.
    pub first_invoke_ms: f64,
    /// Peak resident memory after the first response, KiB.
    pub peak_rss_kib: u64,
}

/// A small Kinesis batch the egress functions filter out entirely (so no AWS call is made).
fn first_event() -> String {
    let envelopes: Vec<_> = (0..400)
        .filter(|i| i % 4 != 3)
        .take(100)
        .map(|i| envelope(Workload::Egress, i))
        .collect();
    serde_json::to_string(&lambda_stream::testing::kinesis_event(&envelopes)).unwrap_or_default()
}

/// Starts `function` under a local Runtime API and measures one cold start.
pub async fn measure(function: &Path, env: &[(String, String)]) -> Result<ColdStart, String> {
    let pid = Arc::new(AtomicU32::new(0));
    let init_rss = Arc::new(AtomicU64::new(0));
    let peak_rss = Arc::new(AtomicU64::new(0));
    let event = first_event();
    let (pid_seen, init_seen, peak_seen) = (
        Arc::clone(&pid),
        Arc::clone(&init_rss),
        Arc::clone(&peak_rss),
    );
    let endpoint = LocalEndpoint::start(move |request, number| {
        let child = Some(pid_seen.load(Ordering::SeqCst)).filter(|p| *p != 0);
        if request.path == NEXT && number == 1 {
            init_seen.store(status_kib(child, "VmRSS:"), Ordering::SeqCst);
            return Reply::status(200)
                .header("Lambda-Runtime-Aws-Request-Id", "cold-start-1")
                .header("Lambda-Runtime-Deadline-Ms", far_deadline())
                .header(
                    "Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:bench",
                )
                .header(
                    "Lambda-Runtime-Trace-Id",
                    "Root=1-00000000-000000000000000000000000",
                )
                .body(event.clone());
        }
        if request.path.ends_with("/response") || request.path.ends_with("/error") {
            peak_seen.store(status_kib(child, "VmHWM:"), Ordering::SeqCst);
            return Reply::status(202).body("{}");
        }
        // The next invocation never comes: the measurement is over.
        Reply::hang()
    })
    .await;
    let api = endpoint.url().trim_start_matches("http://").to_string();
    let mut command = Command::new(function);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", &api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", function.display()))?;
    pid.store(child.id(), Ordering::SeqCst);
    let deadline = started + Duration::from_secs(20);
    let result = loop {
        let requests = endpoint.requests();
        let next = requests.iter().find(|r| r.path == NEXT);
        let answered = requests
            .iter()
            .find(|r| r.path.ends_with("/response") || r.path.ends_with("/error"));
        if let (Some(next), Some(answered)) = (next, answered) {
            if answered.path.ends_with("/error") {
                break Err(format!(
                    "the function failed its first invocation: {}",
                    String::from_utf8_lossy(&answered.body)
                ));
            }
            break Ok(ColdStart {
                init_ms: ms(next.at.saturating_duration_since(started)),
                init_rss_kib: init_rss.load(Ordering::SeqCst),
                first_invoke_ms: ms(answered.at.saturating_duration_since(next.at)),
                peak_rss_kib: peak_rss.load(Ordering::SeqCst),
            });
        }
        if let Ok(Some(status)) = child.try_wait() {
            break Err(format!("the function exited ({status}) before answering"));
        }
        if Instant::now() > deadline {
            break Err("the function did not answer within 20 s".to_string());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    };
    let _ = child.kill();
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    result.map_err(|e| format!("{e}\n{}", String::from_utf8_lossy(&output.stderr)))
}

fn far_deadline() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_millis() + 900_000).to_string()
}

/// The Node library's module load in a fresh process: (wall time from `exec` to exit, the
/// `require` alone, peak RSS KiB).
pub fn node_module_load(node_dir: &Path) -> Result<(f64, f64, u64), String> {
    let started = Instant::now();
    let output = Command::new("node")
        .arg(node_dir.join("module-load.js"))
        .output()
        .map_err(|e| format!("cannot start node: {e}"))?;
    let wall = ms(started.elapsed());
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    let line = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let value: serde_json::Value =
        serde_json::from_str(&line).map_err(|e| format!("module-load.js printed `{line}`: {e}"))?;
    Ok((
        wall,
        value["require_ms"].as_f64().unwrap_or(0.0),
        value["rss_kib"].as_u64().unwrap_or(0),
    ))
}

/// Measures `rounds` cold starts of the function, taking turns with Node's module load, and
/// prints the figures.
pub async fn report(
    function: &Path,
    env: &[(String, String)],
    node_dir: Option<&Path>,
    rounds: usize,
) -> Result<(), String> {
    let mut rust = Vec::new();
    let mut node = Vec::new();
    for _ in 0..rounds.max(1) {
        rust.push(measure(function, env).await?);
        if let Some(dir) = node_dir {
            node.push(node_module_load(dir)?);
        }
    }
    let spread =
        |f: &dyn Fn(&ColdStart) -> f64| Spread::of(&rust.iter().map(f).collect::<Vec<_>>());
    let init = spread(&|c| c.init_ms);
    let init_rss = spread(&|c| c.init_rss_kib as f64 / 1024.0);
    let first = spread(&|c| c.first_invoke_ms);
    let peak = spread(&|c| c.peak_rss_kib as f64 / 1024.0);
    println!(
        "Cold start of {} under a local Runtime API, {} rounds (min / median / max):",
        function.display(),
        rust.len()
    );
    println!(
        "  init (exec -> first /next)      {:>7.1} {:>7.1} {:>7.1} ms   RSS {:>5.1} {:>5.1} {:>5.1} MB",
        init.min, init.median, init.max, init_rss.min, init_rss.median, init_rss.max
    );
    println!(
        "  first invocation (100 records)  {:>7.1} {:>7.1} {:>7.1} ms   peak RSS {:>5.1} {:>5.1} {:>5.1} MB",
        first.min, first.median, first.max, peak.min, peak.median, peak.max
    );
    if !node.is_empty() {
        let wall = Spread::of(&node.iter().map(|n| n.0).collect::<Vec<_>>());
        let require = Spread::of(&node.iter().map(|n| n.1).collect::<Vec<_>>());
        let rss = Spread::of(&node.iter().map(|n| n.2 as f64 / 1024.0).collect::<Vec<_>>());
        println!(
            "  node: exec -> aws-lambda-stream loaded {:>7.1} {:>7.1} {:>7.1} ms (require alone {:.1} ms)   RSS {:>5.1} {:>5.1} {:>5.1} MB",
            wall.min, wall.median, wall.max, require.median, rss.min, rss.median, rss.max
        );
    }
    Ok(())
}
