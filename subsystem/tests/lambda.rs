//! Lambda's behaviour on failures, as the hub plays it on the real templates' settings: a
//! stream function that always fails has its batches bisected, each record retried
//! `MaximumRetryAttempts` times, then sent to the on-failure queue; a queue function that always
//! fails gets each message back after the visibility timeout until `maxReceiveCount`, then the
//! message moves to the dead-letter queue. Nothing is lost either way. Batches short of their
//! size wait out their batching window, on streams and on queues; and a template naming a
//! function the hub cannot run stops it from starting.

use std::path::{Path, PathBuf};

use serde_json::json;

use customer_subsystem::local::LocalSubsystem;
use customer_subsystem::outside::{delivery_status, menu_published};
use lambda_stream::Envelope;
use local_hub::hub::BusEntry;
use local_hub::local::StartOptions;

fn templates() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_stream_function_bisects_retries_and_parks_its_records() {
    let options = StartOptions {
        always_fail: Some("restaurant-ingress-gateway/Function".into()),
        ..StartOptions::default()
    };
    let mut local = LocalSubsystem::start_with(&templates(), options)
        .await
        .expect("starts");
    for n in 0..4 {
        let menu = menu_published(&format!("r{n}"), "R", &[("m1", "Dish", 500)], 1_000 + n);
        local.external_event(&menu).expect("put");
    }
    local.settle().await.expect("settles");
    let stats = local.hub.core().stats();
    let gateway = &stats.functions["restaurant-ingress-gateway/Function"];
    // 4 → 2 + 2 → 1 + 1 + 1 + 1, then each record 1 + 3 retries: 2 bisections of the batch
    // of 4 and of the two halves, then 4 records x 4 attempts.
    assert_eq!(gateway.invocations, 1 + 2 + 4 * 4, "{gateway:?}");
    assert_eq!(gateway.failed_invocations, gateway.invocations);
    assert_eq!(
        stats.to_on_failure["restaurant-ingress-gateway/Function"],
        4
    );
    let accounting = local_hub::summary::account(&local.hub);
    assert_eq!(accounting.parked, 4, "one on-failure message per record");
    assert_eq!(accounting.unaccounted, 0, "{:?}", accounting.detail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_queue_function_sends_its_messages_to_the_dead_letter_queue() {
    let options = StartOptions {
        always_fail: Some("delivery-ingress-gateway/Function".into()),
        ..StartOptions::default()
    };
    let mut local = LocalSubsystem::start_with(&templates(), options)
        .await
        .expect("starts");
    let started = local.hub.core().now_ms();
    local.delivery_message(&delivery_status("o-1", "delivered", "Ana"));
    local.delivery_message(&delivery_status("o-2", "delivered", "Ana"));
    local.settle().await.expect("settles");
    let stats = local.hub.core().stats();
    let gateway = &stats.functions["delivery-ingress-gateway/Function"];
    // maxReceiveCount 5: five receives, then the dead-letter queue.
    assert_eq!(gateway.invocations, 5, "{gateway:?}");
    assert_eq!(stats.dead_lettered.values().sum::<usize>(), 2);
    // Each retry waited out the 180 s visibility timeout on the hub's clock.
    assert!(local.hub.core().now_ms() - started >= 5 * 180_000);
    let accounting = local_hub::summary::account(&local.hub);
    assert_eq!(accounting.parked, 2);
    assert_eq!(accounting.unaccounted, 0, "{:?}", accounting.detail);
}

/// A copy of the templates folder with `edit` applied to one file.
fn templates_with(name: &str, file: &str, edit: impl FnOnce(String) -> String) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("local-hub-lambda-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    for entry in std::fs::read_dir(templates()).expect("templates") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            std::fs::copy(&path, dir.join(path.file_name().expect("a name"))).expect("copy");
        }
    }
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, edit(text)).expect("write");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_rule_pattern_keeps_the_event_from_arriving() {
    // The ingress rule asks for the wrong source: the Restaurant subsystem's menus reach the
    // lake, but not the ingress stream, so the BFF never learns the menu.
    let broken = templates_with("ingress-source", "event-hub.yaml", |text| {
        text.replacen("source: [external]", "source: [externals]", 1)
    });
    for (dir, expected) in [(templates(), 1), (broken, 0)] {
        let mut local = LocalSubsystem::start(&dir).await.expect("starts");
        local
            .external_event(&menu_published(
                "r1",
                "Luigi's",
                &[("m1", "Margherita", 900)],
                1,
            ))
            .expect("put");
        local.settle().await.expect("settles");
        let menus = local
            .graphql(
                "c1",
                "{ restaurants { restaurantId } }",
                serde_json::json!({}),
            )
            .await
            .expect("answer");
        let found = menus["data"]["restaurants"].as_array().map_or(0, Vec::len);
        assert_eq!(found, expected, "{}: {menus}", dir.display());
        let stats = local.hub.core().stats();
        assert_eq!(
            stats.put_by_type.get("menu-updated").copied().unwrap_or(0),
            expected
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_refuses_a_template_naming_a_function_it_cannot_run() {
    let unknown = templates_with("unknown-binary", "order-egress-gateway.yaml", |text| {
        text.replace(
            "Binary: order-egress-gateway",
            "Binary: order-egress-gateway-v2",
        )
    });
    let error = LocalSubsystem::start(&unknown)
        .await
        .expect_err("refused")
        .to_string();
    assert!(
        error.contains("order-egress-gateway/Function (")
            && error.contains("order-egress-gateway.yaml) runs the binary `order-egress-gateway-v2`, which no function of this hub registers"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_short_of_its_size_waits_out_its_batching_window() {
    let mut local = LocalSubsystem::start(&templates()).await.expect("starts");
    let started = local.hub.core().now_ms();
    local
        .external_event(&menu_published("r1", "R", &[("m1", "Dish", 500)], 1))
        .expect("put");
    local.settle().await.expect("settles");
    // One record of a batch of 100: the gateway waited out its 1 s window (on the hub's
    // clock), then got it in one invocation.
    assert_eq!(
        local.hub.core().stats().functions["restaurant-ingress-gateway/Function"].invocations,
        1
    );
    assert!(local.hub.core().now_ms() - started >= 1_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_batch_short_of_its_size_waits_out_its_batching_window() {
    // The delivery gateway reads its queue 10 at a time with a 1 s window: one message waits
    // the window out (on the hub's clock), ten go at once; one invocation either way.
    for (messages, waits) in [(1, true), (10, false)] {
        let mut local = LocalSubsystem::start(&templates()).await.expect("starts");
        local.hub.core().keep_log();
        let started = local.hub.core().now_ms();
        for n in 0..messages {
            local.delivery_message(&delivery_status(&format!("o-{n}"), "delivered", "Ana"));
        }
        local.settle().await.expect("settles");
        let stats = local.hub.core().stats();
        let gateway = &stats.functions["delivery-ingress-gateway/Function"];
        assert_eq!((gateway.invocations, gateway.records), (1, messages));
        let published: Vec<i64> = local
            .hub
            .core()
            .log()
            .iter()
            .filter(|logged| logged.detail_type.starts_with("delivery-"))
            .map(|logged| logged.at_ms - started)
            .collect();
        assert_eq!(published.len(), messages, "{published:?}");
        assert!(
            published.iter().all(|at| (*at >= 1_000) == waits),
            "{messages} messages published after {published:?} ms"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_requested_twice_is_charged_once() {
    // A producer that retried a put which had in fact succeeded: the same event twice on the
    // bus. The payment gateway claims each event in its idempotency table (in memory here),
    // so the second delivery is not charged.
    let mut local = LocalSubsystem::start(&templates()).await.expect("starts");
    let request = Envelope::builder("payment-requested")
        .id("evt-pay-twice")
        .timestamp(local.hub.core().now_ms())
        .partition_key("o-twice")
        .entity(
            "payment",
            &json!({"id": "pay-twice", "orderId": "o-twice", "customerId": "c1",
                    "amount": 2350, "currency": "EUR", "paymentMethodToken": "tok_visa"}),
        )
        .build()
        .expect("valid");
    let entry = BusEntry {
        source: "order-bff".into(),
        detail_type: "payment-requested".into(),
        detail: request.to_json(),
        resources: Vec::new(),
        account: None,
    };
    let bus = local.bus().to_string();
    for put in local.hub.core().put_events(&bus, &[entry.clone(), entry]) {
        put.expect("put");
    }
    local.settle().await.expect("settles");
    let stats = local.hub.core().stats();
    let gateway = &stats.functions["payment-egress-gateway/Function"];
    // Both deliveries handled (the stream also carries the outcome the webhook published).
    assert_eq!(gateway.delivered, 2, "{gateway:?}");
    assert_eq!(gateway.failed_invocations, 0);
    assert_eq!(local.processor.calls(), 1, "charged once");

    // The claim, completed, in the gateway's table; TTL (on `expiresAt`, as the template
    // says) removes it once the charge is no longer remembered, on the hub's clock.
    let core = local.hub.core();
    let gateway = core
        .model()
        .functions
        .iter()
        .find(|f| f.name == "payment-egress-gateway/Function")
        .expect("deployed");
    let table_name = gateway
        .environment
        .iter()
        .find(|(name, _)| name == "ENTITY_TABLE_NAME")
        .map(|(_, value)| value.clone())
        .expect("a table");
    let table = core.table(&table_name).expect("the idempotency table");
    let claims = table.store.items();
    assert_eq!(claims.len(), 1, "{claims:?}");
    assert_eq!(claims[0]["sk"], "evt-pay-twice");
    assert_eq!(claims[0]["status"], "completed");
    let remembered = payment_egress_gateway::CHARGES_REMEMBERED_FOR;
    core.advance(remembered + std::time::Duration::from_secs(24 * 3600));
    assert!(table.store.items().is_empty(), "expired by TTL");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_refuses_functions_the_templates_do_not_deploy() {
    let model = local_hub::load(&templates()).expect("templates");
    let core = local_hub::hub::Core::new(model).expect("core");
    let externals = customer_subsystem::functions::Externals {
        processor_url: "http://127.0.0.1:9".into(),
        webhook_secret: "s".into(),
    };
    let mut functions = customer_subsystem::functions::registry(&externals)
        .build_all(&core)
        .expect("built");
    let any = functions.values().next().cloned().expect("a function");
    functions.insert("order-extra/Function".into(), any);
    let error = local_hub::hub::Hub::new(std::sync::Arc::clone(&core), functions.clone())
        .expect_err("refused")
        .to_string();
    assert!(
        error.contains("runnable but not deployed [\"order-extra/Function\"]"),
        "{error}"
    );
    functions.remove("order-extra/Function");
    functions.remove("order-bff/TriggerFunction");
    let error = local_hub::hub::Hub::new(core, functions)
        .expect_err("refused")
        .to_string();
    assert!(
        error.contains("deployed but not runnable [\"order-bff/TriggerFunction\"]"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_nobody_registered_is_a_startup_error_naming_it_and_its_template() {
    let model = local_hub::load(&templates()).expect("templates");
    let core = local_hub::hub::Core::new(model).expect("core");
    // Every function but the BFF's trigger.
    let partial = local_hub::hub::registry::Registry::new()
        .events("order-bff-listener", order_bff::build_listener);
    let error = partial.build_all(&core).expect_err("refused").to_string();
    assert!(
        error.contains("which no function of this hub registers"),
        "{error}"
    );
    assert!(error.contains(".yaml"), "names the template: {error}");
}
