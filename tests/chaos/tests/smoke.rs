//! A small run of the soak test and of every fuzz target, so both stay working in the default
//! test run (the full runs are `scripts/chaos`).

use lambda_stream_chaos::{fuzz, soak};

#[test]
fn a_short_soak_accounts_for_every_record() {
    // The injected panics are expected: keep them out of the output.
    std::panic::set_hook(Box::new(|_| {}));
    let report = soak::run(3_000, 7);
    drop(std::panic::take_hook());
    println!("{report}");
    assert_eq!(report.records, 3_000);
    assert!(
        report.panics_injected > 0 && report.hangs_injected > 0,
        "{report}"
    );
    assert_eq!(report.escaped_panics, 0, "{report}");
    assert_eq!(report.hung_invocations, 0, "{report}");
    assert!(report.violations.is_empty(), "{report}");
    // Every end happened somewhere.
    let faults: usize = report.states.iter().map(|s| s[2]).sum();
    let retries: usize = report.states.iter().map(|s| s[3]).sum();
    assert!(
        faults > 0 && retries > 0 && report.undecodable > 0,
        "{report}"
    );
}

#[test]
fn every_fuzz_target_runs_clean_on_a_few_thousand_inputs() {
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let reports: Vec<_> = fuzz::TARGETS
        .iter()
        .map(|target| {
            (
                target,
                fuzz::run(target, 3_000, 11).expect("a known target"),
            )
        })
        .collect();
    std::panic::set_hook(quiet);
    for (target, report) in reports {
        println!("{target}: {report:?}");
        assert_eq!(report.inputs, 3_000, "{target}");
        assert!(
            report.violations.is_empty(),
            "{target}: {}",
            report.violations
        );
        assert!(
            report.refused > 0 && report.accepted > 0,
            "{target}: {report:?}"
        );
    }
}
