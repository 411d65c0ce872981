//! Every source: AWS's documented sample events, events encoded the way the Node library
//! encodes them, records that cannot be decoded, and each batch response.

use lambda_stream::testing::{self, Change};
use lambda_stream::{
    DynamoDbSource, Envelope, EventBridgeSource, HandlerError, KinesisSource, RawRecord, RawSource,
    Records, RecordsEvent, SingleEvent, SnsSource, Source, SourceRecord, SqsSource,
};
use serde_json::{Value, json};

fn fixture_text(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).expect("fixture exists")
}

fn fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
    serde_json::from_str(&fixture_text(name)).expect("fixture parses")
}

/// An event from JSON, read as the runtime reads the bytes Lambda sends.
fn records_event(value: Value) -> RecordsEvent {
    RecordsEvent::from_slice(value.to_string().as_bytes()).expect("a Records event")
}

fn thing(id: &str, n: i64) -> Envelope {
    Envelope::builder("thing-created")
        .id(id)
        .timestamp(1_600_000_000_000 + n)
        .partition_key(format!("pk-{id}"))
        .entity("thing", &json!({"id": id, "name": format!("Thing {n}")}))
        .build()
        .expect("valid")
}

fn decode_all<S: Source>(source: &S, event: S::Event) -> Vec<Result<Envelope, String>> {
    source
        .records(event)
        .iter()
        .map(|r| source.envelope(r).map_err(|e| e.to_string()))
        .collect()
}

// ---- Kinesis

#[test]
fn kinesis_node_encoded_envelopes_decode_and_round_trip() {
    let event: RecordsEvent = fixture("node-kinesis-event.json");
    let originals: Vec<Value> = fixture("node-envelopes.json");
    let decoded = decode_all(&KinesisSource::new(), event);
    assert_eq!(decoded.len(), 3);
    for (envelope, original) in decoded.iter().zip(&originals) {
        let envelope = envelope.as_ref().expect("decodes");
        let back: Value = serde_json::from_str(&envelope.to_json()).expect("json");
        assert_eq!(&back, original, "round trip keeps every field");
    }
    let first = decoded[0].as_ref().expect("decodes");
    assert_eq!(first.event_type(), "thing-created");
    assert_eq!(
        first.entity::<Value>().expect("entity")["name"],
        "Thing One"
    );
    assert!(decoded[1].as_ref().expect("decodes").is_skipped());
    let order = decoded[2].as_ref().expect("decodes");
    assert_eq!(
        order.field::<Value>("metadata").expect("metadata")["schemaVersion"],
        "2"
    );
    assert_eq!(order.encrypted_fields(), vec!["total"]);
}

#[test]
fn kinesis_aws_sample_is_not_envelopes_but_reads_raw() {
    let event: RecordsEvent = fixture("aws-kinesis-event.json");
    let decoded = decode_all(&KinesisSource::new(), event.clone());
    for result in &decoded {
        let err = result.as_ref().expect_err("plain text is not an envelope");
        assert!(err.contains("shardId-000000000006:4959"), "{err}");
        assert!(err.contains("not a JSON event envelope"), "{err}");
    }
    let raw = decode_all(&KinesisSource::new().raw(), event);
    let first = raw[0].as_ref().expect("raw decodes");
    assert_eq!(first.event_type(), "raw");
    assert_eq!(
        first.id(),
        "shardId-000000000006:49590338271490256608559692538361571095921575989136588898"
    );
    assert_eq!(first.timestamp(), 1_545_084_650_987);
    assert_eq!(first.partition_key(), Some("1"));
    assert_eq!(
        first.raw_as::<String>().expect("text"),
        "Hello, this is a test."
    );
}

#[test]
fn kinesis_id_and_timestamp_default_from_the_record() {
    let payload = br#"{"type":"thing-created","thing":{}}"#.to_vec();
    let event = testing::kinesis_event_from_payloads(&[("k".into(), payload)]);
    let decoded = decode_all(&KinesisSource::new(), event);
    let envelope = decoded[0].as_ref().expect("decodes");
    assert_eq!(
        envelope.id(),
        format!("shardId-000000000000:{}", testing::sequence_number(1))
    );
    assert_eq!(envelope.timestamp(), 1_545_084_650_987);
}

