//! The subsystem's templates, read as the local hub deploys them, route every documented event
//! exactly as `templates/event-hub.routes.json` says; a routing mistake in a template (a
//! pattern, an event source on the wrong stream) is caught, and a template the hub cannot read
//! is an error naming the file, the resource and the reason.

use std::path::{Path, PathBuf};

use local_hub::{Expectations, Router};

fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates")
}

/// A copy of the templates folder with `edit` applied to one file.
fn templates_with(name: &str, file: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("local-hub-{}-{name}", std::process::id()));
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

fn problems(dir: &Path) -> Vec<String> {
    let model = local_hub::load(dir).expect("templates load");
    let expectations =
        Expectations::read(&templates().join("event-hub.routes.json")).expect("expectations");
    expectations.check(&Router::new(&model))
}

#[test]
fn documented_events_take_exactly_their_routes() {
    let expectations =
        Expectations::read(&templates().join("event-hub.routes.json")).expect("expectations");
    assert!(
        expectations.events.len() >= 10,
        "the file documents the hub's events"
    );
    assert_eq!(problems(&templates()), Vec::<String>::new());
}

#[test]
fn every_function_and_event_source_is_read() {
    let model = local_hub::load(&templates()).expect("templates load");
    let binaries: Vec<&str> = model.functions.iter().map(|f| f.binary.as_str()).collect();
    assert_eq!(binaries.len(), 11, "{binaries:?}");
    for binary in [
        "order-bff-trigger",
        "order-control-listener",
        "payment-ingress-webhook-gateway",
    ] {
        assert!(binaries.contains(&binary), "{binary} in {binaries:?}");
    }
    // Stream sources keep Lambda's settings as the templates give them.
    let trigger = model
        .sources
        .iter()
        .find(|s| s.function == "order-control/TriggerFunction")
        .expect("the control trigger reads its table's stream");
    assert_eq!(trigger.kind, local_hub::model::SourceKind::DynamoDb);
    assert_eq!(trigger.batch_size, 100);
    assert_eq!(trigger.maximum_retry_attempts, Some(3));
    assert!(trigger.bisect_on_error && trigger.report_batch_item_failures);
    assert!(trigger.arn.ends_with("/stream/local"), "{}", trigger.arn);
    let queue = model
        .sources
        .iter()
        .find(|s| s.function == "delivery-ingress-gateway/Function")
        .expect("the delivery gateway reads its queue");
    assert_eq!(
        (queue.kind, queue.batch_size),
        (local_hub::model::SourceKind::Sqs, 10)
    );
    // The delivery queue is subscribed to the delivery topic given in local-hub.json.
    assert!(
        model
            .subscriptions
            .iter()
            .any(|s| s.topic.ends_with(":delivery-events")
                && s.endpoint == queue.arn
                && s.protocol == "sqs")
    );
    // The internal rule's target keeps its input path and partition key path.
    let internal = model
        .rules
        .iter()
        .find(|r| r.name == "customer-event-hub/InternalRule")
        .expect("internal rule");
    assert_eq!(internal.targets[0].input_path.as_deref(), Some("$.detail"));
    assert_eq!(
        internal.targets[0].partition_key_path.as_deref(),
        Some("$.detail.partitionKey")
    );
}

#[test]
fn a_broken_pattern_in_a_template_is_caught() {
    // A typo in the fault rule's type: faults no longer reach the log, and nothing else does.
    let dir = templates_with("fault-typo", "event-hub.yaml", |text| {
        text.replace("detail-type: [fault]", "detail-type: [faults]")
    });
    let problems = problems(&dir);
    assert_eq!(
        problems,
        vec![
            "fault from custom (own): does not take customer-event-hub/FaultRule -> customer-event-hub/FaultLogGroup (LogGroup)"
                .to_string()
        ]
    );
}

#[test]
fn an_event_source_on_the_wrong_stream_is_caught() {
    let dir = templates_with("wrong-stream", "restaurant-ingress-gateway.yaml", |text| {
        text.replace("-IngressStreamArn", "-InternalStreamArn")
    });
    let problems = problems(&dir);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("restaurant-menu-published from external")
                && p.contains("does not take")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("order-placed from custom") && p.contains("also takes")),
        "{problems:?}"
    );
}

/// A case name, the file to edit, the edit, and what the error must say.
type BrokenTemplate = (
    &'static str,
    &'static str,
    fn(String) -> String,
    &'static str,
);

#[test]
fn templates_the_hub_cannot_read_are_errors_naming_the_place() {
    let cases: [BrokenTemplate; 4] = [
        (
            "find-in-map",
            "order-control.yaml",
            |t| {
                t.replace(
                    "BillingMode: PAY_PER_REQUEST",
                    "BillingMode: !FindInMap [M, a, b]",
                )
            },
            "order-control.yaml: Resources.EventTable: the intrinsic function Fn::FindInMap is not supported",
        ),
        (
            "bad-pattern",
            "event-hub.yaml",
            |t| t.replace("detail-type: [fault]", "detail-type: [{suffix: 3}]"),
            "event-hub.yaml: Resources.FaultRule: invalid event pattern at `detail-type`",
        ),
        (
            "missing-export",
            "order-bff.yaml",
            |t| t.replace("-InternalStreamArn", "-NoSuchStreamArn"),
            "customer-event-hub-NoSuchStreamArn: no stack deployed before this one exports it",
        ),
        (
            "no-default",
            "order-control.yaml",
            |t| t.replace("    Default: dev\n", ""),
            "order-control.yaml: Parameters.Stage: no default and no value given",
        ),
    ];
    for (name, file, edit, expected) in cases {
        let dir = templates_with(name, file, edit);
        let error = local_hub::load(&dir).expect_err(name).to_string();
        assert!(error.contains(expected), "{name}: {error}");
    }
}
