//! The demo scenario as a test: exact counts per event type and per function, each order's
//! trace as its fate says, every record accounted for; and the same with faults injected (a
//! processor outage, a malformed restaurant event, a listener failing a record twice), with
//! the retries and the fault event as Lambda would produce them.

use std::path::{Path, PathBuf};

use customer_subsystem::demo::{Fate, Report, Scenario, run};

fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates")
}

fn count(report: &Report, fate: Fate) -> usize {
    report.orders.iter().filter(|o| o.fate == fate).count()
}

fn expected_trace(fate: Fate) -> Vec<&'static str> {
    match fate {
        Fate::Delivered => vec![
            "order-placed",
            "payment-requested",
            "payment-authorized",
            "order-accepted",
            "order-confirmed",
            "delivery-out-for-delivery",
            "delivery-delivered",
            "order-delivered",
        ],
        Fate::Paid => vec!["order-placed", "payment-requested", "payment-authorized"],
        Fate::Declined => vec![
            "order-placed",
            "payment-requested",
            "payment-declined",
            "order-cancelled",
        ],
        Fate::Expired => vec!["order-placed", "order-expired"],
        Fate::Cancelled => vec!["order-placed", "order-cancelled"],
    }
}

fn check(report: &Report, faults: bool) {
    let n = report.orders.len();
    let (d, p, x, e, c) = (
        count(report, Fate::Delivered),
        count(report, Fate::Paid),
        count(report, Fate::Declined),
        count(report, Fate::Expired),
        count(report, Fate::Cancelled),
    );
    assert!(
        d > 0 && p > 0 && x > 0 && e > 0 && c > 0,
        "every fate occurs: {d} {p} {x} {e} {c}"
    );
    let restaurants = 3;
    let expected: Vec<(&str, usize)> = vec![
        ("delivery-delivered", d),
        ("delivery-out-for-delivery", d),
        ("fault", usize::from(faults)),
        ("menu-updated", restaurants),
        // The Restaurant subsystem's (external) and the gateway's internal one.
        ("order-accepted", 2 * d),
        // The control service's and the customers', each also shared externally.
        ("order-cancelled", 2 * x + 2 * c),
        ("order-confirmed", d),
        ("order-delivered", d),
        ("order-expired", e),
        // The BFF's, and the egress gateway's external one.
        ("order-placed", 2 * n),
        ("payment-authorized", d + p),
        ("payment-declined", x),
        ("payment-requested", d + p + x),
        (
            "restaurant-menu-published",
            restaurants + usize::from(faults),
        ),
    ];
    let mut found: Vec<(&str, usize)> = report
        .stats
        .put_by_type
        .iter()
        .map(|(kind, count)| (kind.as_str(), *count))
        .collect();
    let mut expected = expected;
    expected.retain(|(_, count)| *count > 0);
    expected.sort();
    found.sort();
    assert_eq!(found, expected);

    for order in &report.orders {
        let trace = report.traces.get(&order.id).cloned().unwrap_or_default();
        assert_eq!(
            trace,
            expected_trace(order.fate),
            "{} ({:?})",
            order.customer,
            order.fate
        );
    }

    // Every internal event reaches each of the internal stream's five readers.
    let external = restaurants + usize::from(faults) + d + n + x + c;
    let internal = report.stats.put - external - usize::from(faults);
    let function = |name: &str| {
        report
            .stats
            .functions
            .get(name)
            .cloned()
            .unwrap_or_default()
    };
    for reader in [
        "notification-egress-gateway/Function",
        "order-bff/ListenerFunction",
        "order-egress-gateway/Function",
        "payment-egress-gateway/Function",
    ] {
        let f = function(reader);
        assert_eq!(f.records, internal, "{reader}");
        assert_eq!(
            (f.batch_item_failures, f.retried_records, f.faults),
            (0, 0, 0),
            "{reader}"
        );
    }
    let control = function("order-control/ListenerFunction");
    if faults {
        // The first record failed twice: reported twice, the batch resumed at it each time.
        assert_eq!(control.batch_item_failures, 2);
        assert!(control.retried_records >= 2);
        assert_eq!(control.records, internal + control.retried_records);
    } else {
        assert_eq!(
            (control.records, control.batch_item_failures),
            (internal, 0)
        );
    }
    let restaurant = function("restaurant-ingress-gateway/Function");
    assert_eq!(restaurant.records, restaurants + usize::from(faults) + d);
    assert_eq!(
        restaurant.faults,
        usize::from(faults),
        "the malformed event is a fault"
    );
    assert_eq!(function("delivery-ingress-gateway/Function").records, 2 * d);
    assert_eq!(
        report.accounting.faults,
        usize::from(faults),
        "fault events in the fault log"
    );

    assert_eq!(report.accounting.notifications, n + d + p + x);
    assert_eq!(
        report.accounting.shared,
        n + x + c,
        "order-placed and order-cancelled to the Order subsystem"
    );
    // With the outage, the processor refused two calls; the gateway's retries called again.
    assert_eq!(
        report.processor,
        (d + p + x + if faults { 2 } else { 0 }, d + p + x)
    );
    assert_eq!(
        report.accounting.unaccounted, 0,
        "{:?}",
        report.accounting.detail
    );
    assert_eq!(report.accounting.parked, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_accounts_for_every_record() {
    let scenario = Scenario {
        seed: 7,
        customers: 20,
        faults: false,
    };
    let report = run(&templates(), &scenario).await.expect("runs");
    check(&report, false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_faults_injected_every_record_is_still_accounted_for() {
    let scenario = Scenario {
        seed: 11,
        customers: 30,
        faults: true,
    };
    let report = run(&templates(), &scenario).await.expect("runs");
    check(&report, true);
}