#[test]
fn kinesis_bad_records_fail_alone_with_clear_reasons() {
    let good = thing("a", 1).to_json().into_bytes();
    let payloads = vec![
        ("k".to_string(), good),
        ("k".to_string(), b"{not json".to_vec()),
        ("k".to_string(), br#"{"id":"x","timestamp":1}"#.to_vec()),
        ("k".to_string(), vec![0xff, 0x00, 0x12]),
        ("k".to_string(), b"[1,2]".to_vec()),
    ];
    let decoded = decode_all(
        &KinesisSource::new(),
        testing::kinesis_event_from_payloads(&payloads),
    );
    assert!(decoded[0].is_ok());
    assert!(
        decoded[1]
            .as_ref()
            .expect_err("bad")
            .contains("not a JSON event envelope")
    );
    assert!(decoded[2].as_ref().expect_err("bad").contains("no `type`"));
    assert!(decoded[3].is_err());
    assert!(
        decoded[4]
            .as_ref()
            .expect_err("bad")
            .contains("not a JSON event envelope")
    );
}

fn kinesis_record(shard: &str, sequence: &str) -> Value {
    json!({
        "kinesis": {"partitionKey": "k", "sequenceNumber": sequence, "data": "",
                    "approximateArrivalTimestamp": 1.0},
        "eventID": format!("{shard}:{sequence}"),
    })
}

/// The record at `i` of a batch.
fn nth(records: &Records, i: usize) -> SourceRecord<'_> {
    records.get(i).expect("the batch has that record")
}

#[test]
fn kinesis_response_reports_the_lowest_failed_sequence_per_shard() {
    let a1 = kinesis_record(
        "shardId-000000000001",
        "49590338271490256608559692540925702759324208523137515618",
    );
    let a2 = kinesis_record(
        "shardId-000000000001",
        "49590338271490256608559692538361571095921575989136588898",
    );
    let b1 = kinesis_record("shardId-000000000002", "900");
    let b2 = kinesis_record("shardId-000000000002", "1000");
    let records = records_event(json!({"Records": [a1, a2, b2, b1]})).into_records();
    let all: Vec<SourceRecord<'_>> = records.iter().collect();
    let response = KinesisSource::new().respond(&all).expect("ok");
    let ids: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        ids,
        vec![
            "49590338271490256608559692538361571095921575989136588898".to_string(),
            "900".to_string()
        ]
    );
    let empty = KinesisSource::new().respond(&[]).expect("ok");
    assert!(empty.batch_item_failures.is_empty());
    let json = serde_json::to_value(&response).expect("json");
    assert!(json["batchItemFailures"][0]["itemIdentifier"].is_string());
}

// ---- SQS

#[test]
fn sqs_bodies_are_envelopes() {
    let events = vec![thing("a", 1), thing("b", 2)];
    let decoded = decode_all(&SqsSource::new(), testing::sqs_event(&events));
    assert_eq!(decoded[0].as_ref().expect("ok"), &events[0]);
    assert_eq!(decoded[1].as_ref().expect("ok"), &events[1]);
}

#[test]
fn sqs_aws_sample_reads_raw_and_fails_as_envelopes() {
    let event: RecordsEvent = fixture("aws-sqs-event.json");
    let decoded = decode_all(&SqsSource::new(), event.clone());
    assert!(decoded[0].as_ref().expect_err("text").contains("059f36b4"));
    let raw = decode_all(&SqsSource::new().raw(), event);
    let first = raw[0].as_ref().expect("raw");
    assert_eq!(first.id(), "059f36b4-87a3-44ab-83d2-661975830a7d");
    assert_eq!(first.timestamp(), 1_545_082_649_183);
    assert_eq!(first.raw_as::<String>().expect("text"), "Test message.");
}

