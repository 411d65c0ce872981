//! The formats the Node library writes by default, through the whole handler: compressed
//! values, `eem` field-level encryption and claim-check stubs, each read as the plain event
//! (and bad ones faulted alone), and the publishing side (compression when asked, encryption
//! as a step). The Node interop suite (`tests/node-interop`) checks the same against events
//! Node itself makes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lambda_stream::compression::Compression;
use lambda_stream::encryption::{Encryption, Keyring};
use lambda_stream::testing::{self, InMemoryClaimChecks, InMemoryDataKeys};
use lambda_stream::{
    Config, Envelope, InMemoryPublisher, Invocation, KinesisSource, Pipeline, RecordState,
    S3Pointer, Source, StepError, StreamHandler,
};
use serde_json::{Value, json};

fn menu_event(id: &str, items: usize) -> Envelope {
    let menu: Vec<Value> = (0..items)
        .map(|i| json!({"id": format!("m{i}"), "name": "Quattro formaggi", "price": 1150}))
        .collect();
    Envelope::parse(
        json!({
            "id": id, "type": "menu-updated", "timestamp": 1, "partitionKey": "r1",
            "menu": {"restaurantId": "r1", "items": menu}
        })
        .to_string(),
    )
    .expect("valid")
}

fn compressed(event: &Envelope) -> Envelope {
    let json = Compression::threshold(Compression::NODE_THRESHOLD)
        .compress(&event.to_json())
        .expect("json")
        .expect("large enough to compress");
    assert!(json.contains("\"menu\":\"COMPRESSED"), "{}", &json[..200]);
    Envelope::parse(json).expect("valid")
}

/// What each unit's step saw: id and number of menu items (-1 when the menu is not a menu).
type Seen = Arc<Mutex<Vec<(String, i64)>>>;

fn recording(seen: &Seen) -> Pipeline<lambda_stream::Delivered> {
    let seen = Arc::clone(seen);
    Pipeline::new("menus")
        .on_type("menu-*")
        .tap(move |uow| {
            let items = uow
                .event
                .entity::<Value>()
                .ok()
                .and_then(|menu| menu["items"].as_array().map(|a| a.len() as i64))
                .unwrap_or(-1);
            seen.lock()
                .expect("lock")
                .push((uow.event.id().to_string(), items));
        })
        .delivered()
}

fn states(report: &lambda_stream::Report<impl Sized>) -> Vec<RecordState> {
    report.records.iter().map(|r| r.pipelines[0]).collect()
}

#[tokio::test]
async fn a_compressed_event_reaches_the_steps_as_the_plain_event() {
    let seen: Seen = Arc::default();
    let faults = Arc::new(InMemoryPublisher::new());
    let handler = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(recording(&seen))
        .faults_to(faults.clone());
    let plain = menu_event("e1", 300);
    let events = [compressed(&plain), menu_event("e2", 3)];
    let report = handler
        .process(testing::kinesis_event(&events), Invocation::local())
        .await;
    assert_eq!(states(&report), [RecordState::Delivered; 2]);
    assert_eq!(
        *seen.lock().expect("lock"),
        [("e1".to_string(), 300), ("e2".to_string(), 3)]
    );
}

#[tokio::test]
async fn bad_compressed_values_fault_alone_naming_the_value() {
    let seen: Seen = Arc::default();
    let faults = Arc::new(InMemoryPublisher::new());
    let handler = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(recording(&seen))
        .faults_to(faults.clone());
    // A gzip bomb: 20 MiB of spaces inside a JSON string, 20 KB compressed.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    use std::io::Write;
    encoder.write_all(b"\"").expect("write");
    encoder
        .write_all(&vec![b' '; 20 * 1024 * 1024])
        .expect("write");
    encoder.write_all(b"\"").expect("write");
    let bomb = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        encoder.finish().expect("gzip"),
    );
    let with_menu = |id: &str, menu: &str| {
        Envelope::parse(format!(
            r#"{{"id":"{id}","type":"menu-updated","timestamp":1,"menu":{{"items":"{menu}"}}}}"#
        ))
        .expect("valid")
    };
    let events = [
        with_menu("bad-base64", "COMPRESSED%%%"),
        menu_event("good", 2),
        with_menu("bomb", &format!("COMPRESSED{bomb}")),
    ];
    let report = handler
        .process(testing::kinesis_event(&events), Invocation::local())
        .await;
    assert_eq!(
        states(&report),
        [
            RecordState::Fault,
            RecordState::Delivered,
            RecordState::Fault
        ]
    );
    assert_eq!(*seen.lock().expect("lock"), [("good".to_string(), 2)]);
    let reasons: Vec<String> = report
        .records
        .iter()
        .filter_map(|r| r.decode_error.clone())
        .collect();
    assert!(
        reasons[0].contains("`menu.items`") && reasons[0].contains("base64"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].contains("`menu.items`") && reasons[1].contains("gzip bomb"),
        "{reasons:?}"
    );
    assert_eq!(faults.envelopes().len(), 2, "each a fault event");
}

