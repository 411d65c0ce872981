//! {{name}} in the local hub, from its own templates: the event hub's rule routes
//! `item-published` to the listener, the API reads the view and saves a note, the trigger
//! publishes it, and every record is accounted for.

use std::path::{Path, PathBuf};

use local_hub::local::{LocalHub, StartOptions};
use serde_json::json;
use {{crate}}::api::{answer, request};

fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_runs_in_the_local_hub() {
    let options = StartOptions {
        keep_log: true,
        ..StartOptions::default()
    };
    let mut local = LocalHub::start(&templates(), {{crate}}_hub::registry(), options)
        .await
        .expect("the hub starts the service");
    local
        .internal_event(&json!({
            "id": "e1", "type": "item-published", "timestamp": 1_764_547_200_000_i64,
            "partitionKey": "i1", "tags": {"source": "catalog"},
            "item": {"id": "i1", "name": "Lamp"}
        }))
        .expect("put");
    local.settle().await.expect("settles");

    let api = local.http("{{name}}-api").expect("the API");
    let put = request("PUT", "/items/i1/note", Some("u1"), r#"{"text": "for the hall"}"#).expect("a request");
    let (status, body) = answer(&api.call(put).await);
    assert_eq!(status, 200, "{body}");
    local.settle().await.expect("settles");
    let get = request("GET", "/items/i1", Some("u1"), "").expect("a request");
    let (status, body) = answer(&api.call(get).await);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["item"]["name"], "Lamp");
    assert_eq!(body["note"], "for the hall");

    let stats = local.hub.core().stats();
    assert_eq!(stats.put_by_type.get("item-noted"), Some(&1), "{:?}", stats.put_by_type);
    let accounting = local_hub::summary::account(&local.hub);
    assert_eq!(accounting.unaccounted, 0, "{accounting:?}");
    assert_eq!(accounting.faults, 0, "{accounting:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_events_go_through_and_are_all_accounted_for() {
    let app = local_hub::cli::Subsystem::new("{{name}}", {{crate}}_hub::registry);
    let demo = local_hub::cli::Demo { seed: 7, size: 1, faults: true };
    let traced = local_hub::demo::run_default(&app, &templates(), &demo)
        .await
        .expect("the demo runs");
    assert_eq!(traced.accounting.unaccounted, 0, "{:?}", traced.accounting);
    assert_eq!(traced.traces["i1"], ["item-published", "item-published"]);
    // Three items published (i1 twice): three views written.
    assert_eq!(traced.stats.functions["{{name}}/ListenerFunction"].delivered, 3);
}

#[test]
fn the_documented_routes_are_the_templates_routes() {
    let model = local_hub::load(&templates()).expect("the templates load");
    let expected = local_hub::Expectations::read(&templates().join("event-hub.routes.json"))
        .expect("the documented routes");
    assert_eq!(expected.check(&local_hub::Router::new(&model)), Vec::<String>::new());
}
