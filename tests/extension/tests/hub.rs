//! A service outside the example subsystem (`favorites`, its template in `templates/`) runs in
//! the local hub beside the Customer subsystem: the hub deploys both from
//! `templates/local-hub.json`, routes `order-placed` to the service's queue by the rule of the
//! service's own template, and runs its listener with the service's own `build`.

use std::path::{Path, PathBuf};

use customer_subsystem::local::LocalSubsystem;
use lambda_stream_extension_example::favorites;
use local_hub::hub::registry::Registry;
use local_hub::local::StartOptions;
use serde_json::json;

fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("templates")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_of_its_own_runs_beside_the_example_subsystem() {
    let beside = Registry::new().events("favorites-listener", favorites::build);
    let mut local = LocalSubsystem::start_beside(&templates(), StartOptions::default(), beside)
        .await
        .expect("the hub starts both");
    local
        .internal_event(&json!({
            "id": "evt-order-1", "type": "order-placed", "timestamp": 1_764_000_000_000_i64,
            "partitionKey": "o1", "tags": {"source": "order-bff"},
            "order": {"id": "o1", "customerId": "c1", "restaurantId": "r7", "items": []}
        }))
        .expect("put");
    local.settle().await.expect("settles");
    let core = local.hub.core();
    let table = core
        .model()
        .deployment
        .stacks
        .iter()
        .find(|s| s.name == "favorites")
        .and_then(|s| s.resources.get("Table"))
        .map(|t| t.physical.reference.clone())
        .expect("the favorites table");
    let items = core.table(&table).expect("deployed").store.items();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["pk"], "customer#c1");
    assert_eq!(items[0]["sk"], "restaurant#r7");
    assert_eq!(items[0]["lastOrderId"], "o1");
    // The example subsystem's own functions took the event as well (the control service
    // collected it, the egress gateway shared it).
    let stats = core.stats();
    assert!(
        stats.functions.contains_key("favorites/Function"),
        "{:?}",
        stats.functions.keys()
    );
}