#[tokio::test]
async fn an_encrypted_event_reaches_the_steps_decrypted_and_never_in_clear_elsewhere() {
    let keys = Arc::new(InMemoryDataKeys::new("us-east-1"));
    let keyring = Arc::new(Keyring::new(keys.clone()));
    let plain = Envelope::parse(
        json!({"id": "p1", "type": "payment-authorized", "timestamp": 1,
               "payment": {"orderId": "o1", "customerId": "c-42", "amount": 2350}})
        .to_string(),
    )
    .expect("valid");
    let encrypted = Encryption::new("alias/eem", ["customerId"])
        .encrypt_event(&plain, &keyring)
        .await
        .expect("encrypts");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let faults = Arc::new(InMemoryPublisher::new());
    let pipeline = Pipeline::new("notify")
        .map(move |uow| {
            let payment: Value = uow.event.entity()?;
            seen2
                .lock()
                .expect("lock")
                .push(payment["customerId"].clone());
            if payment["amount"] == 0 {
                return Err(StepError::new("no amount"));
            }
            Ok(())
        })
        .delivered();
    let handler = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(pipeline.clone())
        .decrypt_with(Arc::clone(&keyring))
        .faults_to(faults.clone());
    let mut zero = plain.clone();
    zero.set_field(
        "payment",
        &json!({"orderId": "o2", "customerId": "c-7", "amount": 0}),
    )
    .expect("valid");
    let zero = Encryption::new("alias/eem", ["customerId"])
        .encrypt_event(&zero, &keyring)
        .await
        .expect("encrypts");
    let report = handler
        .process(
            testing::kinesis_event(&[encrypted.clone(), zero]),
            Invocation::local(),
        )
        .await;
    assert_eq!(
        states(&report),
        [RecordState::Delivered, RecordState::Fault]
    );
    assert_eq!(*seen.lock().expect("lock"), [json!("c-42"), json!("c-7")]);
    let fault = faults.envelopes()[0].to_json();
    assert!(
        !fault.contains("c-7"),
        "the fault shows no plaintext: {fault}"
    );
    assert_eq!(
        keys.calls()
            .iter()
            .filter(|c| c.starts_with("Decrypt"))
            .count(),
        1,
        "the data key is decrypted once for the batch"
    );

    // Without a keyring, or with keys that cannot decrypt it: a fault, the step never runs.
    seen.lock().expect("lock").clear();
    let stranger = Arc::new(Keyring::new(Arc::new(InMemoryDataKeys::new("us-east-1"))));
    for handler in [
        StreamHandler::with_config(KinesisSource::new(), Config::default()),
        StreamHandler::with_config(KinesisSource::new(), Config::default()).decrypt_with(stranger),
    ] {
        let faults = Arc::new(InMemoryPublisher::new());
        let report = handler
            .pipeline(pipeline.clone())
            .faults_to(faults.clone())
            .process(
                testing::kinesis_event(&[encrypted.clone(), plain.clone()]),
                Invocation::local(),
            )
            .await;
        assert_eq!(
            states(&report),
            [RecordState::Fault, RecordState::Delivered]
        );
        let err: Value = faults.envelopes()[0].field("err").expect("err");
        assert_eq!(err["name"], "DecryptionError");
    }
    assert_eq!(
        *seen.lock().expect("lock"),
        [json!("c-42"), json!("c-42")],
        "only the plain ones"
    );
}