#[test]
fn sqs_unwraps_sns_notifications() {
    let events = vec![thing("a", 1)];
    let decoded = decode_all(
        &SqsSource::new().sns_wrapped(),
        testing::sqs_sns_event(&events),
    );
    assert_eq!(decoded[0].as_ref().expect("ok"), &events[0]);

    // Raw third-party messages through SNS, defaults from the notification.
    let body = testing::sns_notification(r#"{"action":"created","f1":"x"}"#, 7);
    let event = testing::sqs_event_from_bodies(&[body]);
    let raw = decode_all(&SqsSource::new().sns_wrapped().raw(), event);
    let envelope = raw[0].as_ref().expect("ok");
    assert_eq!(envelope.id(), "95df01b4-ee98-5cb9-9903-4c221d41eb07");
    assert_eq!(envelope.timestamp(), 1_546_433_107_000);
    assert_eq!(
        envelope.raw_as::<Value>().expect("json")["action"],
        "created"
    );

    // A body that is not an SNS notification, or another kind of SNS message.
    let event = testing::sqs_event_from_bodies(&[
        thing("a", 1).to_json(),
        json!({"Type": "SubscriptionConfirmation", "MessageId": "m", "Message": "x"}).to_string(),
    ]);
    let decoded = decode_all(&SqsSource::new().sns_wrapped(), event);
    assert!(
        decoded[0]
            .as_ref()
            .expect_err("bad")
            .contains("not an SNS notification")
    );
    assert!(
        decoded[1]
            .as_ref()
            .expect_err("bad")
            .contains("SubscriptionConfirmation")
    );
}

#[test]
fn sqs_message_without_body_is_an_error() {
    let event = records_event(json!({"Records": [{"messageId": "m1"}]}));
    let decoded = decode_all(&SqsSource::new(), event);
    assert!(
        decoded[0]
            .as_ref()
            .expect_err("no body")
            .contains("m1 has no body")
    );
}

#[test]
fn sqs_response_lists_failed_message_ids() {
    let source = SqsSource::new();
    let records = source.records(testing::sqs_event(&[
        thing("a", 1),
        thing("b", 2),
        thing("c", 3),
    ]));
    let response = source
        .respond(&[nth(&records, 0), nth(&records, 2)])
        .expect("ok");
    let ids: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(
        ids,
        vec![
            "059f36b4-87a3-44ab-83d2-661975830a00",
            "059f36b4-87a3-44ab-83d2-661975830a02"
        ]
    );
}

// ---- SNS

#[test]
fn sns_messages_are_envelopes_and_aws_sample_reads_raw() {
    let events = vec![thing("a", 1)];
    let decoded = decode_all(&SnsSource::new(), testing::sns_event(&events));
    assert_eq!(decoded[0].as_ref().expect("ok"), &events[0]);

    let sample: RecordsEvent = fixture("aws-sns-event.json");
    assert!(decode_all(&SnsSource::new(), sample.clone())[0].is_err());
    let raw = decode_all(&SnsSource::new().raw(), sample);
    let envelope = raw[0].as_ref().expect("raw");
    assert_eq!(envelope.id(), "95df01b4-ee98-5cb9-9903-4c221d41eb5e");
    assert_eq!(
        envelope.raw_as::<String>().expect("text"),
        "Hello from SNS!"
    );
}

#[test]
fn sources_without_partial_responses_fail_the_invocation_to_retry() {
    let source = SnsSource::new();
    let records = source.records(testing::sns_event(&[thing("a", 1)]));
    assert!(source.respond(&[]).is_ok());
    assert!(matches!(
        source.respond(&[nth(&records, 0)]),
        Err(HandlerError::RetryInvocation { records: 1 })
    ));
}

// ---- EventBridge

#[test]
fn eventbridge_detail_object_or_string() {
    let event = thing("a", 1);
    let decoded = decode_all(
        &EventBridgeSource::new(),
        testing::eventbridge_event(&event, "custom"),
    );
    assert_eq!(decoded[0].as_ref().expect("ok"), &event);

    let mut as_string: Value =
        serde_json::to_value(testing::eventbridge_event(&event, "custom")).expect("json");
    as_string["detail"] = Value::String(event.to_json());
    let as_string = SingleEvent::from_slice(as_string.to_string().as_bytes()).expect("event");
    let decoded = decode_all(&EventBridgeSource::new(), as_string);
    assert_eq!(decoded[0].as_ref().expect("ok"), &event);

    let sample: SingleEvent = fixture("aws-eventbridge-event.json");
    let err = decode_all(&EventBridgeSource::new(), sample.clone());
    assert!(err[0].as_ref().expect_err("no type").contains("no `type`"));
    let raw = decode_all(&EventBridgeSource::new().raw(), sample);
    let envelope = raw[0].as_ref().expect("raw");
    assert_eq!(envelope.id(), "6a7e8feb-b491-4cf7-a9f1-bf3703467718");
    assert_eq!(envelope.timestamp(), 1_513_968_228_000);
    assert_eq!(
        envelope.raw_as::<Value>().expect("json")["state"],
        "terminated"
    );
}

// ---- DynamoDB

#[test]
fn dynamodb_changes_become_created_updated_deleted() {
    let changes = vec![
        Change::new(
            "INSERT",
            json!({"pk": "t1", "sk": "thing"}),
            Some(
                json!({"pk": "t1", "sk": "thing", "discriminator": "thing", "name": "One", "count": 3}),
            ),
            None,
        ),
        Change::new(
            "MODIFY",
            json!({"pk": "t1", "sk": "thing"}),
            Some(json!({"pk": "t1", "sk": "thing", "discriminator": "thing", "name": "Two"})),
            Some(json!({"pk": "t1", "sk": "thing", "discriminator": "thing", "name": "One"})),
        ),
        Change::new(
            "REMOVE",
            json!({"pk": "t1", "sk": "thing"}),
            None,
            Some(json!({"pk": "t1", "sk": "thing", "discriminator": "thing", "name": "Two"})),
        ),
    ];
    let decoded = decode_all(&DynamoDbSource::new(), testing::dynamodb_event(&changes));
    let types: Vec<_> = decoded
        .iter()
        .map(|d| d.as_ref().expect("ok").event_type().to_string())
        .collect();
    assert_eq!(
        types,
        vec!["thing-created", "thing-updated", "thing-deleted"]
    );
    let created = decoded[0].as_ref().expect("ok");
    assert_eq!(created.partition_key(), Some("t1"));
    assert_eq!(created.id(), "c4ca4238a0b923820dcc509a6f758490");
    assert_eq!(created.timestamp(), 1_545_084_650_000);
    assert_eq!(created.tags().get_str("region"), Some("us-west-2"));
    let raw: Value = created.raw_as().expect("raw");
    assert_eq!(raw["new"]["name"], "One");
    assert_eq!(raw["new"]["count"], 3);
    assert!(raw.get("old").is_none());
    let deleted: Value = decoded[2].as_ref().expect("ok").raw_as().expect("raw");
    assert_eq!(deleted["old"]["name"], "Two");
    assert!(deleted.get("new").is_none());
}

#[test]
fn dynamodb_aws_sample_with_a_fixed_prefix_and_numeric_key() {
    let sample: RecordsEvent = fixture("aws-dynamodb-event.json");
    let source = DynamoDbSource::new()
        .type_prefix("item")
        .partition_key("Id");
    let decoded = decode_all(&source, sample.clone());
    let types: Vec<_> = decoded
        .iter()
        .map(|d| d.as_ref().expect("ok").event_type().to_string())
        .collect();
    assert_eq!(types, vec!["item-created", "item-updated", "item-deleted"]);
    assert_eq!(
        decoded[0].as_ref().expect("ok").partition_key(),
        Some("101")
    );

    // Without a discriminator attribute, the reason says what to do.
    let errors = decode_all(&DynamoDbSource::new(), sample);
    let err = errors[0].as_ref().expect_err("no discriminator");
    assert!(err.contains("`discriminator`"), "{err}");
    assert!(err.contains("type prefix"), "{err}");
}

#[test]
fn dynamodb_missing_key_and_unknown_event_name_are_errors() {
    let changes = vec![Change::new(
        "INSERT",
        json!({"id": "x"}),
        Some(json!({"id": "x", "discriminator": "thing"})),
        None,
    )];
    let decoded = decode_all(&DynamoDbSource::new(), testing::dynamodb_event(&changes));
    assert!(
        decoded[0]
            .as_ref()
            .expect_err("no pk")
            .contains("no `pk` key attribute")
    );
    let decoded = decode_all(
        &DynamoDbSource::new().partition_key("id"),
        testing::dynamodb_event(&changes),
    );
    assert!(decoded[0].is_ok());

    let mut event = serde_json::to_value(testing::dynamodb_event(&changes)).expect("json");
    event["Records"][0]["eventName"] = json!("TRUNCATE");
    let event = records_event(event);
    let decoded = decode_all(&DynamoDbSource::new().partition_key("id"), event);
    assert!(
        decoded[0]
            .as_ref()
            .expect_err("bad")
            .contains("unknown eventName `TRUNCATE`")
    );
}

#[test]
fn dynamodb_response_reports_the_lowest_failed_sequence_number() {
    let sample: RecordsEvent = fixture("aws-dynamodb-event.json");
    let source = DynamoDbSource::new();
    let records = source.records(sample);
    let response = source
        .respond(&[nth(&records, 2), nth(&records, 1)])
        .expect("ok");
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(
        response.batch_item_failures[0].item_identifier.as_deref(),
        Some("222")
    );
    assert!(
        source
            .respond(&[])
            .expect("ok")
            .batch_item_failures
            .is_empty()
    );
}

// ---- Raw

#[test]
fn raw_records_become_raw_envelopes() {
    let source = RawSource::new();
    let records = source.records(vec![
        RawRecord {
            id: "req-1".into(),
            timestamp: 5,
            body: r#"{"status":"authorized"}"#.into(),
        },
        RawRecord {
            id: "req-2".into(),
            timestamp: 6,
            body: "not json".into(),
        },
    ]);
    let first = source.envelope(nth(&records, 0)).expect("ok");
    assert_eq!(
        (first.id(), first.timestamp(), first.event_type()),
        ("req-1", 5, "raw")
    );
    assert_eq!(
        first.raw_as::<Value>().expect("json")["status"],
        "authorized"
    );
    let second = source.envelope(nth(&records, 1)).expect("ok");
    assert_eq!(second.raw_as::<String>().expect("text"), "not json");
    // The record serializes back verbatim.
    assert_eq!(
        serde_json::to_value(nth(&records, 0)).expect("json"),
        json!({"id": "req-1", "timestamp": 5, "body": "{\"status\":\"authorized\"}"})
    );
}

#[test]
fn a_source_given_another_sources_record_says_so() {
    let records = RawSource::new().records(vec![RawRecord {
        id: "r".into(),
        timestamp: 1,
        body: "{}".into(),
    }]);
    let reason = |source: &dyn Fn(SourceRecord<'_>) -> Result<Envelope, String>| {
        source(nth(&records, 0)).expect_err("not its record")
    };
    let kinesis = reason(&|r| KinesisSource::new().envelope(r).map_err(|e| e.to_string()));
    assert!(kinesis.contains("no `kinesis.data`"), "{kinesis}");
    let sqs = reason(&|r| SqsSource::new().envelope(r).map_err(|e| e.to_string()));
    assert!(sqs.contains("no `messageId`"), "{sqs}");
    let sns = reason(&|r| SnsSource::new().envelope(r).map_err(|e| e.to_string()));
    assert!(sns.contains("no `Sns.Message`"), "{sns}");
    let dynamodb = reason(&|r| DynamoDbSource::new().envelope(r).map_err(|e| e.to_string()));
    assert!(dynamodb.contains("no `eventName`"), "{dynamodb}");
    let eventbridge = reason(&|r| {
        EventBridgeSource::new()
            .envelope(r)
            .map_err(|e| e.to_string())
    });
    assert!(eventbridge.contains("no `detail`"), "{eventbridge}");
}

#[test]
fn records_serialize_back_byte_for_byte_as_lambda_sent_them() {
    let text = fixture_text("aws-kinesis-event.json");
    let event = RecordsEvent::from_slice(text.as_bytes()).expect("event");
    let records = KinesisSource::new().records(event);
    for record in records.iter() {
        let json = serde_json::to_string(&record).expect("json");
        assert!(text.contains(&json), "{json} is not in the event as sent");
    }
    // The typed view is there on demand, and reads the same record.
    let typed = nth(&records, 0).kinesis().expect("a Kinesis record");
    assert_eq!(
        typed.event_id.as_deref(),
        Some("shardId-000000000006:49590338271490256608559692538361571095921575989136588898")
    );
    assert_eq!(typed.kinesis.data.0, b"Hello, this is a test.");
}

// ---- What the Node library's own builders send

#[test]
fn node_to_kinesis_records_without_arrival_time_or_key_decode() {
    // toKinesisRecords leaves out approximateArrivalTimestamp and partitionKey, which the
    // typed `aws_lambda_events` view requires: reading it strictly failed the whole batch.
    let text = fixture_text("node-to-kinesis-records.json");
    assert!(!text.contains("approximateArrivalTimestamp"));
    let event = RecordsEvent::from_slice(text.as_bytes()).expect("event");
    assert!(event.records().get(0).expect("record").kinesis().is_err());
    let decoded = decode_all(&KinesisSource::new(), event);
    let types: Vec<String> = decoded
        .iter()
        .map(|d| d.as_ref().expect("decodes").event_type().to_string())
        .collect();
    assert_eq!(types, vec!["thing-created", "order-placed"]);
    assert_eq!(
        decoded[1]
            .as_ref()
            .expect("decodes")
            .entity::<Value>()
            .expect("order")["total"],
        12.5
    );
}

#[test]
fn node_to_sqs_event_records_with_a_numeric_sent_timestamp_decode() {
    let text = fixture_text("node-to-sqs-event-records.json");
    let event = RecordsEvent::from_slice(text.as_bytes()).expect("event");
    assert!(event.records().get(0).expect("record").sqs().is_err());
    let source = SqsSource::new();
    let facts = source.facts(event.records().get(0).expect("record"));
    assert_eq!(facts.timestamp, Some(1_600_000_000_000));
    let decoded = decode_all(&source, event);
    assert_eq!(decoded[0].as_ref().expect("decodes").id(), "n1");
    assert_eq!(
        decoded[1].as_ref().expect("decodes").event_type(),
        "order-placed"
    );
}

#[test]
fn a_record_missing_what_its_source_needs_fails_alone() {
    let good = thing("a", 1);
    let event = records_event(json!({"Records": [
        {"eventID": "s:1", "kinesis": {"sequenceNumber": "1", "data": base64(&good.to_json())}},
        {"eventID": "s:2", "kinesis": {"sequenceNumber": "2"}},
        {"eventID": "s:3", "kinesis": {"sequenceNumber": "3", "data": "%%%"}},
        {"eventID": "s:4", "kinesis": {"sequenceNumber": "4", "data": 12}},
    ]}));
    let decoded = decode_all(&KinesisSource::new(), event);
    assert_eq!(decoded[0].as_ref().expect("decodes"), &good);
    assert!(
        decoded[1]
            .as_ref()
            .expect_err("no data")
            .contains("record s:2 has no `kinesis.data`")
    );
    assert!(
        decoded[2]
            .as_ref()
            .expect_err("bad data")
            .contains("not base64")
    );
    assert!(
        decoded[3]
            .as_ref()
            .expect_err("not a string")
            .contains("s:4")
    );

    let event = records_event(json!({"Records": [
        {"messageId": "m1", "body": good.to_json()},
        {"body": good.to_json()},
    ]}));
    let decoded = decode_all(&SqsSource::new(), event);
    assert!(decoded[0].is_ok());
    assert!(
        decoded[1]
            .as_ref()
            .expect_err("no id")
            .contains("no `messageId`")
    );
}

fn base64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}
