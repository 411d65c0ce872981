//! `demo` for any subsystem: the scripted events of `demo-events.jsonl` (beside its
//! `local-hub.json`) put on the bus in order, everything run until idle, then each partition
//! key's trace (the events the bus took for it, in order) and the summary. A subsystem with a
//! scenario of its own (customers calling an API, say) gives [`crate::cli::HubApp::demo`]
//! instead.
//!
//! Each line of the file is one of:
//! - an event (an envelope with `type`): put as the subsystem's own services put them
//!   (source `custom`);
//! - `{"external": EVENT}`: arriving from another subsystem's account (source `external`);
//! - `{"advance_seconds": N}`: everything so far run, then the hub's clock moved on `N` seconds
//!   (deadlines, TTL expiry).

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cli::{Demo, HubApp};
use crate::hub::{HubError, Stats};
use crate::local::{LocalHub, StartOptions};
use crate::summary::Accounting;

/// The file `demo` reads, beside `local-hub.json`.
pub const DEMO_EVENTS: &str = "demo-events.jsonl";

/// What a demo saw.
#[derive(Debug)]
pub struct Traced {
    /// Each partition key's internal events, in the order the bus took them.
    pub traces: BTreeMap<String, Vec<String>>,
    /// The hub's counts.
    pub stats: Stats,
    /// Where every record went.
    pub accounting: Accounting,
    /// How long it took.
    pub wall: Duration,
}

/// Puts the events of `file` on `local`'s bus (see the module's documentation), runs
/// everything and traces it. `local` must keep its log ([`crate::local::StartOptions::keep_log`])
/// for the traces.
pub async fn run_file(local: &mut LocalHub, file: &Path) -> Result<Traced, HubError> {
    let started = Instant::now();
    let opened = std::fs::File::open(file).map_err(|e| {
        HubError(format!(
            "{}: {e} (a demo of this subsystem is its events there, one per line)",
            file.display()
        ))
    })?;
    for (number, line) in std::io::BufReader::new(opened).lines().enumerate() {
        let at = |what: String| HubError(format!("{} line {}: {what}", file.display(), number + 1));
        let line = line.map_err(|e| at(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(&line).map_err(|e| at(format!("not JSON: {e}")))?;
        if let Some(seconds) = value.get("advance_seconds") {
            let seconds = seconds
                .as_u64()
                .ok_or_else(|| at("advance_seconds is not a whole number of seconds".into()))?;
            local.advance(Duration::from_secs(seconds)).await?;
        } else if let Some(event) = value.get("external") {
            check_event(event).map_err(at)?;
            local.external_event(event).map_err(at)?;
        } else {
            check_event(&value).map_err(at)?;
            local.internal_event(&value).map_err(at)?;
        }
    }
    local.settle().await?;
    Ok(trace(local, started))
}

/// The default demo of `app` ([`crate::cli::HubApp::demo`]): the file `templates/demo-events.jsonl`
/// through it; with `faults`, the first function reading a stream or a queue fails the first
/// record it gets twice (Lambda's retries deliver it the third time).
pub async fn run_default<A: HubApp + ?Sized>(
    app: &A,
    templates: &Path,
    demo: &Demo,
) -> Result<Traced, HubError> {
    let mut options = StartOptions {
        keep_log: true,
        ..StartOptions::default()
    };
    if demo.faults {
        let model = crate::load(templates).map_err(|e| HubError(e.to_string()))?;
        options.fail_first_record_twice = model.sources.first().map(|s| s.function.clone());
    }
    let mut local = app.start(templates, options).await?;
    run_file(&mut local, &templates.join(DEMO_EVENTS)).await
}

fn check_event(event: &Value) -> Result<(), String> {
    match event.get("type") {
        Some(Value::String(kind)) if !kind.is_empty() => Ok(()),
        _ => Err("not an event: it has no `type` (nor is it {\"external\": EVENT} or {\"advance_seconds\": N})".into()),
    }
}

/// The traces, counts and accounting of what `local` ran since `started`.
pub fn trace(local: &LocalHub, started: Instant) -> Traced {
    let core = local.hub.core();
    let mut traces: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for logged in core.log() {
        if logged.source == "external" {
            continue;
        }
        if let Some(key) = logged.partition_key {
            traces.entry(key).or_default().push(logged.detail_type);
        }
    }
    Traced {
        traces,
        stats: core.stats(),
        accounting: crate::summary::account(&local.hub),
        wall: started.elapsed(),
    }
}

/// The traces and the summary, as the `demo` command prints them.
pub fn print(traced: &Traced) {
    println!("Each partition key's internal events, in the order the bus took them:");
    for (key, trace) in &traced.traces {
        println!("  {key}: {}", trace.join(" → "));
    }
    println!();
    crate::summary::print(&traced.stats, &traced.accounting);
    println!("wall time: {:.0} ms", traced.wall.as_secs_f64() * 1_000.0);
}