#[tokio::test]
async fn a_stub_is_redeemed_decompressed_then_decrypted_in_that_order() {
    let keyring = Arc::new(Keyring::new(Arc::new(InMemoryDataKeys::new("us-east-1"))));
    let plain = menu_event("big", 400);
    // Stored as Node would store a large event: encrypted fields, then compressed.
    let encrypted = Encryption::new("alias/eem", ["price"])
        .encrypt_event(&plain, &keyring)
        .await
        .expect("encrypts");
    let stored = Compression::threshold(Compression::NODE_THRESHOLD)
        .compress(&encrypted.to_json())
        .expect("json")
        .expect("compressed");
    let store = Arc::new(InMemoryClaimChecks::new());
    store.put("claims", "menu-updated/big.json", stored);
    let stub = |id: &str, key: &str| {
        Envelope::builder("menu-updated")
            .id(id)
            .timestamp(1)
            .partition_key("r1")
            .s3(S3Pointer {
                bucket: "claims".into(),
                key: key.into(),
            })
            .build()
            .expect("valid")
    };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let faults = Arc::new(InMemoryPublisher::new());
    let handler = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(
            Pipeline::new("menus")
                .tap(move |uow| {
                    let menu: Value = uow.event.entity().unwrap_or(Value::Null);
                    seen2.lock().expect("lock").push((
                        uow.event.id().to_string(),
                        menu["items"][399]["price"].clone(),
                    ));
                })
                .delivered(),
        )
        .redeem_claim_checks(store)
        .decrypt_with(keyring)
        .faults_to(faults.clone());
    let events = [
        stub("big", "menu-updated/big.json"),
        stub("gone", "menu-updated/gone.json"),
        menu_event("small", 400),
    ];
    let report = handler
        .process(testing::kinesis_event(&events), Invocation::local())
        .await;
    assert_eq!(
        states(&report),
        [
            RecordState::Delivered,
            RecordState::Fault,
            RecordState::Delivered
        ]
    );
    assert_eq!(
        *seen.lock().expect("lock"),
        [
            ("big".to_string(), json!(1150)),
            ("small".to_string(), json!(1150))
        ],
        "the stored event, decompressed and decrypted; order kept"
    );
    let err: Value = faults.envelopes()[0].field("err").expect("err");
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("s3://claims/menu-updated/gone.json")),
        "{err}"
    );
}

#[tokio::test]
async fn a_stub_without_a_claim_check_store_is_a_fault_not_a_stub_in_a_step() {
    let faults = Arc::new(InMemoryPublisher::new());
    let seen: Seen = Arc::default();
    let stub = Envelope::builder("menu-updated")
        .id("e1")
        .timestamp(1)
        .s3(S3Pointer {
            bucket: "b".into(),
            key: "k".into(),
        })
        .build()
        .expect("valid");
    let report = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(recording(&seen))
        .faults_to(faults.clone())
        .process(testing::kinesis_event(&[stub]), Invocation::local())
        .await;
    assert_eq!(states(&report), [RecordState::Fault]);
    assert!(seen.lock().expect("lock").is_empty());
    let err: Value = faults.envelopes()[0].field("err").expect("err");
    assert!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("s3://b/k")),
        "{err}"
    );
}

/// A claim-check store that answers after a delay, so units that need it are in flight while
/// the ones behind them need nothing.
struct SlowClaimChecks(InMemoryClaimChecks);

impl lambda_stream::Redeemer for SlowClaimChecks {
    fn fetch<'a>(
        &'a self,
        pointer: &'a S3Pointer,
    ) -> futures::future::BoxFuture<'a, Result<Vec<u8>, StepError>> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            self.0.fetch(pointer).await
        })
    }
}

