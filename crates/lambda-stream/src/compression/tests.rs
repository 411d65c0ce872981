use super::*;

fn raw(text: &str) -> &RawValue {
    serde_json::from_str(text).expect("json")
}

fn marker(json: &str) -> String {
    format!("{COMPRESSION_PREFIX}{}", gzip_base64(json).expect("gzip"))
}

#[test]
fn sizes_are_estimated_as_object_sizeof_does() {
    // 10,228 characters: 12 + 10,228 = 10,240, not over Node's threshold; one more is.
    assert_eq!(
        estimated_size(raw(&format!("\"{}\"", "y".repeat(10_228)))),
        10_240
    );
    assert_eq!(
        estimated_size(raw(&format!("\"{}\"", "y".repeat(10_229)))),
        10_244
    );
    assert_eq!(
        estimated_size(raw(r#"{"a":"é"}"#)),
        10,
        "UTF-8 bytes of the JSON"
    );
    assert_eq!(estimated_size(raw("[1]")), 3);
    assert_eq!(estimated_size(raw("\"😀\"")), 12 + 4, "two UTF-16 units");
    assert_eq!(estimated_size(raw("12.5")), 8);
    assert_eq!(estimated_size(raw("true")), 4);
    assert_eq!(estimated_size(raw("null")), 0);
    assert_eq!(estimated_size(raw(r#"{ "a" : 1 }"#)), 7);
}

#[test]
fn large_values_below_the_top_are_compressed_the_outermost_first() {
    let big = "x".repeat(20_000);
    let event = serde_json::json!({
        "id": "1", "type": "t", "a": [{"s": big}, 1], "b": {"c": "y".repeat(10_300)},
        "": {"q": big}, "n": 5
    })
    .to_string();
    let out = Compression::threshold(Compression::NODE_THRESHOLD)
        .compress(&event)
        .expect("json")
        .expect("compressed");
    let json: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert!(
        json["a"]
            .as_str()
            .is_some_and(|s| s.starts_with("COMPRESSED"))
    );
    assert!(
        json["b"]
            .as_str()
            .is_some_and(|s| s.starts_with("COMPRESSED"))
    );
    // An empty name is never compressed (Node's replacer tests the key), its insides are.
    assert!(
        json[""]["q"]
            .as_str()
            .is_some_and(|s| s.starts_with("COMPRESSED"))
    );
    assert_eq!(json["n"], 5);
    assert_eq!(
        decompress(&out).expect("ok").as_deref(),
        Some(event.as_str())
    );
}

#[test]
fn ignored_names_are_not_compressed_but_their_items_may_be() {
    let event = serde_json::json!({
        "id": "1", "menu": [{"name": "z".repeat(11_000)}, {"name": "small"}]
    })
    .to_string();
    let out = Compression::threshold(10_240)
        .ignore(["menu"])
        .compress(&event)
        .expect("json")
        .expect("compressed");
    let json: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert!(json["menu"].is_array());
    assert!(
        json["menu"][0]
            .as_str()
            .is_some_and(|s| s.starts_with("COMPRESSED"))
    );
    assert_eq!(json["menu"][1]["name"], "small");
}

#[test]
fn small_events_and_compressed_values_are_left_alone() {
    let c = Compression::threshold(10_240);
    assert_eq!(c.compress(r#"{"id":"1","a":{"b":2}}"#).expect("json"), None);
    let mut rng = fastrand::Rng::with_seed(7);
    let noise: String = (0..30_000).map(|_| rng.alphanumeric()).collect();
    let already = serde_json::json!({"id": "1", "a": marker(&format!("\"{noise}\""))}).to_string();
    assert!(already.len() > 10_240);
    assert_eq!(c.compress(&already).expect("json"), None, "never twice");
    assert!(
        c.compress(&format!(r#"{{"a":"{}""#, "x".repeat(20_000)))
            .is_err()
    );
}

#[test]
fn nested_compression_is_undone_whole() {
    let inner = serde_json::json!({"deep": marker(r#"{"k":[1,2,3]}"#)}).to_string();
    let event = format!(
        r#"{{"id":"1","outer":{}}}"#,
        tree::string_literal(&marker(&inner))
    );
    assert_eq!(
        decompress(&event).expect("ok").as_deref(),
        Some(r#"{"id":"1","outer":{"deep":{"k":[1,2,3]}}}"#)
    );
}

#[test]
fn text_without_the_marker_is_not_touched() {
    assert_eq!(
        decompress(r#"{"a":"COMPRESS","b":"x COMPRESSED"}"#).expect("ok"),
        None
    );
    assert_eq!(
        decompress(r#"{"COMPRESSEDkey":1}"#).expect("ok"),
        None,
        "a name is not a value"
    );
    assert_eq!(decompress("not json \"COMPRESSED").expect("ok"), None);
}

#[test]
fn a_bad_marker_is_an_error_naming_the_value() {
    let bad = |value: &str| {
        decompress(&format!(r#"{{"id":"1","order":{{"items":[{value}]}}}}"#)).expect_err("bad")
    };
    let error = bad(r#""COMPRESSED!!!not base64""#);
    assert_eq!(error.path(), "order.items[0]");
    assert!(error.to_string().contains("is not base64"), "{error}");
    let not_gzip = base64_simd::STANDARD.encode_to_string(b"plain text");
    assert!(
        bad(&format!("\"COMPRESSED{not_gzip}\""))
            .reason()
            .contains("not gzip")
    );
    let not_json = marker("{not json");
    assert!(
        bad(&format!("\"{not_json}\""))
            .reason()
            .contains("not JSON")
    );
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&[0xff, 0xfe]).expect("write");
    let latin = base64_simd::STANDARD.encode_to_string(encoder.finish().expect("gzip"));
    assert!(
        bad(&format!("\"COMPRESSED{latin}\""))
            .reason()
            .contains("UTF-8")
    );
}

#[test]
fn a_gzip_bomb_is_refused_within_the_cap() {
    // 64 MiB of zeros in a quoted string: about 64 KB of gzip.
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(b"\"").expect("write");
    let zeros = vec![b'0'; 1024 * 1024];
    for _ in 0..64 {
        encoder.write_all(&zeros).expect("write");
    }
    encoder.write_all(b"\"").expect("write");
    let bomb = base64_simd::STANDARD.encode_to_string(encoder.finish().expect("gzip"));
    let error = decompress(&format!(r#"{{"id":"1","x":"COMPRESSED{bomb}"}}"#)).expect_err("capped");
    assert!(error.reason().contains("gzip bomb"), "{error}");
    assert_eq!(error.path(), "x");
    // The cap is on the whole record: two values each under it, together over it.
    let half = marker(&format!("\"{}\"", "a".repeat(600)));
    let two = format!(r#"{{"a":"{half}","b":"{half}"}}"#);
    assert!(decompress_within(&two, 1000).is_err());
    assert!(decompress_within(&two, 2000).expect("ok").is_some());
}

#[test]
fn nesting_is_bounded() {
    let mut value = "1".to_string();
    for _ in 0..=MAX_NESTING {
        value = tree::string_literal(&marker(&value));
    }
    let error = decompress(&format!(r#"{{"a":{value}}}"#)).expect_err("too deep");
    assert!(error.reason().contains("more than 8 times"), "{error}");
}

#[test]
fn the_environment_sets_node_s_options() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_string())
        }
    };
    assert_eq!(Compression::from_lookup(env(&[])), Ok(None));
    assert_eq!(
        Compression::from_lookup(env(&[
            ("COMPRESSION_THRESHOLD", "10240"),
            ("COMPRESSION_IGNORE", "raw, menu,")
        ])),
        Ok(Some(Compression::threshold(10_240).ignore(["raw", "menu"])))
    );
    let error =
        Compression::from_lookup(env(&[("COMPRESSION_THRESHOLD", "10k")])).expect_err("bad");
    assert!(error.contains("COMPRESSION_THRESHOLD"), "{error}");
}
