//! The `customer-hub` binary: the hub's commands for the Customer subsystem, as a user runs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates")
}

/// A copy of the templates folder with `edit` applied to one file.
fn templates_with(name: &str, file: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("customer-hub-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    for entry in std::fs::read_dir(templates()).expect("templates") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            let target = dir.join(path.file_name().expect("a name"));
            std::fs::copy(&path, &target).expect("copy");
        }
    }
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, edit(text)).expect("write");
    dir
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_customer-hub"))
        .args(args)
        .current_dir(templates().join(".."))
        .output()
        .expect("the command runs")
}

#[test]
fn the_routes_command_checks_and_routes_one_event() {
    let check = run(&["routes", "--check"]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(
        out.contains("every documented event takes exactly its expected routes"),
        "{out}"
    );

    // Expectations that are wrong: the command says which event and exits 1.
    let dir = templates_with("wrong-expectation", "event-hub.routes.json", |text| {
        text.replacen(
            "customer-event-hub/FaultRule",
            "customer-event-hub/NoSuchRule",
            1,
        )
    });
    let expected = dir.join("event-hub.routes.json");
    let expected = expected.to_str().expect("utf-8 path");
    let wrong = run(&["routes", "--check", "--expected", expected]);
    assert_eq!(wrong.status.code(), Some(1));
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        err.contains("fault from custom (own): does not take customer-event-hub/NoSuchRule"),
        "{err}"
    );

    let one = run(&[
        "routes",
        "--event",
        r#"{"source": "custom", "detail-type": "fault", "account": "123456789012"}"#,
    ]);
    assert_eq!(one.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&one.stdout).trim(),
        "customer-event-hub/FaultRule -> customer-event-hub/FaultLogGroup (LogGroup)"
    );
    let bad = run(&["routes", "--templates", "/nonexistent"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("local-hub.json"));
}

#[test]
fn demo_sample_and_replay_account_for_every_record() {
    let demo = run(&["demo", "--customers", "3", "--seed", "11"]);
    let out = String::from_utf8_lossy(&demo.stdout);
    assert_eq!(
        demo.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    assert!(out.contains("events unaccounted for: 0"), "{out}");
    assert!(
        out.contains("c3 at"),
        "one line per customer's order: {out}"
    );

    let file =
        std::env::temp_dir().join(format!("customer-hub-{}-sample.jsonl", std::process::id()));
    let file_arg = file.to_str().expect("utf-8 path");
    let sample = run(&["sample", file_arg, "--events", "40"]);
    assert_eq!(sample.status.code(), Some(0));
    let lines = std::fs::read_to_string(&file).expect("written");
    assert_eq!(lines.lines().count(), 40);

    let replay = run(&["replay", file_arg]);
    let out = String::from_utf8_lossy(&replay.stdout);
    assert_eq!(
        replay.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    assert!(out.contains("40 lines in"), "{out}");
    assert!(out.contains("events unaccounted for: 0"), "{out}");

    // A file that is not there: exit 2, named.
    let missing = run(&["replay", "/nonexistent/events.jsonl"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/events.jsonl"));
}
