//! Helpers for testing functions against `moto_server` on 127.0.0.1 (feature `testing`): the
//! endpoint from the environment, SDK configuration with dummy credentials, and the queues and
//! bus rules a test uses to read back what a function published.
//!
//! A moto test is marked `#[ignore = "needs moto_server: ..."]`, so a plain `cargo test`
//! lists it as *ignored*, never as passed. `scripts/test` starts moto, sets
//! `LAMBDA_STREAM_MOTO_ENDPOINT` and runs the ignored tests too; a moto test run without the
//! endpoint fails with the reason.
//!
//! With the `http` feature, [`http::LocalEndpoint`] plays a third-party API on 127.0.0.1.
//!
//! ```no_run
//! # async fn example() {
//! use lambda_stream_aws::testing::{moto_endpoint, sdk_config};
//! let endpoint = moto_endpoint();
//! let config = sdk_config(&endpoint).await;
//! # let _ = config;
//! # }
//! ```

use std::time::Duration;

use aws_config::{Region, SdkConfig};

#[cfg(feature = "dynamodb")]
mod dynamodb;
#[cfg(feature = "http")]
pub mod http;

#[cfg(feature = "dynamodb")]
pub use dynamodb::{new_streamed_table, new_table, table_stream_event};

/// The moto endpoint. A test that needs it is `#[ignore]`d (so it never shows as passed
/// without running); run without `LAMBDA_STREAM_MOTO_ENDPOINT`, it fails saying so.
pub fn moto_endpoint() -> String {
    match std::env::var("LAMBDA_STREAM_MOTO_ENDPOINT") {
        Ok(endpoint) if !endpoint.trim().is_empty() => endpoint,
        _ => panic!(
            "this test needs moto_server: run scripts/test, or start `moto_server -H 127.0.0.1 -p PORT` and set LAMBDA_STREAM_MOTO_ENDPOINT=http://127.0.0.1:PORT"
        ),
    }
}

/// SDK configuration pointing at `endpoint`, in `us-east-1`, with dummy credentials.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "moto",
        ))
        .load()
        .await
}

/// A name no other test uses: `prefix` and a random suffix.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// `config` in another region (moto keeps each region's keys apart, as AWS does).
pub fn in_region(config: &SdkConfig, region: &str) -> SdkConfig {
    config
        .to_builder()
        .region(Region::new(region.to_string()))
        .build()
}

/// A new KMS key in moto with the alias `alias/<prefix>-<random>` in each of `regions` (one
/// key per region, as a master key alias is set up region by region); the alias.
#[cfg(feature = "kms")]
pub async fn new_master_key(config: &SdkConfig, prefix: &str, regions: &[&str]) -> String {
    let alias = format!("alias/{}", unique_name(prefix));
    for region in regions {
        let kms = aws_sdk_kms::Client::new(&in_region(config, region));
        let key = kms.create_key().send().await.expect("a KMS key");
        let key_id = key
            .key_metadata()
            .map(|m| m.key_id().to_string())
            .expect("the key's id");
        kms.create_alias()
            .alias_name(&alias)
            .target_key_id(key_id)
            .send()
            .await
            .expect("the alias");
    }
    alias
}

/// A new bucket in moto, and a path-style client for it.
#[cfg(feature = "s3")]
pub async fn new_bucket(config: &SdkConfig, prefix: &str) -> (aws_sdk_s3::Client, String) {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    );
    let bucket = unique_name(prefix);
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    (s3, bucket)
}

/// A new queue, FIFO or not: its URL and ARN.
///
/// # Panics
/// When moto refuses the queue: this is test setup.
pub async fn new_queue(sqs: &aws_sdk_sqs::Client, fifo: bool) -> (String, String) {
    let mut name = unique_name("q");
    let mut request = sqs.create_queue();
    if fifo {
        name.push_str(".fifo");
        request = request.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
    }
    let url = request
        .queue_name(name)
        .send()
        .await
        .expect("create the queue")
        .queue_url
        .expect("the queue's URL");
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("read the queue's attributes")
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("the queue's ARN");
    (url, arn)
}

/// A new topic (named from `prefix`) with a new queue subscribed to it, without raw
/// delivery (each message arrives in its SNS envelope): the topic ARN and the queue URL.
///
/// # Panics
/// When moto refuses a call: this is test setup.
#[cfg(feature = "sns")]
pub async fn topic_with_queue(config: &SdkConfig, prefix: &str) -> (String, String) {
    let sns = aws_sdk_sns::Client::new(config);
    let sqs = aws_sdk_sqs::Client::new(config);
    let topic_arn = sns
        .create_topic()
        .name(unique_name(prefix))
        .send()
        .await
        .expect("create the topic")
        .topic_arn
        .expect("the topic's ARN");
    let (queue_url, queue_arn) = new_queue(&sqs, false).await;
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .expect("subscribe the queue");
    (topic_arn, queue_url)
}

