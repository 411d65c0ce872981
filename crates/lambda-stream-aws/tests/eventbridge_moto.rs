//! The EventBridge sink against `moto_server` on 127.0.0.1 (started by `scripts/test`, which
//! sets `LAMBDA_STREAM_MOTO_ENDPOINT`): events published by a pipeline, and fault events,
//! delivered through a bus rule to an SQS queue and read back. Each test makes its own bus,
//! rule and queue.

use std::sync::Arc;

use lambda_stream::testing;
use lambda_stream::{
    Config, Envelope, Invocation, KinesisSource, Pipeline, StepError, StreamHandler,
};
use lambda_stream_aws::testing::{bus_to_queue, moto_endpoint, receive_bodies, sdk_config};
use lambda_stream_aws::{EventBridgeConfig, EventBridgePublisher};
use serde_json::{Value, json};

/// Reads up to `expected` messages (waiting a few seconds at most) and returns the
/// EventBridge events in their bodies.
async fn read_events(
    config: &aws_config::SdkConfig,
    queue_url: &str,
    expected: usize,
) -> Vec<Value> {
    let sqs = aws_sdk_sqs::Client::new(config);
    receive_bodies(&sqs, queue_url, expected)
        .await
        .iter()
        .map(|body| serde_json::from_str(body).expect("an EventBridge event"))
        .collect()
}

fn order(n: usize) -> Envelope {
    Envelope::builder("order-placed")
        .id(format!("e{n}"))
        .timestamp(1_764_000_000_000)
        .partition_key(format!("order-{n}"))
        .entity(
            "order",
            &json!({"id": format!("order-{n}"), "note": "crème brûlée 😀"}),
        )
        .build()
        .expect("valid")
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn a_pipeline_publishes_to_the_bus_and_a_rule_delivers_every_event() {
    let endpoint = moto_endpoint();
    let config = sdk_config(&endpoint).await;
    let (bus, queue_url) = bus_to_queue(&config, r#"{"source": ["external"]}"#).await;
    let publisher = Arc::new(EventBridgePublisher::new(
        aws_sdk_eventbridge::Client::new(&config),
        EventBridgeConfig::new(&bus),
    ));
    let external = Arc::new(publisher.with_source("external"));
    let pipeline = Pipeline::new("orders-to-order-subsystem")
        .on_type("order-*")
        .map(|uow| {
            Envelope::builder("order-placed-v1")
                .id(uow.event.id())
                .partition_key(uow.partition_key())
                .entity("order", &uow.event.entity::<Value>()?)
                .build()
                .map_err(StepError::from)
        })
        .publish(external, 2);
    let handler = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(pipeline)
        .faults_to(publisher);

    let orders: Vec<Envelope> = (0..23).map(order).collect();
    let report = handler
        .process(testing::kinesis_event(&orders), Invocation::local())
        .await;
    assert_eq!(
        report.summary.pipelines[0].delivered, 23,
        "{:?}",
        report.summary
    );
    assert!(report.response.expect("ok").batch_item_failures.is_empty());

    let delivered = read_events(&config, &queue_url, 23).await;
    assert_eq!(delivered.len(), 23);
    let mut ids: Vec<String> = delivered
        .iter()
        .map(|event| {
            assert_eq!(event["source"], "external");
            assert_eq!(event["detail-type"], "order-placed-v1");
            let detail = &event["detail"];
            assert_eq!(detail["type"], "order-placed-v1");
            assert_eq!(detail["order"]["note"], "crème brûlée 😀");
            assert_eq!(detail["tags"]["pipeline"], "orders-to-order-subsystem");
            detail["id"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 23, "every event delivered once");
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn fault_events_go_to_the_bus_with_the_record_to_resubmit() {
    let endpoint = moto_endpoint();
    let config = sdk_config(&endpoint).await;
    let (bus, queue_url) = bus_to_queue(&config, r#"{"source": ["custom"]}"#).await;
    let publisher = Arc::new(EventBridgePublisher::new(
        aws_sdk_eventbridge::Client::new(&config),
        EventBridgeConfig::new(&bus),
    ));
    let handler = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(
            Pipeline::new("p")
                .map(|uow| {
                    if uow.event.id() == "e1" {
                        Err(StepError::permanent("order e1 is broken"))
                    } else {
                        Ok(())
                    }
                })
                .delivered(),
        )
        .faults_to(publisher);
    let report = handler
        .process(
            testing::kinesis_event(&[order(0), order(1)]),
            Invocation::local(),
        )
        .await;
    assert!(report.response.is_ok());
    assert_eq!(report.summary.faults_published, 1);

    let delivered = read_events(&config, &queue_url, 1).await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0]["detail-type"], "fault");
    let detail = &delivered[0]["detail"];
    assert_eq!(detail["err"]["message"], "order e1 is broken");
    assert_eq!(detail["uow"]["pipeline"], "p");
    assert_eq!(detail["uow"]["record"]["eventSource"], "aws:kinesis");
    assert_eq!(detail["uow"]["event"]["id"], "e1");
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn an_unknown_bus_fails_each_entry_as_permanent() {
    let endpoint = moto_endpoint();
    let config = sdk_config(&endpoint).await;
    let mut settings = EventBridgeConfig::new(format!("no-such-bus-{}", uuid::Uuid::new_v4()));
    settings.retry = lambda_stream_aws::RetryPolicy::none();
    let publisher = Arc::new(EventBridgePublisher::new(
        aws_sdk_eventbridge::Client::new(&config),
        settings,
    ));
    let entries = vec![lambda_stream::PublishEntry::from_envelope(&order(0))];
    let results = lambda_stream::Publisher::publish(publisher.as_ref(), &entries).await;
    assert_eq!(results.len(), 1);
    let error = results[0]
        .as_ref()
        .expect_err("an unknown bus is not delivered");
    assert_eq!(error.class(), lambda_stream::ErrorClass::Permanent);
    assert!(
        error.message().contains("ResourceNotFoundException"),
        "{error}"
    );
}
