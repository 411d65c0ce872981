//! Helpers shared by the moto integration tests. Each test binary compiles this module and
//! uses only some of it.
#![allow(dead_code)]

use aws_config::{Region, SdkConfig};

/// The moto endpoint, or `None` (with a note) when the test runs without one. Under
/// `scripts/test` moto is required, so a missing endpoint fails instead of skipping.
pub(crate) fn moto_endpoint() -> Option<String> {
    match std::env::var("LAMBDA_STREAM_MOTO_ENDPOINT") {
        Ok(endpoint) => Some(endpoint),
        Err(_) => {
            assert!(
                std::env::var("LAMBDA_STREAM_REQUIRE_MOTO").is_err(),
                "moto_server is required but LAMBDA_STREAM_MOTO_ENDPOINT is not set"
            );
            eprintln!("skipped: no moto_server (run scripts/test to start one)");
            None
        }
    }
}

/// SDK configuration pointing at moto, with dummy credentials.
pub(crate) async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "moto",
        ))
        .load()
        .await
}

/// A new queue, FIFO or not: (URL, ARN).
pub(crate) async fn new_queue(sqs: &aws_sdk_sqs::Client, fifo: bool) -> (String, String) {
    let mut name = format!("q-{}", uuid::Uuid::new_v4().simple());
    let mut request = sqs.create_queue();
    if fifo {
        name.push_str(".fifo");
        request = request.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
    }
    let url = request
        .queue_name(name)
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("attributes")
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("arn");
    (url, arn)
}

#[cfg(feature = "eventbridge")]
/// A bus with a rule sending events of `source` to a new queue; returns the bus name and the
/// queue URL.
pub(crate) async fn bus_to_queue(config: &aws_config::SdkConfig, source: &str) -> (String, String) {
    let events = aws_sdk_eventbridge::Client::new(config);
    let sqs = aws_sdk_sqs::Client::new(config);
    let id = uuid::Uuid::new_v4().simple().to_string();
    let bus = format!("hub-{id}");
    events
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .expect("bus");
    let (queue_url, queue_arn) = new_queue(&sqs, false).await;
    let rule = format!("to-queue-{id}");
    events
        .put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .event_pattern(serde_json::json!({ "source": [source] }).to_string())
        .send()
        .await
        .expect("rule");
    events
        .put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(queue_arn)
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("target");
    (bus, queue_url)
}