/// The Lambda SQS event Lambda would deliver for `messages` received from the queue
/// `queue_arn` (`ReceiveMessage` with `AttributeNames: All` and `MessageAttributeNames: All`
/// gives everything Lambda passes on): each message's id, receipt handle, body, MD5,
/// attributes and message attributes, in Lambda's record shape. For feeding a function what a
/// queue in moto holds.
pub fn sqs_event_from_messages(
    messages: &[aws_sdk_sqs::types::Message],
    queue_arn: &str,
) -> lambda_stream::RecordsEvent {
    use serde_json::{Map, Value, json};
    let region = queue_arn.split(':').nth(3).unwrap_or("us-east-1");
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let attributes: Map<String, Value> = m
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_string(), Value::String(v.clone())))
                        .collect()
                })
                .unwrap_or_default();
            let message_attributes: Map<String, Value> = m
                .message_attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| {
                            let mut attribute = json!({"dataType": v.data_type()});
                            if let Some(text) = v.string_value() {
                                attribute["stringValue"] = json!(text);
                            }
                            if let Some(bytes) = v.binary_value() {
                                attribute["binaryValue"] =
                                    json!(aws_smithy_types::base64::encode(bytes.as_ref()));
                            }
                            (k.clone(), attribute)
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body().unwrap_or_default(),
                "attributes": attributes,
                "messageAttributes": message_attributes,
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            })
        })
        .collect();
    let text = json!({ "Records": records }).to_string();
    match lambda_stream::RecordsEvent::from_slice(text.as_bytes()) {
        Ok(event) => event,
        Err(e) => panic!("the SQS messages make no Lambda event: {e}"),
    }
}

/// One receive of up to 10 messages, each deleted once read: their bodies.
async fn receive_and_delete(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<String> {
    let received = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .send()
        .await
        .expect("receive messages");
    let mut bodies = Vec::new();
    for message in received.messages() {
        bodies.push(message.body().unwrap_or_default().to_string());
        sqs.delete_message()
            .queue_url(queue_url)
            .receipt_handle(message.receipt_handle().unwrap_or_default())
            .send()
            .await
            .expect("delete a message");
    }
    bodies
}

/// Receives and deletes messages until `expected` have arrived or about two seconds passed,
/// and returns their bodies in the order received.
///
/// # Panics
/// When moto refuses a call: this is test setup.
pub async fn receive_bodies(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    expected: usize,
) -> Vec<String> {
    let mut bodies = Vec::new();
    for _ in 0..20 {
        bodies.extend(receive_and_delete(sqs, queue_url).await);
        if bodies.len() >= expected {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bodies
}

/// Every message a queue holds now, read until it is empty twice in a row (so what a function
/// published before it answered is all there), each as JSON (or a JSON string when it is not).
///
/// # Panics
/// When moto refuses a call: this is test setup.
pub async fn receive_all(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<serde_json::Value> {
    let mut bodies = Vec::new();
    let mut empty = 0;
    while empty < 2 {
        let received = receive_and_delete(sqs, queue_url).await;
        if received.is_empty() {
            empty += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        empty = 0;
        bodies.extend(
            received
                .into_iter()
                .map(|body| serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body))),
        );
    }
    bodies
}

/// A new bus with one rule sending the events that match `pattern` (an EventBridge event
/// pattern) to a new queue: the bus name and the queue URL.
///
/// # Panics
/// When moto refuses a call: this is test setup.
#[cfg(feature = "eventbridge")]
pub async fn bus_to_queue(config: &SdkConfig, pattern: &str) -> (String, String) {
    let events = aws_sdk_eventbridge::Client::new(config);
    let bus = unique_name("hub");
    events
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .expect("create the bus");
    let queue_url = rule_to_queue(config, &bus, pattern).await;
    (bus, queue_url)
}

/// Adds a rule to `bus` sending the events that match `pattern` to a new queue; returns the
/// queue URL.
///
/// # Panics
/// When moto refuses a call: this is test setup.
#[cfg(feature = "eventbridge")]
pub async fn rule_to_queue(config: &SdkConfig, bus: &str, pattern: &str) -> String {
    let events = aws_sdk_eventbridge::Client::new(config);
    let sqs = aws_sdk_sqs::Client::new(config);
    let (queue_url, queue_arn) = new_queue(&sqs, false).await;
    let rule = unique_name("to-queue");
    events
        .put_rule()
        .name(&rule)
        .event_bus_name(bus)
        .event_pattern(pattern)
        .send()
        .await
        .expect("create the rule");
    events
        .put_targets()
        .rule(&rule)
        .event_bus_name(bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(queue_arn)
                .build()
                .expect("a target"),
        )
        .send()
        .await
        .expect("add the queue as the rule's target");
    queue_url
}
