//! `replay FILE`: a JSON-lines file of envelopes (one event per line, as the lake keeps them)
//! put on the bus in `PutEvents` batches of 10, the subsystem run after every few hundred, with
//! a progress bar and the same summary as the demo.

use std::io::BufRead;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::hub::{BusEntry, HubError, Stats};
use crate::local::LocalHub;
use crate::summary::Accounting;

/// Lines put on the bus before the subsystem runs again.
const CHUNK: usize = 500;

/// What a replay did.
#[derive(Debug)]
pub struct Replayed {
    /// Lines read.
    pub lines: usize,
    /// Lines that were not an event (not JSON, no `type`): not put, each named.
    pub refused: Vec<String>,
    /// The hub's counts.
    pub stats: Stats,
    /// Where every record went.
    pub accounting: Accounting,
    /// How long it took.
    pub wall: Duration,
}

/// Replays `file` through the subsystem `local` runs; `progress` shows a bar.
pub async fn replay(
    local: &mut LocalHub,
    file: &Path,
    progress: bool,
) -> Result<Replayed, HubError> {
    let started = Instant::now();
    local.hub.core().count_sinks_only();
    let size = std::fs::metadata(file)
        .map_err(|e| HubError(format!("{}: {e}", file.display())))?
        .len();
    let reader = std::io::BufReader::new(
        std::fs::File::open(file).map_err(|e| HubError(format!("{}: {e}", file.display())))?,
    );
    let bar = if progress {
        let bar = indicatif::ProgressBar::new(size);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {per_sec} {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let bus = local.bus().to_string();
    let mut lines = 0;
    let mut refused = Vec::new();
    let mut batch: Vec<BusEntry> = Vec::with_capacity(10);
    let mut since_run = 0;
    for line in reader.lines() {
        let line = line.map_err(|e| HubError(format!("{}: {e}", file.display())))?;
        lines += 1;
        bar.inc(line.len() as u64 + 1);
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(&line) {
            Ok(event) if event.get("type").and_then(Value::as_str).is_some() => {
                batch.push(BusEntry {
                    // As the subsystem's own publishers put them.
                    source: "custom".to_string(),
                    detail_type: event["type"].as_str().unwrap_or_default().to_string(),
                    detail: line,
                    resources: Vec::new(),
                    account: None,
                });
            }
            Ok(_) => refused.push(format!("line {lines}: no `type`")),
            Err(error) => refused.push(format!("line {lines}: not JSON: {error}")),
        }
        if batch.len() == 10 {
            put(local, &bus, &mut batch, &mut refused);
        }
        since_run += 1;
        if since_run >= CHUNK {
            put(local, &bus, &mut batch, &mut refused);
            local.settle().await?;
            since_run = 0;
            bar.set_message(format!(
                "{} events on the bus",
                local.hub.core().stats().put
            ));
        }
    }
    put(local, &bus, &mut batch, &mut refused);
    local.settle().await?;
    bar.finish_and_clear();
    Ok(Replayed {
        lines,
        refused,
        stats: local.hub.core().stats(),
        accounting: crate::summary::account(&local.hub),
        wall: started.elapsed(),
    })
}

/// Puts `batch` on the bus (one `PutEvents`), noting the entries refused.
fn put(local: &LocalHub, bus: &str, batch: &mut Vec<BusEntry>, refused: &mut Vec<String>) {
    if batch.is_empty() {
        return;
    }
    for result in local.hub.core().put_events(bus, batch) {
        if let Err(error) = result {
            refused.push(error);
        }
    }
    batch.clear();
}
