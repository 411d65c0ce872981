//! The quick start: an egress gateway of the food-delivery Customer subsystem processing a
//! sample Kinesis batch locally, with no AWS account, and printing what it did.
//!
//! `cargo run -p lambda-stream --features testing --example local_egress`
//!
//! The batch holds orders placed by customers, a payment event, a test event tagged `skip`,
//! an order whose total is missing (a fault) and a record that is not JSON (a fault). Two
//! pipelines run over it: one turns `order-placed` into the external event the Order
//! subsystem consumes, one notifies customers of authorized payments.

use std::sync::Arc;

use lambda_stream::testing;
use lambda_stream::{
    Config, Delivered, Envelope, InMemoryPublisher, Invocation, KinesisSource, Pipeline, StepError,
    StreamHandler, Tags,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The internal order, as the Customer subsystem's BFF publishes it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Order<'a> {
    id: &'a str,
    restaurant_id: &'a str,
    total: Option<f64>,
}

/// The external `order-placed` contract shared with the Order subsystem.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OrderPlacedV1<'a> {
    order_id: &'a str,
    restaurant_id: &'a str,
    total: f64,
}

fn orders_to_order_subsystem(bus: Arc<InMemoryPublisher>) -> Pipeline<Delivered> {
    Pipeline::new("orders-to-order-subsystem")
        .on_type("order-placed")
        .map(|uow| {
            let order: Order<'_> = uow.event.entity_ref()?;
            let total = order
                .total
                .ok_or_else(|| StepError::permanent(format!("order {} has no total", order.id)))?;
            Envelope::builder("order-placed-v1")
                .id(uow.event.id())
                .timestamp(uow.event.timestamp())
                .partition_key(order.id)
                .entity(
                    "order",
                    &OrderPlacedV1 {
                        order_id: order.id,
                        restaurant_id: order.restaurant_id,
                        total,
                    },
                )
                .build()
                .map_err(StepError::from)
        })
        .publish(bus, 4)
}

fn notify_customers(topic: Arc<InMemoryPublisher>) -> Pipeline<Delivered> {
    Pipeline::new("notify-customers")
        .on_type("payment-*")
        .map(|uow| {
            let payment: serde_json::Value = uow.event.entity()?;
            Envelope::builder("customer-notified")
                .id(uow.event.id())
                .partition_key(uow.partition_key())
                .entity(
                    "notification",
                    &json!({
                        "customerId": payment["customerId"],
                        "message": format!(
                            "Your payment for order {} was {}",
                            payment["orderId"].as_str().unwrap_or("?"),
                            uow.event.event_type().trim_start_matches("payment-")
                        ),
                    }),
                )
                .build()
                .map_err(StepError::from)
        })
        .publish(topic, 1)
}

fn order(n: u32, total: Option<f64>) -> Envelope {
    Envelope::builder("order-placed")
        .id(format!("evt-order-{n}"))
        .timestamp(1_764_000_000_000 + i64::from(n))
        .partition_key(format!("order-{n}"))
        .tag("source", "customer-order-bff")
        .entity(
            "order",
            &json!({"id": format!("order-{n}"), "customerId": "c-42", "restaurantId": "r-7", "total": total}),
        )
        .build()
        .unwrap_or_else(|e| panic!("sample order: {e}"))
}

fn sample_batch() -> Vec<(String, Vec<u8>)> {
    let mut test_event = order(9, Some(1.0));
    test_event.tags_mut().insert("skip", true);
    let payment = Envelope::builder("payment-authorized")
        .id("evt-payment-1")
        .timestamp(1_764_000_000_100)
        .partition_key("order-1")
        .entity(
            "payment",
            &json!({"orderId": "order-1", "customerId": "c-42", "amount": 23.5}),
        )
        .build()
        .unwrap_or_else(|e| panic!("sample payment: {e}"));
    let events = [
        order(1, Some(23.5)),
        payment,
        order(2, None),
        test_event,
        order(3, Some(12.0)),
    ];
    let mut batch: Vec<(String, Vec<u8>)> = events
        .iter()
        .map(|e| {
            (
                e.partition_key().unwrap_or_default().to_string(),
                e.to_json().into_bytes(),
            )
        })
        .collect();
    batch.insert(3, ("order-x".into(), b"{this is not json".to_vec()));
    batch
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let bus = Arc::new(InMemoryPublisher::new());
    let topic = Arc::new(InMemoryPublisher::new());
    let faults = Arc::new(InMemoryPublisher::new());
    let mut tags = Tags::new();
    tags.insert("source", "customer-egress-gateway");
    tags.insert("functionname", "customer-egress-gateway-local-listener");
    tags.insert("stage", "local");
    let handler = StreamHandler::with_config(
        KinesisSource::new(),
        Config {
            tags,
            ..Config::default()
        },
    )
    .pipeline(orders_to_order_subsystem(bus.clone()))
    .pipeline(notify_customers(topic.clone()))
    .faults_to(faults.clone());

    let event = testing::kinesis_event_from_payloads(&sample_batch());
    println!(
        "Processing a Kinesis batch of {} records locally...\n",
        event.records().len()
    );
    let report = handler.process(event, Invocation::local()).await;

    println!("Per pipeline (every record ends in exactly one state):");
    for p in &report.summary.pipelines {
        println!(
            "  {:<28} delivered {}  filtered {}  faults {}  retries {}",
            p.name, p.delivered, p.filtered, p.faults, p.retries
        );
    }
    println!(
        "  records {}  undecodable {}  test events skipped {}\n",
        report.summary.records, report.summary.undecodable, report.summary.skipped
    );
    println!("Published to the bus (external events for the Order subsystem):");
    for entry in bus.published() {
        println!("  {}", entry.json());
    }
    println!("\nPublished to the notification topic:");
    for entry in topic.published() {
        println!("  {}", entry.json());
    }
    println!("\nFault events (resubmittable: each keeps its record verbatim):");
    for fault in faults.envelopes() {
        let err: serde_json::Value = fault.field("err").unwrap_or_default();
        let uow: serde_json::Value = fault.field("uow").unwrap_or_default();
        println!(
            "  pipeline {:<26} {}: {}",
            uow["pipeline"].as_str().unwrap_or("?"),
            err["name"].as_str().unwrap_or("?"),
            err["message"].as_str().unwrap_or("?")
        );
    }
    match report.response {
        Ok(response) => println!(
            "\nResponse to Lambda: {}",
            serde_json::to_string(&response).unwrap_or_default()
        ),
        Err(error) => println!("\nThe invocation fails (Lambda retries the batch): {error}"),
    }
}
