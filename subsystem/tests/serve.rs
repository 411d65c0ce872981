//! The served mode: a service publishing with the AWS SDK for Rust (`PutEvents`, the endpoint
//! pointed at the hub) reaches the subsystem's functions.

use std::path::{Path, PathBuf};

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use customer_subsystem::local::LocalSubsystem;
use serde_json::json;

fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_events_from_the_aws_sdk_reaches_the_functions() {
    let mut local = LocalSubsystem::start(&templates()).await.expect("starts");
    let address = local_hub::serve::start(std::sync::Arc::clone(local.hub.core()), "127.0.0.1:0")
        .await
        .expect("listens");
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(format!("http://{address}"))
        .region(aws_config::Region::new("eu-west-1"))
        .credentials_provider(aws_sdk_eventbridge::config::Credentials::new(
            "local", "local", None, None, "test",
        ))
        .load()
        .await;
    let client = aws_sdk_eventbridge::Client::new(&config);
    let order = json!({
        "id": "evt-1", "type": "order-placed", "timestamp": 1_764_547_200_000_i64, "partitionKey": "o-1",
        "tags": {"source": "a-node-service"},
        "order": {"id": "o-1", "customerId": "c1", "restaurantId": "r1",
                  "items": [{"menuItemId": "m1", "quantity": 1}], "total": 900, "currency": "EUR"},
    });
    let entry = |detail: String| {
        PutEventsRequestEntry::builder()
            .event_bus_name(local.bus())
            .source("custom")
            .detail_type("order-placed")
            .detail(detail)
            .build()
    };
    let output = client
        .put_events()
        .entries(entry(order.to_string()))
        .entries(entry("not json".to_string()))
        .send()
        .await
        .expect("PutEvents");
    assert_eq!(
        output.failed_entry_count(),
        1,
        "the entry that is not JSON is refused"
    );
    let results = output.entries();
    assert!(results[0].event_id().is_some_and(|id| !id.is_empty()));
    assert_eq!(results[1].error_code(), Some("MalformedDetail"));

    local.settle().await.expect("settles");
    let accounting = local_hub::summary::account(&local.hub);
    assert_eq!(
        accounting.notifications, 1,
        "the notification gateway told the customer"
    );
    assert_eq!(
        accounting.shared, 1,
        "the egress gateway shared it with the Order subsystem"
    );
    assert_eq!(accounting.unaccounted, 0);
    let stats = local.hub.core().stats();
    assert_eq!(
        stats.functions["order-control/ListenerFunction"].delivered, 1,
        "collected"
    );

    // What the hub does not speak is refused with AWS's error shape.
    let unknown = client.list_rules().send().await;
    assert!(unknown.is_err());
}