#[tokio::test]
async fn units_keep_their_order_whichever_need_a_store() {
    let store = InMemoryClaimChecks::new();
    let mut events = Vec::new();
    for i in 0..60 {
        let id = format!("e{i}");
        if i % 3 == 0 {
            store.put("b", &id, menu_event(&id, 1).to_json());
            events.push(
                Envelope::builder("menu-updated")
                    .id(&id)
                    .timestamp(1)
                    .s3(S3Pointer {
                        bucket: "b".into(),
                        key: id.clone(),
                    })
                    .build()
                    .expect("valid"),
            );
        } else {
            events.push(menu_event(&id, 1));
        }
    }
    let seen: Seen = Arc::default();
    let report = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(recording(&seen))
        .redeem_claim_checks(Arc::new(SlowClaimChecks(store)))
        .faults_to(Arc::new(InMemoryPublisher::new()))
        .process(testing::kinesis_event(&events), Invocation::local())
        .await;
    assert!(states(&report).iter().all(|s| *s == RecordState::Delivered));
    let ids: Vec<String> = seen
        .lock()
        .expect("lock")
        .iter()
        .map(|(id, _)| id.clone())
        .collect();
    let expected: Vec<String> = (0..60).map(|i| format!("e{i}")).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn publish_compresses_when_the_pipeline_or_the_environment_asks() {
    let bus = Arc::new(InMemoryPublisher::new());
    let share = |pipeline: Pipeline<()>| {
        pipeline
            .map(|uow| Ok::<_, StepError>((*uow.event).clone()))
            .publish(bus.clone(), 1)
    };
    let event = menu_event("e1", 300);
    let run = |config: Config, pipeline: Pipeline<lambda_stream::Delivered>| {
        let event = event.clone();
        async move {
            StreamHandler::with_config(KinesisSource::new(), config)
                .pipeline(pipeline)
                .process(testing::kinesis_event(&[event]), Invocation::local())
                .await
        }
    };
    let compressed_menu = |bus: &InMemoryPublisher| {
        bus.published()
            .last()
            .map(|entry| entry.json().contains("\"menu\":\"COMPRESSED"))
    };
    let env = Config::from_lookup(|n| (n == "COMPRESSION_THRESHOLD").then(|| "10240".into()));

    run(Config::default(), share(Pipeline::new("plain"))).await;
    assert_eq!(compressed_menu(&bus), Some(false), "off by default");
    run(env.clone(), share(Pipeline::new("env"))).await;
    assert_eq!(compressed_menu(&bus), Some(true), "COMPRESSION_THRESHOLD");
    run(
        Config::default(),
        share(Pipeline::new("own").compression_threshold(10_240)),
    )
    .await;
    assert_eq!(compressed_menu(&bus), Some(true), "compressionThreshold");
    run(
        env.clone(),
        share(Pipeline::new("ignore").compression_ignore(["menu"])),
    )
    .await;
    assert_eq!(compressed_menu(&bus), Some(false), "compressionIgnore");
    run(env, share(Pipeline::new("off").no_compression())).await;
    assert_eq!(compressed_menu(&bus), Some(false), "turned off");
    // What was published reads back as the event.
    let entries = bus.published();
    let sent = Envelope::parse(entries[1].json()).expect("valid");
    let report = StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(recording(&Seen::default()))
        .process(testing::kinesis_event(&[sent]), Invocation::local())
        .await;
    assert_eq!(states(&report), [RecordState::Delivered]);
    assert_eq!(entries[1].event_type(), "menu-updated");
}

#[tokio::test]
async fn an_encrypting_pipeline_publishes_what_the_handler_decrypts() {
    let keyring = Arc::new(Keyring::new(Arc::new(InMemoryDataKeys::new("us-east-1"))));
    let bus = Arc::new(InMemoryPublisher::new());
    let trigger = Pipeline::new("customers")
        .map(|uow| {
            Envelope::builder("customer-updated")
                .id(uow.event.id())
                .timestamp(1)
                .entity(
                    "customer",
                    &json!({"id": "c1", "email": "a@example.com", "phone": null}),
                )
                .build()
                .map_err(StepError::from)
        })
        .encrypt(
            Arc::clone(&keyring),
            Encryption::new("alias/eem", ["email", "phone"]),
        )
        .publish(bus.clone(), 1);
    StreamHandler::with_config(KinesisSource::new(), Config::default())
        .pipeline(trigger)
        .process(
            testing::kinesis_event(&[menu_event("e1", 1)]),
            Invocation::local(),
        )
        .await;
    let sent = &bus.published()[0];
    assert!(!sent.json().contains("a@example.com"), "{}", sent.json());
    let event = Envelope::parse(sent.json()).expect("valid");
    assert_eq!(event.encrypted_fields(), ["email", "phone"]);
    let plain = lambda_stream::encryption::decrypt(&event, &keyring)
        .await
        .expect("decrypts")
        .expect("encrypted");
    let customer: Value = plain.entity().expect("entity");
    assert_eq!(
        customer,
        json!({"id": "c1", "email": "a@example.com", "phone": null})
    );
}

#[test]
fn every_source_that_carries_envelopes_decompresses_them() {
    use lambda_stream::{EventBridgeSource, SnsSource, SqsSource};
    let plain = menu_event("e1", 300);
    let event = compressed(&plain);
    let items = |envelope: Envelope| -> usize {
        let menu: Value = envelope.entity().expect("the plain menu");
        menu["items"].as_array().map_or(0, Vec::len)
    };
    let kinesis = testing::kinesis_event(std::slice::from_ref(&event));
    let sqs = testing::sqs_event(std::slice::from_ref(&event));
    let sqs_sns = testing::sqs_sns_event(std::slice::from_ref(&event));
    let sns = testing::sns_event(std::slice::from_ref(&event));
    let eventbridge = testing::eventbridge_event(&event, "custom");
    let read = [
        KinesisSource::new().envelope(kinesis.records().get(0).expect("a record")),
        SqsSource::new().envelope(sqs.records().get(0).expect("a record")),
        SqsSource::new()
            .sns_wrapped()
            .envelope(sqs_sns.records().get(0).expect("a record")),
        SnsSource::new().envelope(sns.records().get(0).expect("a record")),
    ];
    for envelope in read {
        assert_eq!(items(envelope.expect("decodes")), 300);
    }
    let source = EventBridgeSource::new();
    let records = source.records(eventbridge);
    assert_eq!(
        items(
            source
                .envelope(records.get(0).expect("a record"))
                .expect("decodes")
        ),
        300
    );
}
