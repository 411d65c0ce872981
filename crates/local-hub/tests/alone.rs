//! The hub runs a service alone, with no example function in sight: `tests/alone` deploys the
//! event hub and `echo` (a rule, a queue, a listener built here with the public API), and the
//! commands' parts (the demo file, fault injection, the registry's errors) work for it.

use std::path::{Path, PathBuf};

use lambda_stream::{Config, Delivered, Envelope, Pipeline, SqsSource, StepError, StreamHandler};
use lambda_stream_aws::ConfigError;
use lambda_stream_aws::ports::{Env, Ports, internal_bus};
use local_hub::cli::{Demo, HubApp, Subsystem};
use local_hub::hub::registry::Registry;
use local_hub::local::{LocalHub, StartOptions};

fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/alone")
}

/// `echo`'s listener: each `thing-happened` published again as `thing-echoed`; one without a
/// `thing` is a fault.
fn echo(env: Env<'_>, ports: &dyn Ports) -> Result<StreamHandler<SqsSource>, ConfigError> {
    let bus = internal_bus(env, ports)?;
    let pipeline: Pipeline<Delivered> = Pipeline::new("echo")
        .on_type("thing-happened")
        .map(|uow| {
            let thing: serde_json::Value = uow.event.field("thing")?;
            if !thing.is_object() {
                return Err(StepError::permanent("the event has no thing"));
            }
            Envelope::builder("thing-echoed")
                .id(format!("{}-echoed", uow.event.id()))
                .timestamp(uow.event.timestamp())
                .partition_key(uow.event.partition_key().unwrap_or_default())
                .entity("thing", &thing)
                .build()
                .map_err(StepError::from)
        })
        .publish(std::sync::Arc::clone(&bus), 1);
    Ok(
        StreamHandler::with_config(SqsSource::new(), Config::from_lookup(env))
            .pipeline(pipeline)
            .faults_to(bus),
    )
}

fn registry() -> Registry {
    Registry::new().events("echo-listener", echo)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_runs_alone_from_its_demo_file() {
    let options = StartOptions {
        keep_log: true,
        ..StartOptions::default()
    };
    let mut local = LocalHub::start(&templates(), registry(), options)
        .await
        .expect("starts");
    assert_eq!(local.upstream_account(), Some("111111111111"));
    let traced = local_hub::demo::run_file(&mut local, &templates().join("demo-events.jsonl"))
        .await
        .expect("runs");
    assert_eq!(traced.traces["k1"], ["thing-happened", "thing-echoed"]);
    // The external event is not traced (another subsystem's), what the service did is.
    assert_eq!(traced.traces["k2"], ["thing-happened", "thing-echoed"]);
    assert_eq!(traced.accounting.unaccounted, 0, "{:?}", traced.accounting);
    assert_eq!(traced.stats.functions["echo/Function"].delivered, 2);
    assert_eq!(traced.accounting.faults, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_demo_with_faults_still_accounts_for_every_record() {
    let app = Subsystem::new("echo", registry);
    let demo = Demo {
        seed: 1,
        size: 1,
        faults: true,
    };
    let traced = local_hub::demo::run_default(&app, &templates(), &demo)
        .await
        .expect("the demo runs");
    let accounting = &traced.accounting;
    assert_eq!(accounting.unaccounted, 0, "{accounting:?}");
    // The first record failed twice and was delivered on the third receive: no fault.
    let echo = &traced.stats.functions["echo/Function"];
    assert_eq!(echo.retried_records, 2, "{echo:?}");
    assert_eq!(echo.delivered, 2, "{echo:?}");
    assert_eq!(accounting.faults, 0);
    assert_eq!(accounting.parked, 0);
    // The trait's demo prints and returns the same accounting.
    assert_eq!(
        app.demo(&templates(), &demo)
            .await
            .expect("runs")
            .unaccounted,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_record_is_a_fault_and_the_others_go_on() {
    let mut local = LocalHub::start(&templates(), registry(), StartOptions::default())
        .await
        .expect("starts");
    for (id, body) in [
        ("bad", serde_json::Value::Null),
        ("good", serde_json::json!({"id": "x"})),
    ] {
        local
            .internal_event(&serde_json::json!({
                "id": id, "type": "thing-happened", "timestamp": 1, "partitionKey": id, "thing": body
            }))
            .expect("put");
    }
    local.settle().await.expect("settles");
    let accounting = local_hub::summary::account(&local.hub);
    assert_eq!(accounting.unaccounted, 0, "{accounting:?}");
    assert_eq!(accounting.faults, 1, "the record without a thing");
    assert_eq!(local.hub.core().stats().put_by_type["thing-echoed"], 1);
}

#[tokio::test]
async fn demo_files_and_registries_say_what_is_wrong() {
    let dir = std::env::temp_dir().join(format!("local-hub-alone-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut local = LocalHub::start(&templates(), registry(), StartOptions::default())
        .await
        .expect("starts");
    for (line, expected) in [
        ("not json", "line 1: not JSON"),
        (r#"{"id": "e1"}"#, "line 1: not an event: it has no `type`"),
        (
            r#"{"advance_seconds": "soon"}"#,
            "line 1: advance_seconds is not a whole number",
        ),
    ] {
        let file = dir.join("demo-events.jsonl");
        std::fs::write(&file, line).expect("write");
        let error = local_hub::demo::run_file(&mut local, &file)
            .await
            .expect_err(line)
            .to_string();
        assert!(error.contains(expected), "{line}: {error}");
    }
    let missing = local_hub::demo::run_file(&mut local, &dir.join("none.jsonl"))
        .await
        .expect_err("no file")
        .to_string();
    assert!(missing.contains("none.jsonl"), "{missing}");

    // A function the template deploys that nobody registered: named with its template.
    let error = LocalHub::start(&templates(), Registry::new(), StartOptions::default())
        .await
        .expect_err("nothing registered")
        .to_string();
    assert!(error.contains("echo/Function"), "{error}");
    assert!(error.contains("echo.yaml"), "{error}");
    assert!(error.contains("`echo-listener`"), "{error}");

    // Fault injection names a function that exists.
    let options = StartOptions {
        always_fail: Some("echo/NoSuchFunction".into()),
        ..StartOptions::default()
    };
    let error = LocalHub::start(&templates(), registry(), options)
        .await
        .expect_err("no such function")
        .to_string();
    assert!(error.contains("echo/NoSuchFunction"), "{error}");
    assert!(
        error.contains("echo/Function"),
        "names the ones there are: {error}"
    );
}
