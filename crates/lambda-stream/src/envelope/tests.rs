use super::*;
use serde_json::json;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Thing {
    id: String,
    name: String,
}

fn sample() -> &'static str {
    r#"{"id":"1","type":"thing-created","timestamp":1600000000000,"partitionKey":"t1","tags":{"account":"dev","skip":false,"retries":2},"thing":{"id":"t1","name":"Thing One"},"custom":[1,2,{"deep":null}],"raw":{"new":{"a":1},"old":null},"eem":{"fields":["name"]},"s3":{"bucket":"b","key":"k"}}"#
}

fn parse(json: &str) -> Envelope {
    Envelope::parse(json).expect("valid")
}

#[test]
fn round_trip_is_byte_for_byte() {
    let envelope = parse(sample());
    assert_eq!(envelope.to_json(), sample());
    // Changed, it is written field by field in the canonical order: the same text here.
    let mut changed = envelope.clone();
    changed.set_timestamp(1_600_000_000_000);
    assert_eq!(changed.to_json(), sample());
}

#[test]
fn an_unchanged_envelope_is_written_as_it_came() {
    let json = r#" {"thing":{"b":1,  "a":2},"type":"thing-created","timestamp":1.5e3,"id":"x"}
"#;
    let envelope = parse(json);
    assert_eq!(envelope.to_json(), json.trim());
    let mut changed = envelope;
    changed.set_id("y");
    assert_eq!(
        changed.to_json(),
        r#"{"id":"y","type":"thing-created","timestamp":1500,"tags":{},"thing":{"b":1,  "a":2}}"#
    );
}

