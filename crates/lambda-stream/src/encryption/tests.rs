use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::testing::InMemoryDataKeys;

fn order_event() -> Envelope {
    Envelope::parse(
        json!({
            "id": "e1", "type": "order-placed", "timestamp": 5, "partitionKey": "o1",
            "order": {"id": "o1", "customerId": "c-42", "card": {"last4": "4242"},
                      "lines": [{"customerId": "c-42"}], "note": null},
            "customerId": 7
        })
        .to_string(),
    )
    .expect("valid")
}

fn keyring(region: &str) -> (Arc<InMemoryDataKeys>, Keyring) {
    let keys = Arc::new(InMemoryDataKeys::new(region));
    (Arc::clone(&keys), Keyring::new(keys))
}

/// The event's JSON, without the empty `tags` a rewritten envelope writes.
fn json_of(event: &Envelope) -> Value {
    let mut json: Value = serde_json::from_str(&event.to_json()).expect("json");
    if json["tags"] == json!({}) {
        json.as_object_mut().map(|o| o.remove("tags"));
    }
    json
}

fn is_ciphertext(value: &Value) -> bool {
    value.as_str().is_some_and(|s| s.starts_with("U2FsdGVkX1"))
}

#[tokio::test]
async fn fields_are_encrypted_at_any_depth_and_eem_written_as_aws_kms_ee_does() {
    let (keys, keyring) = keyring("us-east-1");
    let encryption = Encryption::new("alias/eem", ["customerId", "card", "note"])
        .regions(["us-west-2", "us-east-1"]);
    let encrypted = encrypt_event(&order_event(), &encryption, &keyring)
        .await
        .expect("encrypts");
    let out = json_of(&encrypted);
    assert!(is_ciphertext(&out["order"]["customerId"]));
    assert!(is_ciphertext(&out["order"]["card"]), "a whole object");
    assert!(is_ciphertext(&out["order"]["lines"][0]["customerId"]));
    assert!(
        is_ciphertext(&out["customerId"]),
        "a top-level member and a number"
    );
    assert_eq!(out["order"]["note"], Value::Null, "null stays null");
    assert_eq!(out["order"]["id"], "o1");
    let eem = &out["eem"];
    assert_eq!(eem["masterKeyAlias"], "alias/eem");
    assert_eq!(eem["fields"], json!(["customerId", "card", "note"]));
    let regions: Vec<&String> = eem["dataKeys"]
        .as_object()
        .expect("object")
        .keys()
        .collect();
    assert_eq!(regions.len(), 2);
    let raw = encrypted.eem_json().expect("eem");
    assert!(
        raw.find("us-west-2") < raw.find("us-east-1"),
        "the other regions first, the function's own last: {raw}"
    );
    assert_eq!(
        keys.calls(),
        vec!["GenerateDataKey alias/eem", "Encrypt us-west-2"]
    );

    let decrypted = decrypt_event(&encrypted, &keyring)
        .await
        .expect("decrypts")
        .expect("it was encrypted");
    assert_eq!(
        json_of(&decrypted),
        json_of(&order_event()),
        "the plain event back"
    );
    assert!(
        decrypted.eem_json().is_none(),
        "no eem, as Node's decryptEvent gives it"
    );
    assert!(decrypted.was_decrypted());
    assert_eq!(decrypted.encrypted_fields(), ["customerId", "card", "note"]);
    let shown = format!("{decrypted:?}");
    assert!(
        !shown.contains("c-42") && shown.contains("[REDACTED]"),
        "{shown}"
    );
}

