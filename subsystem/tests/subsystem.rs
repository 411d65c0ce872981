//! The whole subsystem in the hub: one customer's order from the restaurant's menu to the
//! control service's decision, through every function.

use std::path::{Path, PathBuf};

use customer_subsystem::local::LocalSubsystem;
use customer_subsystem::outside::{DECLINED_CARD, menu_published};
use serde_json::json;

fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates")
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

/// The Restaurant subsystem's menus as a Node service publishes them: compressed (a large
/// menu, at Node's default threshold), with a field encrypted (`eem`, with the hub's KMS in
/// memory) and claim-checked (a stub, the event in the hub's S3 in memory). Each reaches the
/// BFF whole, as the plain one does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_s_compressed_encrypted_and_claim_checked_menus_reach_the_bff() {
    use lambda_stream::Envelope;
    use lambda_stream::claimcheck::{ClaimCheckStore, stub_for};
    use lambda_stream::compression::Compression;
    use lambda_stream::encryption::Encryption;

    let mut local = LocalSubsystem::start(&templates()).await.expect("starts");
    let items: Vec<(String, String, i64)> = (0..300)
        .map(|i| (format!("m{i}"), format!("Pizza number {i}"), 900 + i))
        .collect();
    let menu = |restaurant: &str| {
        let items: Vec<(&str, &str, i64)> = items
            .iter()
            .map(|(a, b, c)| (a.as_str(), b.as_str(), *c))
            .collect();
        menu_published(restaurant, "Luigi's", &items, 1_764_000_000_000)
    };
    let plain = menu("r-plain");
    let compressed: serde_json::Value = serde_json::from_str(
        &Compression::threshold(Compression::NODE_THRESHOLD)
            .compress(&menu("r-compressed").to_string())
            .expect("json")
            .expect("a 300-item menu is over 10 KB"),
    )
    .expect("json");
    assert!(
        compressed["restaurant"]
            .as_str()
            .is_some_and(|s| s.starts_with("COMPRESSED"))
    );
    let encrypted = Encryption::new("alias/customer-eem", ["name"])
        .encrypt_event(
            &Envelope::parse(menu("r-encrypted").to_string()).expect("valid"),
            local.hub.core().keyring(),
        )
        .await
        .expect("encrypts");
    let big = Envelope::parse(menu("r-claim-checked").to_string()).expect("valid");
    let store = local
        .hub
        .core()
        .claim_checks()
        .storing_in("restaurant-claims");
    let pointer = store.pointer_for(&big);
    store.store(&pointer, &big.to_json()).await.expect("stored");
    let stub = stub_for(&big, pointer);
    for event in [
        plain,
        compressed,
        serde_json::from_str(&encrypted.to_json()).expect("json"),
        serde_json::from_str(&stub.to_json()).expect("json"),
    ] {
        local.external_event(&event).expect("put");
    }
    local.settle().await.expect("settles");
    let answer = local
        .graphql(
            "c1",
            "{ restaurants { restaurantId restaurantName items { id name price } } }",
            json!({}),
        )
        .await
        .expect("answer");
    let restaurants = answer["data"]["restaurants"].as_array().expect("a list");
    let mut ids: Vec<&str> = restaurants
        .iter()
        .filter_map(|r| r["restaurantId"].as_str())
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        ["r-claim-checked", "r-compressed", "r-encrypted", "r-plain"],
        "errors: {}",
        answer["errors"]
    );
    for restaurant in restaurants {
        let items = restaurant["items"].as_array().expect("items");
        assert_eq!(items.len(), 300, "{}", restaurant["restaurantId"]);
        assert_eq!(
            items[7]["name"], "Pizza number 7",
            "plaintext: {}",
            restaurant["restaurantId"]
        );
    }
    assert_eq!(
        local.hub.core().stats().put_by_type.get("fault"),
        None,
        "nothing faulted"
    );
}
