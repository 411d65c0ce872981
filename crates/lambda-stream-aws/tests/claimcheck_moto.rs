//! Claim checks end to end against `moto_server`: an event over EventBridge's 256 KB limit is
//! stored in S3 and travels as a pointer through a bus rule to a queue; a consumer of that
//! queue redeems the pointer and its pipeline sees the whole event.

use std::sync::{Arc, Mutex};

use lambda_stream::testing;
use lambda_stream::{
    Config, Envelope, Invocation, KinesisSource, Pipeline, RecordState, SqsSource, StreamHandler,
};
use lambda_stream_aws::testing::{
    bus_to_queue, moto_endpoint, new_bucket, receive_bodies, sdk_config,
};
use lambda_stream_aws::{
    ClaimCheckPublisher, EventBridgeConfig, EventBridgePublisher, S3ClaimCheck,
};
use serde_json::{Value, json};

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn an_oversized_event_travels_as_a_pointer_and_is_redeemed_whole() {
    let endpoint = moto_endpoint();
    let config = sdk_config(&endpoint).await;
    let (s3, bucket) = new_bucket(&config, "claims").await;
    let claims = S3ClaimCheck::new(s3, &bucket);

    // A bus whose rule delivers everything from `custom` to a queue.
    let (bus, queue_url) = bus_to_queue(&config, r#"{"source": ["custom"]}"#).await;
    let events = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);

    // Publish one small and one oversized event.
    let bus_publisher = Arc::new(EventBridgePublisher::new(
        events,
        EventBridgeConfig::new(&bus),
    ));
    let publisher = Arc::new(ClaimCheckPublisher::new(
        bus_publisher,
        Arc::new(claims.clone()),
    ));
    let small = Envelope::builder("menu-updated")
        .id("small-1")
        .partition_key("r1")
        .entity("menu", &json!({"items": 3}))
        .build()
        .expect("valid");
    let big = Envelope::builder("menu-updated")
        .id("big-1")
        .partition_key("r2")
        .entity("menu", &json!({"photos": "p".repeat(400 * 1024)}))
        .build()
        .expect("valid");
    let producer = StreamHandler::with_config(KinesisSource::new(), Config::default()).pipeline(
        Pipeline::new("menus")
            .map(|uow| Ok(uow.event.as_ref().clone()))
            .publish(publisher, 1),
    );
    let report = producer
        .process(testing::kinesis_event(&[small, big]), Invocation::local())
        .await;
    assert_eq!(
        report.summary.pipelines[0].delivered, 2,
        "{:?}",
        report.summary
    );

    // What arrived on the queue: the small event whole, the big one as a pointer.
    let bodies: Vec<String> = receive_bodies(&sqs, &queue_url, 2)
        .await
        .iter()
        .map(|body| {
            let event: Value = serde_json::from_str(body).expect("an EventBridge event");
            event["detail"].to_string()
        })
        .collect();
    assert_eq!(bodies.len(), 2);
    let pointer = bodies
        .iter()
        .find(|b| b.contains("big-1"))
        .expect("the big event's pointer");
    assert!(
        pointer.len() < 1024,
        "a pointer, not the event: {} bytes",
        pointer.len()
    );
    assert!(pointer.contains(&bucket));

    // A consumer of the queue redeems the pointer before its pipeline.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let consumer = StreamHandler::with_config(SqsSource::new(), Config::default())
        .pipeline(
            Pipeline::new("listener")
                .tap(move |uow| {
                    let menu: Value = uow.event.entity().unwrap_or(Value::Null);
                    seen2.lock().expect("lock").push((
                        uow.event.id().to_string(),
                        menu["photos"].as_str().map_or(0, str::len),
                    ));
                })
                .delivered(),
        )
        .redeem_claim_checks(Arc::new(claims));
    let report = consumer
        .process(testing::sqs_event_from_bodies(&bodies), Invocation::local())
        .await;
    assert!(
        report
            .records
            .iter()
            .all(|r| r.pipelines[0] == RecordState::Delivered)
    );
    let mut seen = seen.lock().expect("lock").clone();
    seen.sort();
    assert_eq!(
        seen,
        vec![("big-1".into(), 400 * 1024), ("small-1".into(), 0)]
    );
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn a_fault_too_large_for_the_bus_is_claim_checked_whole_and_one_without_a_store_is_trimmed() {
    let endpoint = moto_endpoint();
    let config = sdk_config(&endpoint).await;
    let (s3, bucket) = new_bucket(&config, "faults").await;
    let (bus, queue_url) = bus_to_queue(&config, r#"{"detail-type": ["fault"]}"#).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let bus_publisher = Arc::new(EventBridgePublisher::new(
        aws_sdk_eventbridge::Client::new(&config),
        EventBridgeConfig::new(&bus),
    ));
    // A 300 KB SQS message that fails: its fault cannot travel on EventBridge as it is.
    let body = Envelope::builder("menu-updated")
        .id("huge-1")
        .entity("menu", &json!({"photos": "p".repeat(300 * 1024)}))
        .build()
        .expect("valid")
        .to_json();
    let failing = || {
        Pipeline::new("menus").map(|_| {
            Err::<lambda_stream::Delivered, _>(lambda_stream::StepError::permanent(
                "the menu is refused",
            ))
        })
    };
    let with_store = StreamHandler::with_config(SqsSource::new(), Config::default())
        .pipeline(failing())
        .faults_to(Arc::new(ClaimCheckPublisher::new(
            bus_publisher.clone(),
            Arc::new(S3ClaimCheck::new(s3.clone(), &bucket)),
        )));
    let report = with_store
        .process(
            testing::sqs_event_from_bodies(std::slice::from_ref(&body)),
            Invocation::local(),
        )
        .await;
    assert_eq!(report.summary.faults_published, 1, "{:?}", report.summary);
    assert!(
        report
            .response
            .expect("answered")
            .batch_item_failures
            .is_empty()
    );
    let stored = s3
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .expect("list");
    let key = stored
        .contents()
        .first()
        .and_then(|o| o.key())
        .expect("the fault stored in S3")
        .to_string();
    let object = s3
        .get_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .expect("get");
    let fault: Value =
        serde_json::from_slice(&object.body.collect().await.expect("body").into_bytes())
            .expect("a fault event");
    assert_eq!(fault["uow"]["record"]["body"], body, "the record whole");

    // Without a claim-check store the fault is trimmed to fit, and still published.
    let without_store = StreamHandler::with_config(SqsSource::new(), Config::default())
        .pipeline(failing())
        .faults_to(bus_publisher);
    let report = without_store
        .process(
            testing::sqs_event_from_bodies(std::slice::from_ref(&body)),
            Invocation::local(),
        )
        .await;
    assert_eq!(report.summary.faults_published, 1);
    let arrived = receive_bodies(&sqs, &queue_url, 2).await;
    let trimmed = arrived
        .iter()
        .filter_map(|b| serde_json::from_str::<Value>(b).ok())
        .find(|e| e["detail"]["uow"].get("trimmed").is_some())
        .expect("the trimmed fault on the bus");
    assert!(trimmed["detail"]["uow"]["trimmed"]["bytes"].as_u64() > Some(300 * 1024));
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn a_reader_with_no_bucket_of_its_own_redeems_from_the_bucket_a_stub_names() {
    let endpoint = moto_endpoint();
    let config = sdk_config(&endpoint).await;
    let (s3, bucket) = new_bucket(&config, "node-claims").await;
    // What a Node service's writer stored: the event, and a stub naming it.
    let stored = json!({"id": "m1", "type": "menu-updated", "timestamp": 1, "partitionKey": "r1",
                        "menu": {"items": ["a", "b"]}});
    s3.put_object()
        .bucket(&bucket)
        .key("big/m1.json")
        .body(stored.to_string().into_bytes().into())
        .send()
        .await
        .expect("put");
    let stub = |id: &str, key: &str| {
        json!({"id": id, "type": "menu-updated", "timestamp": 1, "partitionKey": "r1",
               "tags": {"source": "node-svc"}, "s3": {"bucket": bucket, "key": key}})
        .to_string()
    };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let faults = Arc::new(lambda_stream::InMemoryPublisher::new());
    let reader = S3ClaimCheck::reader(s3);
    assert_eq!(reader.bucket(), None);
    let report = StreamHandler::with_config(SqsSource::new(), Config::default())
        .pipeline(
            Pipeline::new("menus")
                .tap(move |uow| {
                    let menu: Value = uow.event.entity().unwrap_or(Value::Null);
                    seen2.lock().expect("lock").push(menu["items"].clone());
                })
                .delivered(),
        )
        .redeem_claim_checks(Arc::new(reader))
        .faults_to(faults.clone())
        .process(
            testing::sqs_event_from_bodies(&[
                stub("m1", "big/m1.json"),
                stub("m1", "big/missing.json"),
                stub("m2", "big/m1.json"),
            ]),
            Invocation::local(),
        )
        .await;
    let states: Vec<RecordState> = report.records.iter().map(|r| r.pipelines[0]).collect();
    assert_eq!(
        states,
        [
            RecordState::Delivered,
            RecordState::Fault,
            RecordState::Fault
        ]
    );
    assert_eq!(*seen.lock().expect("lock"), [json!(["a", "b"])]);
    let messages: Vec<String> = faults
        .envelopes()
        .iter()
        .map(|f| f.field::<Value>("err").expect("err")["message"].to_string())
        .collect();
    assert!(
        messages[0].contains(&format!("s3://{bucket}/big/missing.json")),
        "{messages:?}"
    );
    assert!(messages[1].contains("another event"), "{messages:?}");
}
