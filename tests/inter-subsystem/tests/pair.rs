//! Inter-subsystem flows end to end, in both directions between the Customer and Restaurant
//! subsystems, through two event hubs in `moto_server` wired with the rules of
//! `templates/event-hub.yaml` (their patterns are read from `templates/event-hub.patterns.json`,
//! which the template check keeps equal to the template):
//!
//! upstream egress gateway → upstream bus → egress rule (source `external`, own account) →
//! downstream bus → ingress rule (source `external`, another account) → ingress stream →
//! downstream ingress gateway → internal event.
//!
//! moto cannot deliver to a Kinesis target, so the ingress rule delivers to a queue here and
//! the test puts each event's `detail` (what the rule's `InputPath: $.detail` writes to the
//! stream) into a Kinesis event for the ingress gateway. The other subsystem's side of each
//! flow is built here with the library and the shared contract types, as that subsystem's team
//! would build it.

use std::sync::Arc;

use customer_contracts::order::{ORDER_PLACED, OrderV1};
use customer_contracts::restaurant::{MenuItemV1, RESTAURANT_MENU_PUBLISHED, RestaurantV1};
use lambda_stream::testing;
use lambda_stream::{
    Config, Envelope, InMemoryPublisher, Invocation, KinesisSource, Pipeline, Publisher,
    RecordState, StepError, StreamHandler, Uow,
};
use lambda_stream_aws::testing::{
    moto_endpoint, receive_bodies, rule_to_queue, sdk_config, unique_name,
};
use lambda_stream_aws::{EventBridgeConfig, EventBridgePublisher};
use serde_json::{Value, json};

/// The account moto puts on every event: the upstream subsystem's account here.
const UPSTREAM_ACCOUNT: &str = "123456789012";
/// The downstream subsystem's account (its ingress rule takes `external` events from others).
const DOWNSTREAM_ACCOUNT: &str = "210987654321";

/// The hub's rule patterns, with `${AWS::AccountId}` replaced by `account`.
fn pattern(name: &str, account: &str) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../templates/event-hub.patterns.json"
    );
    let patterns: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("the patterns file"))
            .expect("JSON");
    patterns[name]
        .to_string()
        .replace("${AWS::AccountId}", account)
}

/// Two event hubs in moto.
struct Hubs {
    /// The upstream subsystem's bus.
    upstream: String,
    /// The downstream subsystem's bus.
    downstream: String,
    /// The queue standing in for the downstream hub's ingress stream.
    downstream_ingress: String,
}

/// Two hubs, upstream forwarding its external events to downstream, whose ingress rule feeds
/// a queue standing in for its ingress stream.
async fn hubs(config: &aws_config::SdkConfig) -> Hubs {
    let events = aws_sdk_eventbridge::Client::new(config);
    let upstream = unique_name("upstream-hub");
    let downstream = unique_name("downstream-hub");
    let mut downstream_arn = String::new();
    for bus in [&upstream, &downstream] {
        let created = events
            .create_event_bus()
            .name(bus)
            .send()
            .await
            .expect("a bus");
        if bus == &downstream {
            downstream_arn = created.event_bus_arn.expect("the bus ARN");
        }
    }
    let egress = unique_name("egress");
    events
        .put_rule()
        .name(&egress)
        .event_bus_name(&upstream)
        .event_pattern(pattern("egress", UPSTREAM_ACCOUNT))
        .send()
        .await
        .expect("the egress rule");
    events
        .put_targets()
        .rule(&egress)
        .event_bus_name(&upstream)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("downstream")
                .arn(downstream_arn)
                .role_arn("arn:aws:iam::123456789012:role/egress")
                .build()
                .expect("a target"),
        )
        .send()
        .await
        .expect("the egress target");
    let downstream_ingress =
        rule_to_queue(config, &downstream, &pattern("ingress", DOWNSTREAM_ACCOUNT)).await;
    Hubs {
        upstream,
        downstream,
        downstream_ingress,
    }
}

