//! Field-level encryption against KMS in `moto_server`, with the official SDK client: a data
//! key generated on the master key alias and encrypted for another region, decrypted in the
//! function's own region, in the other one, and from a third region by falling back; and the
//! refusals (an unknown alias, a damaged data key) as permanent errors.

use std::sync::Arc;

use lambda_stream::encryption::{self, Encryption, Keyring};
use lambda_stream::{Envelope, ErrorClass};
use lambda_stream_aws::KmsDataKeys;
use lambda_stream_aws::testing::{in_region, moto_endpoint, new_master_key, sdk_config};
use serde_json::{Value, json};

fn payment() -> Envelope {
    Envelope::parse(
        json!({"id": "p1", "type": "payment-authorized", "timestamp": 1, "partitionKey": "o1",
               "payment": {"orderId": "o1", "customerId": "c-42", "card": {"last4": "4242"}}})
        .to_string(),
    )
    .expect("valid")
}

async fn keyring(config: &aws_config::SdkConfig, region: &str) -> Keyring {
    Keyring::new(Arc::new(
        KmsDataKeys::new(&in_region(config, region)).expect("a region"),
    ))
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn a_data_key_from_kms_encrypts_and_decrypts_in_every_region_it_was_made_for() {
    let config = sdk_config(&moto_endpoint()).await;
    let alias = new_master_key(&config, "eem", &["us-east-1", "us-west-2"]).await;
    let writer = keyring(&config, "us-east-1").await;
    let encrypted = Encryption::new(&alias, ["customerId", "card"])
        .regions(["us-west-2"])
        .encrypt_event(&payment(), &writer)
        .await
        .expect("encrypts with KMS");
    let eem: Value = serde_json::from_str(encrypted.eem_json().expect("eem")).expect("json");
    assert_eq!(eem["masterKeyAlias"], alias.as_str());
    assert!(eem["dataKeys"]["us-east-1"].is_string());
    assert!(eem["dataKeys"]["us-west-2"].is_string());
    assert!(!encrypted.to_json().contains("c-42"));

    for region in ["us-east-1", "us-west-2", "eu-west-1"] {
        // eu-west-1 has no data key of its own: the other regions' are tried there.
        let reader = keyring(&config, region).await;
        let plain = encryption::decrypt(&encrypted, &reader)
            .await
            .unwrap_or_else(|e| panic!("decrypts in {region}: {e}"))
            .expect("encrypted");
        let payment: Value = plain.entity().expect("entity");
        assert_eq!(payment["customerId"], "c-42", "in {region}");
        assert_eq!(payment["card"]["last4"], "4242", "in {region}");
    }
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn kms_refusals_are_permanent() {
    let config = sdk_config(&moto_endpoint()).await;
    let keyring = keyring(&config, "us-east-1").await;
    let error = Encryption::new("alias/does-not-exist", ["customerId"])
        .encrypt_event(&payment(), &keyring)
        .await
        .expect_err("no such key");
    assert_eq!(error.class(), ErrorClass::Permanent, "{error}");

    let alias = new_master_key(&config, "eem", &["us-east-1"]).await;
    let encrypted = Encryption::new(&alias, ["customerId"])
        .encrypt_event(&payment(), &keyring)
        .await
        .expect("encrypts");
    let mut eem: Value = serde_json::from_str(encrypted.eem_json().expect("eem")).expect("json");
    eem["dataKeys"]["us-east-1"] = json!(base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        b"not a KMS ciphertext blob at all, 0123456789"
    ));
    let mut damaged = encrypted.clone();
    damaged.set_eem(&eem).expect("valid");
    let error = encryption::decrypt(&damaged, &keyring)
        .await
        .expect_err("KMS refuses it");
    assert_eq!(error.class(), ErrorClass::Permanent, "{error}");
    assert_eq!(error.name(), "DecryptionError");
}
