//! What a run did, counted the same way for `demo` and `replay`: every record accounted for,
//! and the summary table they print.

use crate::hub::{Hub, Stats};

/// Where every record went, after a run went idle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounting {
    /// Records not accounted for (must be 0): left undelivered, dropped after the retries with
    /// no destination, refused by a target, or matched by no rule.
    pub unaccounted: usize,
    /// Why, when `unaccounted` is not 0.
    pub detail: Vec<String>,
    /// Messages the notification system received (its topic).
    pub notifications: usize,
    /// Events sent to other subsystems' buses.
    pub shared: usize,
    /// Fault events in the fault log.
    pub faults: usize,
    /// Events the lake received.
    pub lake: usize,
    /// Records on on-failure and dead-letter queues (kept there for a replay).
    pub parked: usize,
}

/// Counts `hub`'s run.
pub fn account(hub: &Hub) -> Accounting {
    let core = hub.core();
    let stats = core.stats();
    let sinks = core.sink_counts();
    let count_where = |needle: &str| -> usize {
        sinks
            .iter()
            .filter(|(arn, _)| arn.contains(needle))
            .map(|(_, count)| count)
            .sum()
    };
    let pending = hub.pending();
    let mut detail = Vec::new();
    for (function, waiting) in &pending {
        if *waiting > 0 {
            detail.push(format!("{function}: {waiting} records never delivered"));
        }
    }
    for (function, dropped) in &stats.discarded {
        detail.push(format!(
            "{function}: {dropped} records dropped after the retries"
        ));
    }
    for failure in &stats.target_failures {
        detail.push(format!("a target refused an event: {failure}"));
    }
    if stats.unrouted > 0 {
        detail.push(format!("{} events matched no rule", stats.unrouted));
    }
    Accounting {
        unaccounted: pending.iter().map(|(_, n)| n).sum::<usize>()
            + stats.discarded.values().sum::<usize>()
            + stats.target_failures.len()
            + stats.unrouted,
        detail,
        notifications: count_where(":sns:"),
        shared: count_where(":event-bus/"),
        faults: count_where(":log-group:"),
        lake: count_where(":deliverystream/"),
        parked: hub.parked(),
    }
}

/// The summary table: events per type, what each function did, where everything went.
pub fn print(stats: &Stats, accounting: &Accounting) {
    println!("Events on the bus, by type:");
    for (kind, count) in &stats.put_by_type {
        println!("  {kind:<28} {count:>8}");
    }
    println!("  {:<28} {:>8}", "(all)", stats.put);
    println!(
        "\n{:<40} {:>11} {:>8} {:>9} {:>13} {:>8} {:>7}",
        "function", "invocations", "records", "delivered", "item failures", "retried", "faults"
    );
    for (function, f) in &stats.functions {
        println!(
            "{:<40} {:>11} {:>8} {:>9} {:>13} {:>8} {:>7}",
            function,
            f.invocations,
            f.records,
            f.delivered,
            f.batch_item_failures,
            f.retried_records,
            f.faults
        );
    }
    let failed: usize = stats.functions.values().map(|f| f.failed_invocations).sum();
    println!(
        "\nnotifications sent: {}; events shared with other subsystems: {}; events in the lake: {}",
        accounting.notifications, accounting.shared, accounting.lake
    );
    println!(
        "fault events: {}; failed invocations: {failed}; records parked on on-failure or dead-letter queues: {}",
        accounting.faults, accounting.parked
    );
    println!("events unaccounted for: {}", accounting.unaccounted);
    for detail in &accounting.detail {
        println!("  {detail}");
    }
}
