//! The order BFF against DynamoDB in `moto_server`: the GraphQL API's mutations and queries on
//! a real table and its indexes (no token and another customer refused), the listener given
//! the same event twice and an older one after a newer, and the trigger fed the stream
//! records read back from the table.

use std::sync::Arc;

use lambda_http::http::StatusCode;
use lambda_stream::testing;
use lambda_stream::{Config, Envelope, InMemoryPublisher, Invocation, RecordState};
use lambda_stream_aws::store::Store;
use lambda_stream_aws::testing::{
    moto_endpoint, new_streamed_table, sdk_config, table_stream_event,
};
use lambda_stream_aws::view::Views;
use order_bff::api::call;
use order_bff::graphql::{Services, schema};
use order_bff::model::{CUSTOMER_INDEX, KIND_INDEX};
use serde_json::{Value, json};

fn menu_updated(id: &str, timestamp: i64, price: i64) -> Envelope {
    Envelope::builder("menu-updated")
        .id(id)
        .timestamp(timestamp)
        .partition_key("r1")
        .entity(
            "menu",
            &json!({"restaurantId": "r1", "restaurantName": "Trattoria",
                    "items": [{"id": "m1", "name": "Pizza", "price": price}]}),
        )
        .build()
        .expect("valid")
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn the_bff_works_on_dynamodb_and_its_stream() {
    let config = sdk_config(&moto_endpoint()).await;
    let table = new_streamed_table(
        &config,
        &[
            (CUSTOMER_INDEX, "customerId", "sk"),
            (KIND_INDEX, "discriminator", "pk"),
        ],
    )
    .await;
    let table_name = table.table().to_string();
    let store: Arc<dyn Store> = Arc::new(table);
    let faults = Arc::new(InMemoryPublisher::new());

    // The listener: the newer menu, the same again, then an older one.
    let report = order_bff::listener(
        &Views::new(store.clone()),
        faults.clone(),
        Config::default(),
    )
    .process(
        testing::kinesis_event(&[
            menu_updated("e2", 2_000, 1_000),
            menu_updated("e2", 2_000, 1_000),
            menu_updated("e1", 1_000, 900),
        ]),
        Invocation::local(),
    )
    .await;
    let states: Vec<RecordState> = report.records.iter().map(|r| r.pipelines[0]).collect();
    assert_eq!(
        states,
        vec![
            RecordState::Delivered,
            RecordState::Duplicate,
            RecordState::Stale
        ]
    );

    // The API on the table and its indexes.
    let api = schema(Services {
        store: store.clone(),
        now: Box::new(lambda_stream::envelope::now_millis),
    });
    let ask = |customer: Option<&'static str>, query: &'static str, variables: Value| {
        let api = &api;
        async move {
            call(api, customer, query, variables)
                .await
                .expect("an answer")
        }
    };
    let (_, restaurants) = ask(
        Some("c1"),
        "{ restaurants { restaurantId items { price } } }",
        json!({}),
    )
    .await;
    assert_eq!(
        restaurants["data"]["restaurants"][0]["items"][0]["price"], 1_000,
        "the newer menu"
    );
    let (_, placed) = ask(
        Some("c1"),
        "mutation { placeOrder(input: {restaurantId: \"r1\", items: [{menuItemId: \"m1\", quantity: 3}]}) { id total } }",
        json!({}),
    )
    .await;
    assert_eq!(placed["data"]["placeOrder"]["total"], 3_000, "{placed}");
    let order_id = placed["data"]["placeOrder"]["id"]
        .as_str()
        .expect("an id")
        .to_string();
    let (_, mine) = ask(Some("c1"), "{ myOrders { id } }", json!({})).await;
    assert_eq!(mine["data"]["myOrders"][0]["id"], order_id.as_str());
    let (_, theirs) = ask(
        Some("c2"),
        "query($id: ID!) { order(id: $id) { id } }",
        json!({"id": order_id}),
    )
    .await;
    assert_eq!(
        theirs["data"]["order"],
        Value::Null,
        "another customer's order is not found"
    );
    let (status, _) = ask(None, "{ myOrders { id } }", json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, requested) = ask(
        Some("c1"),
        "mutation($o: ID!) { requestPayment(orderId: $o, paymentMethodToken: \"tok_visa\") { id status } }",
        json!({"o": order_id}),
    )
    .await;
    assert_eq!(
        requested["data"]["requestPayment"]["status"], "requested",
        "{requested}"
    );

    // The trigger on the records the table's stream holds.
    let stream = table_stream_event(&config, &table_name).await;
    assert!(
        stream.records().len() >= 3,
        "{} records",
        stream.records().len()
    );
    let bus = Arc::new(InMemoryPublisher::new());
    let report = order_bff::trigger(bus.clone(), Config::default())
        .process(stream, Invocation::local())
        .await;
    assert!(report.response.is_ok());
    assert!(report.faults.is_empty(), "{:?}", report.faults);
    let published: Vec<String> = bus
        .envelopes()
        .iter()
        .map(|e| e.event_type().to_string())
        .collect();
    assert_eq!(published, vec!["order-placed", "payment-requested"]);
    // The menu view's change is latched: filtered, not an event.
    assert!(
        report.summary.pipelines[0].filtered >= 1,
        "{:?}",
        report.summary
    );
    let placed_event = &bus.envelopes()[0];
    let order: Value = placed_event.entity().expect("the order");
    assert_eq!(order["id"], order_id.as_str());
    assert_eq!(order["total"], 3_000);
}
