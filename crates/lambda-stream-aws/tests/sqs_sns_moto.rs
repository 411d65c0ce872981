//! The SQS and SNS sinks against `moto_server` (started by `scripts/test`): messages sent by a
//! pipeline to a queue, and to a topic with a queue subscribed, read back from the queue. Each
//! test makes its own topic and queues.

use std::sync::Arc;
use std::time::Duration;

use lambda_stream::testing;
use lambda_stream::{
    Config, Envelope, Invocation, KinesisSource, Pipeline, PublishEntry, StreamHandler,
};
use lambda_stream_aws::testing::{moto_endpoint, new_queue, sdk_config, topic_with_queue};
use lambda_stream_aws::{SnsConfig, SnsPublisher, SqsConfig, SqsPublisher};
use serde_json::{Value, json};

/// Every message on the queue: (body, `type` attribute, group id).
async fn drain(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    expected: usize,
) -> Vec<(String, Option<String>, Option<String>)> {
    let mut messages = Vec::new();
    for _ in 0..20 {
        let received = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .message_system_attribute_names(
                aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId,
            )
            .send()
            .await
            .expect("receive");
        for message in received.messages() {
            let kind = message
                .message_attributes()
                .and_then(|a| a.get("type"))
                .and_then(|v| v.string_value())
                .map(str::to_string);
            let group = message
                .attributes()
                .and_then(|a| {
                    a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
                })
                .cloned();
            messages.push((message.body().unwrap_or_default().to_string(), kind, group));
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
        if messages.len() >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    messages
}

fn things(count: usize) -> Vec<Envelope> {
    (0..count)
        .map(|n| {
            Envelope::builder(if n % 5 == 4 {
                "other-thing"
            } else {
                "thing-created"
            })
            .id(format!("e{n}"))
            .timestamp(1)
            .partition_key(format!("thing-{}", n % 3))
            .entity("thing", &json!({"n": n, "name": format!("thing ñ {n}")}))
            .build()
            .expect("valid")
        })
        .collect()
}

/// The basic egress of the ESG seed: thing events become the external system's message.
fn to_external(uow: &lambda_stream::Uow<()>) -> Result<PublishEntry, lambda_stream::StepError> {
    let thing: Value = uow.event.entity()?;
    Ok(PublishEntry::message(
        uow.event.event_type().to_string(),
        json!({"f1": thing["n"], "f2": thing["name"]}).to_string(),
    )
    .with_id(uow.event.id().to_string())
    .with_partition_key(uow.partition_key()))
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn send_to_a_queue_delivers_every_message_with_its_type() {
    let endpoint = moto_endpoint();
    let config = sdk_config(&endpoint).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let (url, _) = new_queue(&sqs, false).await;
    let publisher = Arc::new(SqsPublisher::new(sqs.clone(), SqsConfig::new(&url)));
    let handler = StreamHandler::with_config(KinesisSource::new(), Config::default()).pipeline(
        Pipeline::new("to-queue")
            .on_type("thing-*")
            .map(to_external)
            .send(publisher, 2),
    );
    let report = handler
        .process(testing::kinesis_event(&things(25)), Invocation::local())
        .await;
    assert_eq!(
        report.summary.pipelines[0].delivered, 20,
        "{:?}",
        report.summary
    );
    assert_eq!(report.summary.pipelines[0].filtered, 5);

    let messages = drain(&sqs, &url, 20).await;
    assert_eq!(messages.len(), 20);
    let mut ns: Vec<i64> = messages
        .iter()
        .map(|(body, kind, _)| {
            assert_eq!(kind.as_deref(), Some("thing-created"));
            let body: Value = serde_json::from_str(body).expect("json");
            assert!(
                body["f2"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("thing ñ")
            );
            body["f1"].as_i64().expect("f1")
        })
        .collect();
    ns.sort_unstable();
    ns.dedup();
    assert_eq!(ns.len(), 20, "each message once");
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn send_to_a_fifo_queue_groups_by_partition_key() {
    let endpoint = moto_endpoint();
    let config = sdk_config(&endpoint).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let (url, _) = new_queue(&sqs, true).await;
    let publisher = Arc::new(SqsPublisher::new(sqs.clone(), SqsConfig::new(&url)));
    let handler = StreamHandler::with_config(KinesisSource::new(), Config::default()).pipeline(
        Pipeline::new("to-fifo")
            .on_type("thing-*")
            .map(to_external)
            .send(publisher, 1),
    );
    let report = handler
        .process(testing::kinesis_event(&things(10)), Invocation::local())
        .await;
    assert_eq!(
        report.summary.pipelines[0].delivered, 8,
        "{:?}",
        report.summary
    );
    let messages = drain(&sqs, &url, 8).await;
    assert_eq!(messages.len(), 8);
    for (body, _, group) in &messages {
        let n = serde_json::from_str::<Value>(body).expect("json")["f1"]
            .as_i64()
            .expect("f1");
        assert_eq!(group.as_deref(), Some(format!("thing-{}", n % 3).as_str()));
    }
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn publish_to_a_topic_reaches_a_subscribed_queue() {
    let endpoint = moto_endpoint();
    let config = sdk_config(&endpoint).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let sns = aws_sdk_sns::Client::new(&config);
    let (topic_arn, url) = topic_with_queue(&config, "t").await;
    let publisher = Arc::new(SnsPublisher::new(sns, SnsConfig::new(&topic_arn)));
    let handler = StreamHandler::with_config(KinesisSource::new(), Config::default()).pipeline(
        Pipeline::new("notify")
            .on_type("thing-*")
            .map(to_external)
            .send(publisher, 2),
    );
    let report = handler
        .process(testing::kinesis_event(&things(15)), Invocation::local())
        .await;
    assert_eq!(
        report.summary.pipelines[0].delivered, 12,
        "{:?}",
        report.summary
    );

    // Without raw delivery the queue receives SNS's JSON with the message inside.
    let messages = drain(&sqs, &url, 12).await;
    assert_eq!(messages.len(), 12);
    for (body, _, _) in &messages {
        let notification: Value = serde_json::from_str(body).expect("json");
        assert_eq!(notification["Type"], "Notification");
        assert_eq!(notification["TopicArn"], topic_arn.as_str());
        assert_eq!(
            notification["MessageAttributes"]["type"]["Value"],
            "thing-created"
        );
        let message: Value =
            serde_json::from_str(notification["Message"].as_str().expect("message")).expect("json");
        assert!(message["f1"].is_i64());
    }
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn a_single_message_goes_as_a_plain_publish() {
    let endpoint = moto_endpoint();
    let config = sdk_config(&endpoint).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let sns = aws_sdk_sns::Client::new(&config);
    let (topic_arn, url) = topic_with_queue(&config, "t").await;
    let publisher = SnsPublisher::new(sns.clone(), SnsConfig::new(&topic_arn));
    let entry = PublishEntry::message("thing-created", r#"{"f1":1}"#);
    let results = lambda_stream::Publisher::publish(&publisher, std::slice::from_ref(&entry)).await;
    assert!(results[0].is_ok(), "{results:?}");
    let messages = drain(&sqs, &url, 1).await;
    assert_eq!(messages.len(), 1);
    let notification: Value = serde_json::from_str(&messages[0].0).expect("json");
    assert_eq!(notification["Message"], r#"{"f1":1}"#);
    assert_eq!(
        notification["MessageAttributes"]["type"]["Value"],
        "thing-created"
    );

    // A topic that does not exist refuses the message for good.
    let missing = SnsPublisher::new(sns, SnsConfig::new(format!("{topic_arn}-missing")));
    let results = lambda_stream::Publisher::publish(&missing, std::slice::from_ref(&entry)).await;
    let error = results[0].as_ref().expect_err("no such topic");
    assert_eq!(error.class(), lambda_stream::ErrorClass::Permanent);
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn messages_received_from_a_queue_become_the_lambda_event_a_consumer_reads() {
    use lambda_stream::{RecordState, SqsSource};
    let config = sdk_config(&moto_endpoint()).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let (url, arn) = new_queue(&sqs, false).await;
    let event = Envelope::builder("thing-created")
        .id("t1")
        .timestamp(1)
        .entity("thing", &json!({"name": "n"}))
        .build()
        .expect("valid");
    sqs.send_message()
        .queue_url(&url)
        .message_body(event.to_json())
        .message_attributes(
            "type",
            aws_sdk_sqs::types::MessageAttributeValue::builder()
                .data_type("String")
                .string_value("thing-created")
                .build()
                .expect("an attribute"),
        )
        .send()
        .await
        .expect("send");
    let received = sqs
        .receive_message()
        .queue_url(&url)
        .message_attribute_names("All")
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await
        .expect("receive");
    let lambda_event =
        lambda_stream_aws::testing::sqs_event_from_messages(received.messages(), &arn);
    let record = lambda_event.records().get(0).expect("one record");
    assert_eq!(
        record
            .get_str(&["messageAttributes", "type", "stringValue"])
            .as_deref(),
        Some("thing-created")
    );
    assert!(record.get_str(&["attributes", "SentTimestamp"]).is_some());
    assert_eq!(
        record.get_str(&["eventSourceARN"]).as_deref(),
        Some(arn.as_str())
    );
    let report = StreamHandler::with_config(SqsSource::new(), Config::default())
        .pipeline(Pipeline::new("all").delivered())
        .process(lambda_event, Invocation::local())
        .await;
    assert_eq!(report.records[0].pipelines, [RecordState::Delivered]);
    assert_eq!(report.response.expect("ok").batch_item_failures.len(), 0);
}