#[test]
fn strings_point_into_the_text_and_escapes_are_read() {
    let envelope =
        parse(r#"{"id":"a\"b","type":"thing-\u0063reated","timestamp":1,"partitionKey":"k\\1"}"#);
    assert_eq!(envelope.id(), "a\"b");
    assert_eq!(envelope.event_type(), "thing-created");
    assert_eq!(envelope.partition_key(), Some("k\\1"));
    let back = parse(&{
        let mut e = envelope.clone();
        e.set_timestamp(2);
        e.to_json()
    });
    assert_eq!(back.id(), "a\"b");
    assert_eq!(back.partition_key(), Some("k\\1"));
}

#[test]
fn unknown_fields_survive_and_are_readable() {
    let envelope = parse(sample());
    let custom: serde_json::Value = envelope.field("custom").expect("present");
    assert_eq!(custom, json!([1, 2, {"deep": null}]));
    assert_eq!(envelope.fields().count(), 2);
    assert_eq!(
        envelope.field_json("custom"),
        Some(r#"[1,2,{"deep":null}]"#)
    );
    assert_eq!(envelope.raw_json(), Some(r#"{"new":{"a":1},"old":null}"#));
    assert_eq!(envelope.eem_json(), Some(r#"{"fields":["name"]}"#));
    assert_eq!(
        envelope.s3(),
        Some(&S3Pointer {
            bucket: "b".into(),
            key: "k".into()
        })
    );
}

#[test]
fn entity_is_found_by_type_prefix_and_typed() {
    let envelope = parse(sample());
    assert_eq!(envelope.entity_name(), Some("thing"));
    let thing: Thing = envelope.entity().expect("typed");
    assert_eq!(thing.name, "Thing One");
}

#[test]
fn entities_can_be_borrowed() {
    #[derive(Deserialize)]
    struct ThingRef<'a> {
        name: &'a str,
        #[serde(borrow)]
        id: std::borrow::Cow<'a, str>,
    }
    let envelope = parse(sample());
    let thing: ThingRef<'_> = envelope.entity_ref().expect("borrowed");
    assert_eq!((thing.name, thing.id.as_ref()), ("Thing One", "t1"));
    assert!(envelope.field_ref::<ThingRef<'_>>("custom").is_err());
    assert!(matches!(
        envelope.field_ref::<ThingRef<'_>>("nope"),
        Err(EnvelopeError::MissingField(_))
    ));
}

#[test]
fn chaine_variant_with_event_and_metadata_round_trips() {
    let json = r#"{"id":"e1","type":"order-placed","timestamp":1,"tags":{"source":"svc"},"event":{"orderId":"o1"},"metadata":{"version":2}}"#;
    let envelope = parse(json);
    assert_eq!(envelope.to_json(), json);
    // Two non-standard fields and none named `order`: no single entity.
    assert_eq!(envelope.entity_name(), None);
    let event: serde_json::Value = envelope.field("event").expect("present");
    assert_eq!(event["orderId"], "o1");
    let meta: serde_json::Value = envelope.field("metadata").expect("present");
    assert_eq!(meta["version"], 2);
}

#[test]
fn missing_type_is_a_clear_error() {
    let err = Envelope::parse(r#"{"id":"1","timestamp":1}"#).expect_err("no type");
    assert!(err.to_string().contains("no field `type`"), "{err}");
    let err = Envelope::parse(r#"{"id":"1","type":"","timestamp":1}"#).expect_err("empty");
    assert!(err.to_string().contains("`type` is empty"), "{err}");
}

#[test]
fn missing_id_and_timestamp_are_errors_without_facts() {
    let err = Envelope::parse(r#"{"type":"x","timestamp":1}"#).expect_err("no id");
    assert!(err.to_string().contains("no field `id`"), "{err}");
    let err = Envelope::parse(r#"{"type":"x","id":"1"}"#).expect_err("no ts");
    assert!(err.to_string().contains("no field `timestamp`"), "{err}");
}

#[test]
fn facts_fill_in_only_what_is_missing_and_are_read_only_then() {
    let calls = std::cell::Cell::new(0);
    let facts = || {
        calls.set(calls.get() + 1);
        RecordFacts::new(Some("rec-1".into())).timestamp(Some(42))
    };
    let full = Envelope::parse_with(r#"{"id":"e","type":"x","timestamp":1}"#.into(), &facts)
        .expect("valid");
    assert_eq!((full.id(), full.timestamp(), calls.get()), ("e", 1, 0));
    assert!(full.pristine);
    let bare = Envelope::parse_with(r#"{"type":"x"}"#.into(), &facts).expect("valid");
    assert_eq!((bare.id(), bare.timestamp(), calls.get()), ("rec-1", 42, 1));
    assert_eq!(
        bare.to_json(),
        r#"{"id":"rec-1","type":"x","timestamp":42,"tags":{}}"#
    );
}

#[test]
fn duplicate_fields_are_rejected() {
    let err =
        Envelope::parse(r#"{"id":"1","id":"2","type":"x","timestamp":1}"#).expect_err("duplicate");
    assert!(err.to_string().contains("duplicate field `id`"), "{err}");
    let err = Envelope::parse(r#"{"id":"1","type":"x","timestamp":1,"a":1,"a":2}"#)
        .expect_err("duplicate");
    assert!(err.to_string().contains("duplicate field `a`"), "{err}");
}

#[test]
fn wrong_shapes_are_errors_not_panics() {
    for bad in [
        &b"[]"[..],
        b"\"x\"",
        b"{\"id\":1,\"type\":\"x\",\"timestamp\":1}",
        b"{\"id\":\"1\",\"type\":\"x\",\"timestamp\":\"yesterday\"}",
        b"{\"id\":\"1\",\"type\":\"x\",\"timestamp\":1,\"tags\":[1]}",
        b"{\"id\":\"1\",\"type\":\"x\",\"timestamp\":1",
        b"{\"id\":\"1\",\"type\":\"x\",\"timestamp\":1}{}",
        b"",
        &[0xff, 0xfe],
    ] {
        assert!(
            Envelope::from_slice(bad).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn float_timestamps_are_truncated_and_null_optionals_are_unset() {
    let envelope = parse(
        r#"{"id":"1","type":"x","timestamp":1600000000000.7,"partitionKey":null,"tags":null,"raw":null}"#,
    );
    assert_eq!(envelope.timestamp(), 1_600_000_000_000);
    assert_eq!(envelope.partition_key(), None);
    assert!(envelope.tags().is_empty());
    // `raw: null` is kept as written, so a round trip keeps it.
    assert_eq!(envelope.raw_json(), Some("null"));
    let mut changed = envelope.clone();
    changed.set_id("1");
    assert!(changed.to_json().ends_with(r#""raw":null}"#));
}

#[test]
fn escaped_keys_are_matched() {
    let envelope = parse(r#"{"\u0069d":"1","type":"x","timestamp":1,"th\u0069ng":{}}"#);
    assert_eq!(envelope.id(), "1");
    assert_eq!(envelope.field_json("thing"), Some("{}"));
}

#[test]
fn type_is_peeked_without_reading_the_rest() {
    assert_eq!(
        codec::peek_type(r#"{"id":"1","type":"thing-created","rest":{"not valid"#).as_deref(),
        Some("thing-created")
    );
    assert_eq!(
        codec::peek_type(r#"{"nested":{"type":"inner"},"type":"outer"}"#).as_deref(),
        Some("outer")
    );
    assert_eq!(
        codec::peek_type(r#"{"type":"a\u002db"}"#).as_deref(),
        Some("a-b")
    );
    assert_eq!(codec::peek_type(r#"{"type":1}"#), None);
    assert_eq!(codec::peek_type("not json"), None);
    assert_eq!(codec::peek_type("[1]"), None);
    assert_eq!(codec::peek_type(""), None);
}

#[test]
fn builder_sets_fields_and_rejects_standard_names() {
    let thing = Thing {
        id: "t1".into(),
        name: "n".into(),
    };
    let envelope = Envelope::builder("thing-updated")
        .id("e1")
        .timestamp(5)
        .partition_key("t1")
        .tag("source", "test")
        .entity("thing", &thing)
        .build()
        .expect("valid");
    assert_eq!(
        envelope.to_json(),
        r#"{"id":"e1","type":"thing-updated","timestamp":5,"partitionKey":"t1","tags":{"source":"test"},"thing":{"id":"t1","name":"n"}}"#
    );
    assert_eq!(envelope.entity::<Thing>().expect("typed"), thing);
    assert!(Envelope::builder("x").entity("tags", &1).build().is_err());
    assert!(Envelope::builder("").build().is_err());
    let generated = Envelope::builder("x").build().expect("valid");
    assert_eq!(generated.id().len(), 36);
    assert!(generated.timestamp() > 1_600_000_000_000);
    let full = Envelope::builder("x")
        .id("1")
        .timestamp(1)
        .raw(&json!({"a": 1}))
        .eem(&json!({"fields": []}))
        .s3(S3Pointer {
            bucket: "b".into(),
            key: "k".into(),
        })
        .entity_json(
            "x",
            &serde_json::value::RawValue::from_string("[1]".into()).expect("json"),
        )
        .build()
        .expect("valid");
    assert_eq!(
        full.to_json(),
        r#"{"id":"1","type":"x","timestamp":1,"tags":{},"x":[1],"raw":{"a":1},"eem":{"fields":[]},"s3":{"bucket":"b","key":"k"}}"#
    );
    assert_eq!(parse(&full.to_json()), full);
}

#[test]
fn set_and_remove_fields() {
    let mut envelope = Envelope::builder("a-b")
        .id("1")
        .timestamp(1)
        .build()
        .expect("ok");
    envelope.set_field("a", &json!({"x": 1})).expect("ok");
    envelope.set_field("a", &json!({"x": 2})).expect("ok");
    assert_eq!(envelope.field::<serde_json::Value>("a").expect("a")["x"], 2);
    assert!(envelope.set_field("id", &1).is_err());
    assert_eq!(envelope.remove_field("a").as_deref(), Some(r#"{"x":2}"#));
    assert!(matches!(
        envelope.field::<u8>("a"),
        Err(EnvelopeError::MissingField(_))
    ));
    envelope.set_field("n", &"text").expect("ok");
    assert!(matches!(
        envelope.field::<u8>("n"),
        Err(EnvelopeError::InvalidField { .. })
    ));
}

#[test]
fn setters_change_what_is_written() {
    let mut envelope = parse(sample());
    envelope.set_event_type("thing-updated").expect("ok");
    assert!(envelope.set_event_type("").is_err());
    envelope.set_partition_key(None);
    envelope.remove_raw();
    envelope.remove_eem();
    envelope.set_s3(None);
    envelope.tags_mut().insert("stage", "prod");
    let json = envelope.to_json();
    assert_eq!(
        json,
        r#"{"id":"1","type":"thing-updated","timestamp":1600000000000,"tags":{"account":"dev","skip":false,"retries":2,"stage":"prod"},"thing":{"id":"t1","name":"Thing One"},"custom":[1,2,{"deep":null}]}"#
    );
}

#[test]
fn skip_tag_and_encrypted_fields() {
    let envelope = parse(
        r#"{"id":"1","type":"x","timestamp":1,"tags":{"skip":true},"eem":{"fields":["ssn","card"]}}"#,
    );
    assert!(envelope.is_skipped());
    assert_eq!(envelope.encrypted_fields(), vec!["ssn", "card"]);
    let mut tags = Tags::new();
    tags.insert("skip", "true");
    assert!(tags.is_skip());
    tags.insert("skip", false);
    assert!(!tags.is_skip());
}

#[test]
fn tags_stay_raw_until_read_and_odd_values_survive() {
    let json = r#"{"id":"1","type":"x","timestamp":1,"tags":{"b":2.5,"a":"s","n":null,"o":{"k":[1]},"t":true}}"#;
    let envelope = parse(json);
    assert_eq!(envelope.to_json(), json);
    assert_eq!(
        envelope.tags().raw_json(),
        Some(r#"{"b":2.5,"a":"s","n":null,"o":{"k":[1]},"t":true}"#)
    );
    assert_eq!(envelope.tags().get_str("a"), Some("s"));
    assert_eq!(envelope.tags().get("t"), Some(&TagValue::Bool(true)));
    assert_eq!(envelope.tags().get("n"), Some(&TagValue::Null));
    assert!(matches!(
        envelope.tags().get("b"),
        Some(TagValue::Number(_))
    ));
    assert!(
        matches!(envelope.tags().get("o"), Some(TagValue::Json(raw)) if raw.get() == r#"{"k":[1]}"#)
    );
    let mut changed = envelope.clone();
    changed.tags_mut().insert("a", "changed");
    assert!(changed.to_json().contains(r#""o":{"k":[1]},"t":true}"#));
    assert!(changed.to_json().contains(r#""a":"changed""#));
    assert_ne!(changed, envelope);
    assert_eq!(
        changed.tags_mut().remove("a"),
        Some(TagValue::from("changed"))
    );
    assert!(!changed.tags().is_empty());
    assert!(
        parse(r#"{"id":"1","type":"x","timestamp":1,"tags":{ }}"#)
            .tags()
            .is_empty()
    );
}

#[test]
fn standard_tags_are_added_and_the_events_own_win() {
    let mut defaults = Tags::new();
    defaults.insert("source", "me");
    defaults.insert("stage", "dev");
    let envelope = parse(r#"{"id":"1","type":"x","timestamp":1,"tags":{"source":"producer"}}"#);
    assert_eq!(
        envelope.to_json_with_tags(&defaults, "p1"),
        r#"{"id":"1","type":"x","timestamp":1,"tags":{"source":"producer","stage":"dev","pipeline":"p1"}}"#
    );
    let complete = parse(
        r#"{"id":"1","type":"x","timestamp":1,"tags":{"source":"a","stage":"b","pipeline":"c"}}"#,
    );
    assert_eq!(
        complete.to_json_with_tags(&defaults, "p1"),
        complete.to_json()
    );
}

#[test]
fn merge_defaults_keeps_event_tags() {
    let mut tags = Tags::new();
    tags.insert("source", "producer");
    let mut defaults = Tags::new();
    defaults.insert("source", "me");
    defaults.insert("stage", "dev");
    tags.merge_defaults(&defaults);
    assert_eq!(tags.get_str("source"), Some("producer"));
    assert_eq!(tags.get_str("stage"), Some("dev"));
    assert_eq!(tags.len(), 2);
}

#[test]
fn serde_round_trip() {
    let envelope = parse(sample());
    let json = serde_json::to_string(&envelope).expect("serializes");
    assert_eq!(json, sample());
    let back: Envelope = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(back, envelope);
    #[derive(Serialize)]
    struct Wrapper<'a> {
        event: &'a Envelope,
    }
    let inside = serde_json::to_string(&Wrapper { event: &envelope }).expect("nested");
    assert!(inside.starts_with(r#"{"event":{"id":"1""#), "{inside}");
}