#[tokio::test]
async fn the_data_key_is_made_once_and_decrypted_once() {
    let (keys, keyring) = keyring("us-east-1");
    let encryption = Encryption::new("alias/eem", ["customerId"]);
    let first = encrypt_event(&order_event(), &encryption, &keyring)
        .await
        .expect("ok");
    let second = encrypt_event(&order_event(), &encryption, &keyring)
        .await
        .expect("ok");
    assert_eq!(first.eem_json(), second.eem_json(), "the same data key");
    for event in [&first, &second, &first] {
        decrypt_event(event, &keyring).await.expect("ok");
    }
    assert_eq!(
        keys.calls(),
        vec!["GenerateDataKey alias/eem", "Decrypt us-east-1"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_max_age_forgets_keys() {
    let keys = Arc::new(InMemoryDataKeys::new("us-east-1"));
    let keyring = Keyring::from_lookup(keys.clone(), |n| {
        (n == "DATA_KEY_MAX_AGE").then(|| "1000".into())
    })
    .expect("valid");
    let encryption = Encryption::new("alias/eem", ["customerId"]);
    let event = encrypt_event(&order_event(), &encryption, &keyring)
        .await
        .expect("ok");
    decrypt_event(&event, &keyring).await.expect("ok");
    tokio::time::advance(Duration::from_millis(1500)).await;
    decrypt_event(&event, &keyring).await.expect("ok");
    encrypt_event(&order_event(), &encryption, &keyring)
        .await
        .expect("ok");
    assert_eq!(
        keys.calls(),
        vec![
            "GenerateDataKey alias/eem",
            "Decrypt us-east-1",
            "Decrypt us-east-1",
            "GenerateDataKey alias/eem"
        ]
    );
    assert!(Keyring::from_lookup(keys, |_| Some("soon".into())).is_err());
}

#[tokio::test]
async fn another_region_s_data_key_is_used_when_the_own_one_fails() {
    let (_, writer) = keyring("us-east-1");
    let encryption = Encryption::new("alias/eem", ["customerId"]).regions(["eu-west-1"]);
    let encrypted = encrypt_event(&order_event(), &encryption, &writer)
        .await
        .expect("ok");
    // A reader in eu-west-1 with its own store: the east key is unknown there, so only the
    // key encrypted for eu-west-1 could work, and the shared store stands for that region.
    let mut eem: Value = serde_json::from_str(encrypted.eem_json().expect("eem")).expect("json");
    eem["dataKeys"]["us-east-1"] = json!("AAAA");
    let mut damaged = encrypted.clone();
    damaged.set_eem(&eem).expect("valid");
    let decrypted = decrypt_event(&damaged, &writer).await.expect("falls back");
    assert!(decrypted.is_some());
}

#[tokio::test]
async fn what_cannot_be_decrypted_is_a_permanent_error_saying_why() {
    let (_, keyring) = keyring("us-east-1");
    let encryption = Encryption::new("alias/eem", ["customerId"]);
    let encrypted = encrypt_event(&order_event(), &encryption, &keyring)
        .await
        .expect("ok");
    // Another process's keys (a key KMS does not know).
    let (_, stranger) = self::keyring("us-east-1");
    let error = decrypt_event(&encrypted, &stranger)
        .await
        .expect_err("unknown key");
    assert_eq!(error.class(), crate::ErrorClass::Permanent);
    assert_eq!(error.name(), "DecryptionError");
    assert!(error.message().contains("us-east-1"), "{error}");
    // A damaged field.
    let mut json = json_of(&encrypted);
    json["order"]["customerId"] = json!("U2FsdGVkX19ub3QgYSByZWFsIGNpcGhlcnRleHQh");
    let damaged = Envelope::parse(json.to_string()).expect("valid");
    let error = decrypt_event(&damaged, &keyring)
        .await
        .expect_err("damaged");
    assert!(error.message().contains("`order.customerId`"), "{error}");
    // Not ciphertext at all.
    json["order"]["customerId"] = json!(12);
    let error = decrypt_event(&Envelope::parse(json.to_string()).expect("valid"), &keyring)
        .await
        .expect_err("a number");
    assert!(error.message().contains("not ciphertext"), "{error}");
    // No data key at all.
    let bare =
        Envelope::parse(r#"{"id":"1","type":"t","timestamp":1,"x":"y","eem":{"fields":["x"]}}"#)
            .expect("valid");
    let error = decrypt_event(&bare, &keyring).await.expect_err("no key");
    assert!(error.message().contains("no data key"), "{error}");
}

#[tokio::test]
async fn an_event_is_not_encrypted_twice_and_an_unknown_master_key_is_refused() {
    let keys = Arc::new(InMemoryDataKeys::new("us-east-1").only(["alias/eem"]));
    let keyring = Keyring::new(keys);
    let encrypted = encrypt_event(
        &order_event(),
        &Encryption::new("alias/eem", ["customerId"]),
        &keyring,
    )
    .await
    .expect("ok");
    let error = encrypt_event(
        &encrypted,
        &Encryption::new("alias/eem", ["card"]),
        &keyring,
    )
    .await
    .expect_err("twice");
    assert!(error.message().contains("already"), "{error}");
    let error = encrypt_event(
        &order_event(),
        &Encryption::new("alias/other", ["card"]),
        &keyring,
    )
    .await
    .expect_err("unknown");
    assert!(error.message().contains("alias/other"), "{error}");
}

#[test]
fn plaintexts_are_read_back_as_aws_kms_ee_reads_them() {
    assert_eq!(plaintext_json(r#"{"a":1}"#), r#"{"a":1}"#);
    assert_eq!(plaintext_json(r#""text""#), r#""text""#);
    assert_eq!(plaintext_json("12"), "12");
    assert_eq!(
        plaintext_json("1e5"),
        "1e5",
        "lower-case exponent: a number"
    );
    assert_eq!(
        plaintext_json("1E5"),
        r#""1E5""#,
        "one E, not JSON-looking: a string"
    );
    assert_eq!(plaintext_json("plain"), r#""plain""#, "not JSON: a string");
    assert_eq!(plaintext_json(""), r#""""#);
    assert_eq!(plaintext_json("true"), "true");
}

#[test]
fn the_environment_names_the_master_key_and_regions() {
    let env = |name: &str| match name {
        "MASTER_KEY_ALIAS" => Some("alias/aws-kms-ee".to_string()),
        "KMS_REGIONS" => Some("us-east-1, us-west-2".to_string()),
        _ => None,
    };
    assert_eq!(
        Encryption::from_lookup(["ssn"], env),
        Ok(Encryption::new("alias/aws-kms-ee", ["ssn"]).regions(["us-east-1", "us-west-2"]))
    );
    let error = Encryption::from_lookup(["ssn"], |_| None).expect_err("no key");
    assert!(error.contains("MASTER_KEY_ALIAS"), "{error}");
}
