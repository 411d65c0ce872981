//! The `lambda-stream` command as a user runs it: its help, `new`, `pattern test`, `hub`
//! (routes here, the other commands passed on to a hub binary), `templates check`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lambda_stream(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lambda-stream"))
        .args(args)
        .current_dir(repository())
        .output()
        .expect("the command runs")
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lambda-stream-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_names_every_command_with_examples() {
    let help = lambda_stream(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let out = text(&help.stdout);
    for command in ["new", "hub", "pattern", "templates", "Examples:"] {
        assert!(out.contains(command), "{command}: {out}");
    }
    let hub = text(&lambda_stream(&["hub", "--help"]).stdout);
    for command in [
        "demo",
        "replay",
        "serve",
        "routes",
        "sample",
        "--hub-binary",
    ] {
        assert!(hub.contains(command), "{command}: {hub}");
    }
    let new = text(&lambda_stream(&["new", "--help"]).stdout);
    for option in [
        "--path",
        "--kind",
        "gateway",
        "bff",
        "control",
        "--lambda-stream-path",
    ] {
        assert!(new.contains(option), "{option}: {new}");
    }
    let wrong = lambda_stream(&["hub", "demoo"]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        text(&wrong.stderr).contains("demo"),
        "suggests the command meant"
    );
}

#[test]
fn new_writes_a_whole_service_and_refuses_what_it_cannot_do() {
    let dir = temp("new");
    let path = dir.to_str().expect("utf-8");
    let made = lambda_stream(&["new", "favorites", "--path", path, "--kind", "control"]);
    assert_eq!(made.status.code(), Some(0), "{}", text(&made.stderr));
    assert!(text(&made.stdout).contains("cargo test"), "says what next");
    for file in [
        "Cargo.toml",
        "service/src/listener.rs",
        "service/src/trigger.rs",
        "service/src/rules.rs",
        "service/src/bin/favorites-listener.rs",
        "hub/tests/hub.rs",
        "templates/favorites.yaml",
        "templates/local-hub.json",
    ] {
        assert!(dir.join(file).is_file(), "{file}");
    }
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("manifest");
    let checkout = repository().canonicalize().expect("the checkout");
    assert!(
        manifest.contains(&format!(
            "path = \"{}/crates/lambda-stream\"",
            checkout.display()
        )),
        "depends on this checkout by default: {manifest}"
    );

    let again = lambda_stream(&["new", "favorites", "--path", path]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("not empty"),
        "{}",
        text(&again.stderr)
    );

    let other = temp("new-bad");
    let other = other.to_str().expect("utf-8");
    let bad_name = lambda_stream(&["new", "Favorites!", "--path", other]);
    assert_eq!(bad_name.status.code(), Some(2));
    assert!(text(&bad_name.stderr).contains("lowercase letters"));
    assert!(!Path::new(other).exists(), "nothing written");
    let bad_kind = lambda_stream(&["new", "favorites", "--path", other, "--kind", "saga"]);
    assert_eq!(bad_kind.status.code(), Some(2));
    assert!(
        text(&bad_kind.stderr).contains("gateway"),
        "{}",
        text(&bad_kind.stderr)
    );
    let bad_checkout = lambda_stream(&[
        "new",
        "favorites",
        "--path",
        other,
        "--lambda-stream-path",
        "/nonexistent",
    ]);
    assert_eq!(bad_checkout.status.code(), Some(2));
    assert!(text(&bad_checkout.stderr).contains("not a lambda-stream checkout"));
}

#[test]
fn pattern_test_says_whether_an_event_matches() {
    let pattern = r#"{"source": ["custom"], "detail": {"type": ["order-placed"]}}"#;
    let matching = r#"{"source": "custom", "detail": {"type": "order-placed"}}"#;
    let other = r#"{"source": "custom", "detail": {"type": "order-cancelled"}}"#;
    assert_eq!(
        lambda_stream(&["pattern", "test", pattern, matching])
            .status
            .code(),
        Some(0)
    );
    let no = lambda_stream(&["pattern", "test", pattern, other]);
    assert_eq!(no.status.code(), Some(1));
    assert!(
        text(&no.stdout).contains("detail.type"),
        "names the field: {}",
        text(&no.stdout)
    );
    let invalid = lambda_stream(&["pattern", "test", r#"{"source": "custom"}"#, matching]);
    assert_eq!(invalid.status.code(), Some(2));
}

#[test]
fn hub_routes_runs_here_and_checks_the_documented_routes() {
    let check = lambda_stream(&["hub", "routes", "--check"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    assert!(
        text(&check.stdout).contains("every documented event takes exactly its expected routes")
    );
    let one = lambda_stream(&[
        "hub",
        "routes",
        "--event",
        r#"{"source": "custom", "detail-type": "fault", "account": "123456789012"}"#,
    ]);
    assert_eq!(
        text(&one.stdout).trim(),
        "customer-event-hub/FaultRule -> customer-event-hub/FaultLogGroup (LogGroup)"
    );
    let missing = lambda_stream(&[
        "hub",
        "routes",
        "--templates",
        "crates/local-hub/tests/alone",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("event-hub.routes.json"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn the_other_hub_commands_run_the_hub_binary_with_the_same_command() {
    // A hub binary that writes down how it was called and exits 3.
    let dir = temp("hub-binary");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let record = dir.join("args.txt");
    let binary = dir.join("hub.sh");
    std::fs::write(
        &binary,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\nexit 3\n",
            record.display()
        ),
    )
    .expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let run = lambda_stream(&[
        "hub",
        "demo",
        "--faults",
        "--seed",
        "5",
        "--hub-binary",
        binary.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        run.status.code(),
        Some(3),
        "its exit code: {}",
        text(&run.stderr)
    );
    let args = std::fs::read_to_string(&record).expect("it ran");
    let args: Vec<&str> = args.lines().collect();
    let templates = repository()
        .canonicalize()
        .expect("the checkout")
        .join("templates");
    assert_eq!(
        args[..6],
        ["demo", "--size", "20", "--seed", "5", "--faults"]
    );
    assert_eq!(args[6], "--templates");
    assert_eq!(
        Path::new(args[7]).canonicalize().expect("a path"),
        templates
    );

    // No hub binary named: what to do.
    let alone = lambda_stream(&["hub", "demo", "--templates", "crates/local-hub/tests/alone"]);
    assert_eq!(alone.status.code(), Some(2));
    let error = text(&alone.stderr);
    assert!(
        error.contains("names no hub binary") && error.contains("--hub-binary"),
        "{error}"
    );
    let absent = lambda_stream(&["hub", "serve", "--hub-binary", "/nonexistent/hub"]);
    assert_eq!(absent.status.code(), Some(2));
    assert!(text(&absent.stderr).contains("/nonexistent/hub"));
}

#[test]
fn templates_check_says_how_to_get_its_python_tools() {
    let absent = lambda_stream(&[
        "templates",
        "check",
        "templates",
        "--python",
        "/nonexistent/python",
    ]);
    assert_eq!(absent.status.code(), Some(2));
    let error = text(&absent.stderr);
    assert!(
        error.contains("pip install cfn-lint aws-sam-translator"),
        "{error}"
    );
    let no_dir = lambda_stream(&["templates", "check", "/nonexistent/templates"]);
    assert_eq!(no_dir.status.code(), Some(2));
    assert!(text(&no_dir.stderr).contains("not a folder of templates"));
}

/// The Python with cfn-lint and the SAM translator that scripts/test installs.
fn python_with_the_tools() -> String {
    match std::env::var("LAMBDA_STREAM_PYTHON") {
        Ok(python) if !python.is_empty() => python,
        _ => panic!(
            "this test needs a Python with cfn-lint and aws-sam-translator: run scripts/test, or set LAMBDA_STREAM_PYTHON"
        ),
    }
}

#[test]
#[ignore = "needs a Python with cfn-lint and aws-sam-translator: scripts/test sets LAMBDA_STREAM_PYTHON"]
fn templates_check_passes_the_scaffold_and_fails_a_bad_template() {
    let python = python_with_the_tools();
    let dir = temp("check");
    let path = dir.to_str().expect("utf-8");
    for kind in ["bff", "control", "gateway"] {
        let service = dir.join(kind);
        let made = lambda_stream(&[
            "new",
            &format!("checked-{kind}"),
            "--kind",
            kind,
            "--path",
            service.to_str().expect("utf-8"),
        ]);
        assert_eq!(made.status.code(), Some(0), "{}", text(&made.stderr));
        let out = dir.join(format!("{kind}-out"));
        let checked = lambda_stream(&[
            "templates",
            "check",
            service.join("templates").to_str().expect("utf-8"),
            "--out",
            out.to_str().expect("utf-8"),
            "--python",
            &python,
        ]);
        assert_eq!(
            checked.status.code(),
            Some(0),
            "{kind}: {}{}",
            text(&checked.stdout),
            text(&checked.stderr)
        );
        assert!(
            out.join(format!("checked-{kind}.json")).is_file(),
            "the translation is kept"
        );
    }

    let bad = dir.join("bad");
    std::fs::create_dir_all(&bad).expect("dir");
    std::fs::write(
        bad.join("bad.yaml"),
        "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\nResources:\n  Function:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: .\n      Handler: bootstrap\n      Runtime: provided.al2\n      Policies:\n        - Statement:\n            - Effect: Allow\n              Action: 's3:*'\n              Resource: '*'\n",
    )
    .expect("write");
    let checked = lambda_stream(&[
        "templates",
        "check",
        bad.to_str().expect("utf-8"),
        "--out",
        &format!("{path}/bad-out"),
        "--python",
        &python,
    ]);
    assert_eq!(checked.status.code(), Some(1));
    let problems = text(&checked.stderr);
    for expected in ["not provided.al2023", "not arm64", "action 's3:*'"] {
        assert!(problems.contains(expected), "{expected}: {problems}");
    }
    let self_test = lambda_stream(&["templates", "self-test", "--python", &python]);
    assert_eq!(
        self_test.status.code(),
        Some(0),
        "{}",
        text(&self_test.stderr)
    );
}
