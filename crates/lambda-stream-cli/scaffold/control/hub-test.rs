//! {{name}} in the local hub, from its own templates: the event hub's internal stream brings
//! the item's events to the listener, the trigger publishes `item-completed` once, and every
//! record is accounted for.

use std::path::{Path, PathBuf};

use local_hub::cli::{Demo, Subsystem};

fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_events_complete_the_item_approved_once() {
    let app = Subsystem::new("{{name}}", {{crate}}_hub::registry);
    let demo = Demo { seed: 7, size: 1, faults: true };
    let traced = local_hub::demo::run_default(&app, &templates(), &demo)
        .await
        .expect("the demo runs");
    assert_eq!(traced.accounting.unaccounted, 0, "{:?}", traced.accounting);
    assert_eq!(traced.accounting.faults, 0, "{:?}", traced.accounting);
    // i1 is requested, approved twice (a repeat), and completes once; i2 is only requested.
    assert_eq!(
        traced.traces["i1"],
        ["item-requested", "item-approved", "item-approved", "item-completed"]
    );
    assert_eq!(traced.traces["i2"], ["item-requested"]);
    assert_eq!(traced.stats.put_by_type.get("item-completed"), Some(&1));
}

#[test]
fn the_documented_routes_are_the_templates_routes() {
    let model = local_hub::load(&templates()).expect("the templates load");
    let expected = local_hub::Expectations::read(&templates().join("event-hub.routes.json"))
        .expect("the documented routes");
    assert_eq!(expected.check(&local_hub::Router::new(&model)), Vec::<String>::new());
}

#[tokio::test]
async fn a_function_nobody_registered_is_named_at_start() {
    let error = local_hub::local::LocalHub::start(
        &templates(),
        local_hub::hub::registry::Registry::new(),
        local_hub::local::StartOptions::default(),
    )
    .await
    .expect_err("nothing registered")
    .to_string();
    assert!(error.contains("`{{name}}-listener`"), "{error}");
    assert!(error.contains("{{name}}.yaml"), "{error}");
}