/// What reached the downstream ingress stream, as the Kinesis event Lambda hands over.
async fn ingress_stream_event(
    config: &aws_config::SdkConfig,
    queue: &str,
    expected: usize,
) -> lambda_stream::RecordsEvent {
    let sqs = aws_sdk_sqs::Client::new(config);
    let bodies = receive_bodies(&sqs, queue, expected).await;
    assert_eq!(bodies.len(), expected, "events on the ingress stream");
    let payloads: Vec<(String, Vec<u8>)> = bodies
        .iter()
        .map(|body| {
            let event: Value = serde_json::from_str(body).expect("an EventBridge event");
            assert_eq!(event["source"], "external");
            let detail = &event["detail"];
            let key = detail["partitionKey"]
                .as_str()
                .unwrap_or("none")
                .to_string();
            (key, detail.to_string().into_bytes())
        })
        .collect();
    testing::kinesis_event_from_payloads(&payloads)
}

fn publisher(config: &aws_config::SdkConfig, bus: &str) -> EventBridgePublisher {
    EventBridgePublisher::new(
        aws_sdk_eventbridge::Client::new(config),
        EventBridgeConfig::new(bus),
    )
}

/// The Restaurant subsystem's ingress of the Customer subsystem's orders, as its team would
/// write it: a tolerant read of the shared `order-placed` v1.
fn restaurant_order_intake(bus: Arc<dyn Publisher>) -> StreamHandler<KinesisSource> {
    let to_internal = |uow: &Uow<()>| -> Result<Envelope, StepError> {
        let order: OrderV1 = uow.event.field(ORDER_PLACED.entity_field)?;
        Envelope::builder("order-received")
            .id(uow.event.id())
            .partition_key(order.restaurant_id.clone())
            .entity(
                "ticket",
                &json!({"orderId": order.id, "lines": order.items.len()}),
            )
            .build()
            .map_err(StepError::from)
    };
    StreamHandler::new(KinesisSource::new())
        .pipeline(
            Pipeline::new("order-intake")
                .on_type(ORDER_PLACED.event_type)
                .map(to_internal)
                .publish(Arc::clone(&bus), 1),
        )
        .faults_to(bus)
}

