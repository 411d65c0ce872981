//! The BFF and control building blocks over the [`Store`] trait: materialized views (late and
//! repeated events change nothing and are counted apart), the micro event store (collect,
//! correlate, evaluate, exactly once per id), and the table's stream feeding a trigger; on the
//! in-memory store, and the same store operations on DynamoDB in `moto_server`.

use std::sync::Arc;
use std::time::Duration;

use lambda_stream::testing;
use lambda_stream::{
    Config, DynamoDbSource, Envelope, InMemoryPublisher, Invocation, Pipeline, RecordState,
    SqsSource, StreamHandler,
};
use lambda_stream_aws::event_store::{Emit, EventStore, EventStoreSteps};
use lambda_stream_aws::store::memory::InMemoryStore;
use lambda_stream_aws::store::{Freshness, Key, Query, Store};
use lambda_stream_aws::testing::{moto_endpoint, new_table, sdk_config};
use lambda_stream_aws::view::{MaterializeStep, View, Views};
use serde_json::{Value, json};

fn menu_event(id: &str, restaurant: &str, timestamp: i64, items: u32) -> Envelope {
    Envelope::builder("restaurant-menu-published")
        .id(id)
        .timestamp(timestamp)
        .partition_key(restaurant)
        .entity("menu", &json!({"restaurantId": restaurant, "items": items}))
        .build()
        .expect("valid")
}

