//! The whole subsystem in the hub: one customer's order from the restaurant's menu to the
//! control service's decision, through every function.

use std::path::{Path, PathBuf};

use local_hub::externals::{DECLINED_CARD, menu_published};
use local_hub::local::LocalSubsystem;
use serde_json::json;

fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../templates")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_goes_through_every_function() {
    let mut local = LocalSubsystem::start(&templates()).await.expect("starts");
    local
        .external_event(&menu_published(
            "r1",
            "Luigi's",
            &[("m1", "Margherita", 900)],
            1_764_000_000_000,
        ))
        .expect("put");
    local.settle().await.expect("settles");
    let menus = local
        .graphql(
            "c1",
            "{ restaurants { restaurantId restaurantName } }",
            json!({}),
        )
        .await
        .expect("answer");
    assert_eq!(
        menus["data"]["restaurants"][0]["restaurantId"], "r1",
        "{menus}"
    );

    let placed = local
        .graphql(
            "c1",
            "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id status total } }",
            json!({"input": {"restaurantId": "r1", "items": [{"menuItemId": "m1", "quantity": 2}]}}),
        )
        .await
        .expect("answer");
    let order = placed["data"]["placeOrder"]["id"]
        .as_str()
        .expect("an order id")
        .to_string();
    local.settle().await.expect("settles");
    let paid = local
        .graphql(
            "c1",
            "mutation($order: ID!, $card: String!) { requestPayment(orderId: $order, paymentMethodToken: $card) { id status } }",
            json!({"order": order, "card": DECLINED_CARD}),
        )
        .await
        .expect("answer");
    let request = paid["data"]["requestPayment"]["id"]
        .as_str()
        .expect("a request id")
        .to_string();
    local.settle().await.expect("settles");
    let status = local
        .graphql(
            "c1",
            "query($id: ID!) { paymentRequest(id: $id) { status reason } }",
            json!({"id": request}),
        )
        .await
        .expect("answer");
    assert_eq!(
        status["data"]["paymentRequest"]["status"], "declined",
        "{status}"
    );

    let stats = local.hub.core().stats();
    for (arn, items) in local.hub.core().sinks() {
        if arn.contains("log-group") {
            for i in items {
                eprintln!("FAULT {}", i["detail"]["err"]);
                eprintln!(
                    "  {} {}",
                    i["detail"]["tags"], i["detail"]["uow"]["event"]["type"]
                );
            }
        }
    }
    // The control service's, and the egress gateway's external one for the Order subsystem.
    assert_eq!(
        stats.put_by_type.get("order-cancelled"),
        Some(&2),
        "{stats:#?}"
    );
    assert_eq!(stats.put_by_type.get("fault"), None, "{stats:#?}");
    assert!(
        local.hub.pending().iter().all(|(_, n)| *n == 0),
        "{:?}",
        local.hub.pending()
    );
}