/// The Restaurant subsystem's egress of its menus, as its team would write it.
fn restaurant_menu_sharing(external: Arc<dyn Publisher>) -> StreamHandler<KinesisSource> {
    let to_external = |uow: &Uow<()>| -> Result<Envelope, StepError> {
        let menu: Value = uow.event.field("menu")?;
        let restaurant = RestaurantV1 {
            id: menu["restaurantId"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            name: menu["name"].as_str().unwrap_or_default().to_string(),
            menu: vec![MenuItemV1 {
                id: "m1".into(),
                name: "Margherita".into(),
                price: 900,
                available: true,
            }],
        };
        Envelope::builder(RESTAURANT_MENU_PUBLISHED.event_type)
            .id(uow.event.id())
            .partition_key(restaurant.id.clone())
            .tag("version", i64::from(RESTAURANT_MENU_PUBLISHED.version))
            .entity(RESTAURANT_MENU_PUBLISHED.entity_field, &restaurant)
            .build()
            .map_err(StepError::from)
    };
    StreamHandler::new(KinesisSource::new())
        .pipeline(
            Pipeline::new("share-menus")
                .on_type("menu-changed")
                .map(to_external)
                .publish(external, 1),
        )
        .faults_to(Arc::new(InMemoryPublisher::new()))
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn a_customer_order_reaches_the_restaurant_subsystem_as_its_internal_event() {
    let endpoint = moto_endpoint();
    let config = sdk_config(&endpoint).await;
    let hubs = hubs(&config).await;
    let (customer_bus, restaurant_ingress) = (hubs.upstream, hubs.downstream_ingress);

    // Customer subsystem: the real order-egress-gateway, publishing with source `external`.
    let external = Arc::new(publisher(&config, &customer_bus).with_source("external"));
    let placed = Envelope::builder("order-placed")
        .id("e-100")
        .partition_key("o-100")
        .entity(
            "order",
            &json!({"id": "o-100", "restaurantId": "r7", "customerId": "c1",
                    "paymentMethodToken": "tok_visa",
                    "items": [{"menuItemId": "m1", "quantity": 2}, {"menuItemId": "m2", "quantity": 1}]}),
        )
        .build()
        .expect("valid");
    let viewed = Envelope::builder("order-viewed")
        .id("e-101")
        .build()
        .expect("valid");
    let report = order_egress_gateway::handler(
        external,
        Arc::new(InMemoryPublisher::new()),
        Config::default(),
    )
    .process(
        testing::kinesis_event(&[placed, viewed]),
        Invocation::local(),
    )
    .await;
    assert_eq!(
        report.summary.pipelines[0].delivered, 1,
        "{:?}",
        report.summary
    );

    // Restaurant subsystem: its ingress stream, then its ingress gateway.
    let event = ingress_stream_event(&config, &restaurant_ingress, 1).await;
    let internal_bus = Arc::new(InMemoryPublisher::new());
    let report = restaurant_order_intake(internal_bus.clone())
        .process(event, Invocation::local())
        .await;
    assert_eq!(report.records[0].pipelines[0], RecordState::Delivered);
    let received = internal_bus.envelopes();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].event_type(), "order-received");
    assert_eq!(received[0].id(), "e-100");
    assert_eq!(received[0].partition_key(), Some("r7"));
    let ticket: Value = received[0].field("ticket").expect("ticket");
    assert_eq!(ticket, json!({"orderId": "o-100", "lines": 2}));
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn a_restaurant_menu_reaches_the_customer_subsystem_as_menu_updated() {
    let endpoint = moto_endpoint();
    let config = sdk_config(&endpoint).await;
    let hubs = hubs(&config).await;
    let (restaurant_bus, customer_ingress) = (&hubs.upstream, &hubs.downstream_ingress);

    // Restaurant subsystem: its egress, publishing with source `external`.
    let external = Arc::new(publisher(&config, restaurant_bus).with_source("external"));
    let changed = Envelope::builder("menu-changed")
        .id("e-200")
        .partition_key("r7")
        .entity("menu", &json!({"restaurantId": "r7", "name": "Luigi's"}))
        .build()
        .expect("valid");
    let report = restaurant_menu_sharing(external)
        .process(testing::kinesis_event(&[changed]), Invocation::local())
        .await;
    assert_eq!(
        report.summary.pipelines[0].delivered, 1,
        "{:?}",
        report.summary
    );

    // Customer subsystem: the real restaurant-ingress-gateway on its ingress stream, publishing
    // to its own bus, whose internal rule routes the event to the internal stream.
    let event = ingress_stream_event(&config, customer_ingress, 1).await;
    let internal_stream = rule_to_queue(
        &config,
        &hubs.downstream,
        &pattern("internal", DOWNSTREAM_ACCOUNT),
    )
    .await;
    let internal_bus = Arc::new(publisher(&config, &hubs.downstream));
    let report = restaurant_ingress_gateway::handler(internal_bus, Config::default())
        .process(event, Invocation::local())
        .await;
    assert_eq!(report.records[0].pipelines[0], RecordState::Delivered);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let internal: Vec<Value> = receive_bodies(&sqs, &internal_stream, 1)
        .await
        .iter()
        .map(|body| serde_json::from_str(body).expect("an EventBridge event"))
        .collect();
    assert_eq!(internal.len(), 1, "on the internal stream: {internal:?}");
    let internal =
        Envelope::from_slice(internal[0]["detail"].to_string().as_bytes()).expect("envelope");
    assert_eq!(internal.event_type(), "menu-updated");
    let menu: restaurant_ingress_gateway::Menu = internal.entity().expect("menu");
    assert_eq!(menu.restaurant_id, "r7");
    assert_eq!(menu.restaurant_name, "Luigi's");
    assert_eq!(menu.items.len(), 1);
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn internal_events_stay_in_their_subsystem() {
    let endpoint = moto_endpoint();
    let config = sdk_config(&endpoint).await;
    let hubs = hubs(&config).await;
    let (customer_bus, restaurant_ingress) = (hubs.upstream, hubs.downstream_ingress);
    // Published with the default source: internal, so the egress rule leaves it alone.
    let internal = Arc::new(publisher(&config, &customer_bus));
    let placed = Envelope::builder("order-placed")
        .id("e-300")
        .entity(
            "order",
            &json!({"id": "o-300", "restaurantId": "r7", "items": []}),
        )
        .build()
        .expect("valid");
    let report = StreamHandler::new(KinesisSource::new())
        .pipeline(
            Pipeline::new("republish")
                .map(|uow: &Uow<()>| Ok::<_, StepError>(Envelope::clone(&uow.event)))
                .publish(internal, 1),
        )
        .process(testing::kinesis_event(&[placed]), Invocation::local())
        .await;
    assert_eq!(report.summary.pipelines[0].delivered, 1);
    let sqs = aws_sdk_sqs::Client::new(&config);
    assert!(
        receive_bodies(&sqs, &restaurant_ingress, 1)
            .await
            .is_empty()
    );
}