fn menus(views: &Views) -> Pipeline<lambda_stream::Delivered> {
    Pipeline::new("menus")
        .on_type("restaurant-menu-published")
        .materialize(views, |uow| {
            let menu: Value = uow.event.entity()?;
            let restaurant = menu["restaurantId"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            View::new(
                Key::new(restaurant, "menu"),
                "menu",
                &json!({"items": menu["items"]}),
            )
        })
}

#[tokio::test]
async fn a_view_keeps_the_newest_and_counts_late_and_repeated_events_apart() {
    let store = Arc::new(InMemoryStore::new());
    let views = Views::new(store.clone()).ttl_days(30);
    let handler =
        StreamHandler::with_config(SqsSource::new(), Config::default()).pipeline(menus(&views));
    let newer = menu_event("m2", "r1", 2_000_000, 12);
    let older = menu_event("m1", "r1", 1_000_000, 10);
    let report = handler
        .process(
            testing::sqs_event(&[newer.clone(), older, newer]),
            Invocation::local(),
        )
        .await;
    let states: Vec<RecordState> = report.records.iter().map(|r| r.pipelines[0]).collect();
    assert_eq!(
        states,
        vec![
            RecordState::Delivered,
            RecordState::Stale,
            RecordState::Duplicate
        ]
    );
    let summary = &report.summary.pipelines[0];
    assert_eq!(
        (summary.delivered, summary.stale, summary.duplicates),
        (1, 1, 1)
    );
    let item = store
        .get(Key::new("r1", "menu"))
        .await
        .expect("read")
        .expect("the view");
    assert_eq!(item["items"], 12);
    assert_eq!(item["discriminator"], "menu");
    assert_eq!(item["latched"], true, "the trigger will not echo it");
    assert_eq!(item["deleted"], false);
    assert_eq!(item["ttl"], 2_000 + 30 * 86_400);
    // The view's change is latched: a trigger on the table drops it.
    let trigger = StreamHandler::with_config(DynamoDbSource::new(), Config::default())
        .pipeline(Pipeline::new("trigger").drop_latched().delivered());
    let report = trigger
        .process(store.take_stream_event(), Invocation::local())
        .await;
    assert_eq!(report.summary.pipelines[0].filtered, 1);
}

fn order_event(event_type: &str, id: &str, order: &str, timestamp: i64) -> Envelope {
    Envelope::builder(event_type)
        .id(id)
        .timestamp(timestamp)
        .partition_key(order)
        .entity("order", &json!({"id": order}))
        .build()
        .expect("valid")
}

/// Emits `order-ready` once per order, when it was placed and paid.
fn ready_rule(trigger: &Envelope, correlated: &[Envelope]) -> Vec<Emit> {
    let has = |t: &str| correlated.iter().any(|e| e.event_type() == t);
    if has("order-placed") && has("payment-authorized") {
        let order = trigger.partition_key().unwrap_or_default().to_string();
        let ready = Envelope::builder("order-ready")
            .timestamp(trigger.timestamp())
            .partition_key(&order)
            .build()
            .expect("valid");
        vec![Emit::new("ready", ready).once_per(order)]
    } else {
        Vec::new()
    }
}

#[tokio::test]
async fn collected_events_are_evaluated_by_the_trigger_and_published_once_per_id() {
    let store = Arc::new(InMemoryStore::new());
    let events = EventStore::new(store.clone(), 30);
    let listener = StreamHandler::with_config(SqsSource::new(), Config::default()).pipeline(
        Pipeline::new("collect").collect(
            &events,
            |uow| Ok(uow.partition_key().to_string()),
            |_| None,
        ),
    );
    let bus = Arc::new(InMemoryPublisher::new());
    let trigger = StreamHandler::with_config(DynamoDbSource::new(), Config::default()).pipeline(
        events.publish_once(
            Pipeline::new("evaluate").evaluate(
                &events,
                |uow| Ok(uow.partition_key().to_string()),
                ready_rule,
            ),
            bus.clone(),
            2,
        ),
    );
    let placed = order_event("order-placed", "e1", "o1", 1);
    let paid = order_event("payment-authorized", "e2", "o1", 2);
    // Both arrive, one of them twice.
    let report = listener
        .process(
            testing::sqs_event(&[placed.clone(), paid.clone(), paid]),
            Invocation::local(),
        )
        .await;
    let states: Vec<RecordState> = report.records.iter().map(|r| r.pipelines[0]).collect();
    assert_eq!(
        states,
        vec![
            RecordState::Delivered,
            RecordState::Delivered,
            RecordState::Duplicate
        ]
    );
    let correlated = events.correlated("o1").await.expect("query");
    assert_eq!(
        correlated.iter().map(|e| e.id()).collect::<Vec<_>>(),
        vec!["e1", "e2"]
    );
    // The trigger sees the two collected events as themselves; both complete the rule, and
    // it fires once.
    let stream = store.take_stream_event();
    let report = trigger.process(stream.clone(), Invocation::local()).await;
    assert!(report.response.is_ok());
    let published = bus.envelopes();
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(published[0].id(), "o1.ready");
    let triggers: Vec<Value> = published[0].field("triggers").expect("triggers");
    assert_eq!(triggers.len(), 1);
    // The stream delivered again (a retried batch): nothing more.
    let report = trigger.process(stream, Invocation::local()).await;
    assert_eq!(bus.envelopes().len(), 1);
    assert!(report.summary.pipelines[0].duplicates >= 1);
}

#[tokio::test]
async fn an_event_flagged_to_expire_comes_back_as_type_expired() {
    let store = Arc::new(InMemoryStore::new());
    let events = EventStore::new(store.clone(), 30);
    let listener = StreamHandler::with_config(SqsSource::new(), Config::default()).pipeline(
        Pipeline::new("collect").collect(
            &events,
            |uow| Ok(uow.partition_key().to_string()),
            |event| (event.event_type() == "order-placed").then_some(Duration::from_secs(900)),
        ),
    );
    listener
        .process(
            testing::sqs_event(&[order_event("order-placed", "e1", "o1", 1_000)]),
            Invocation::local(),
        )
        .await;
    store.take_stream_event();
    assert_eq!(store.expire_before(1 + 900), 0, "not yet");
    assert_eq!(store.expire_before(2 + 900), 1);
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = Arc::clone(&seen);
    StreamHandler::with_config(DynamoDbSource::new(), Config::default())
        .pipeline(
            Pipeline::new("expired")
                .tap(move |uow| {
                    s.lock().expect("lock").push((
                        uow.event.event_type().to_string(),
                        uow.event.id().to_string(),
                    ));
                })
                .delivered(),
        )
        .process(store.take_stream_event(), Invocation::local())
        .await;
    assert_eq!(
        *seen.lock().expect("lock"),
        vec![("order-placed-expired".to_string(), "e1.expired".to_string())]
    );
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn dynamodb_is_the_same_store() {
    let endpoint = moto_endpoint();
    let store = new_table(&sdk_config(&endpoint).await).await;
    let key = Key::new("v1", "view");
    let write = |ts: i64| Store::update_if_newer(&store, key.clone(), json!({"status": ts}), ts);
    assert_eq!(write(5).await.expect("ok"), Freshness::Written);
    assert_eq!(write(5).await.expect("ok"), Freshness::Duplicate);
    assert_eq!(write(3).await.expect("ok"), Freshness::Stale);
    assert_eq!(write(7).await.expect("ok"), Freshness::Written);
    let item = Store::get(&store, key).await.expect("ok").expect("there");
    assert_eq!(item["status"], 7);
    let row = |pk: &str, sk: &str| json!({"pk": pk, "sk": sk, "data": "o1"});
    assert_eq!(
        Store::put_if_absent(&store, row("e1", "EVENT"))
            .await
            .expect("ok"),
        lambda_stream_aws::WriteOutcome::Written
    );
    assert_eq!(
        Store::put_if_absent(&store, row("e1", "EVENT"))
            .await
            .expect("ok"),
        lambda_stream_aws::WriteOutcome::Skipped
    );
    Store::put(&store, row("e2", "EVENT")).await.expect("ok");
    Store::put(&store, row("o1", "CORREL#e9"))
        .await
        .expect("ok");
    let by_data = store
        .query(Query::index("DataIndex", "data", "o1").sk_prefix("EVENT"))
        .await
        .expect("query the index");
    assert_eq!(by_data.len(), 2);
    let partition = store
        .query(Query::partition("o1").sk_prefix("CORREL"))
        .await
        .expect("query the table");
    assert_eq!(partition.len(), 1);
    Store::delete(&store, Key::new("e2", "EVENT"))
        .await
        .expect("ok");
    assert!(
        Store::get(&store, Key::new("e2", "EVENT"))
            .await
            .expect("ok")
            .is_none()
    );
}
