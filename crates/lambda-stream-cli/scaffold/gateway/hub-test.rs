//! {{name}} in the local hub, from its own templates: another subsystem's `item-published`
//! arrives on the event hub from its account, the hub's ingress rule sends it to the ingress
//! stream, the gateway publishes `item-received`, and every record is accounted for.

use std::path::{Path, PathBuf};

use local_hub::cli::{Demo, Subsystem};

fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_events_become_internal_ones() {
    let app = Subsystem::new("{{name}}", {{crate}}_hub::registry);
    let demo = Demo { seed: 7, size: 1, faults: true };
    let traced = local_hub::demo::run_default(&app, &templates(), &demo)
        .await
        .expect("the demo runs");
    assert_eq!(traced.accounting.unaccounted, 0, "{:?}", traced.accounting);
    // The external events are not traced (they are the other subsystem's); what the gateway
    // published is, by item. The unknown type is filtered, the one without an id a fault.
    assert_eq!(traced.traces["i1"], ["item-received"]);
    assert_eq!(traced.traces["i2"], ["item-received"]);
    assert_eq!(traced.stats.put_by_type.get("item-received"), Some(&2));
    assert_eq!(traced.accounting.faults, 1, "{:?}", traced.accounting);
}

#[test]
fn the_documented_routes_are_the_templates_routes() {
    let model = local_hub::load(&templates()).expect("the templates load");
    let expected = local_hub::Expectations::read(&templates().join("event-hub.routes.json"))
        .expect("the documented routes");
    assert_eq!(expected.check(&local_hub::Router::new(&model)), Vec::<String>::new());
}
