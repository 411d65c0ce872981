//! Secret settings against Secrets Manager in `moto_server` (started by `scripts/test`): a
//! whole secret and one field of a JSON secret by ARN, the plain variable when no `_ARN` is
//! given, and the errors: both given, a missing secret, a missing or non-string field, a
//! binary secret, a bad reference. No error shows a secret's value.

use std::collections::HashMap;

use aws_config::SdkConfig;
use lambda_stream_aws::secrets::Secrets;
use lambda_stream_aws::testing::{moto_endpoint, sdk_config, unique_name};

/// Creates a string secret; returns its ARN.
async fn string_secret(config: &SdkConfig, value: &str) -> String {
    let created = aws_sdk_secretsmanager::Client::new(config)
        .create_secret()
        .name(unique_name("payments"))
        .secret_string(value)
        .send()
        .await
        .expect("secret created");
    created.arn().expect("an ARN").to_string()
}

fn variables(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn settings_come_from_their_secrets_and_the_rest_from_the_environment() {
    let endpoint = moto_endpoint();
    let config = sdk_config(&endpoint).await;
    let json = string_secret(
        &config,
        r#"{"apiKey":"sk_live_1","webhookSecret":"whsec_1"}"#,
    )
    .await;
    let whole = string_secret(&config, "whsec_previous").await;
    let secrets = Secrets::new(&config);
    let environment = secrets
        .environment_over(
            &[
                "PAYMENT_API_KEY",
                "PAYMENT_WEBHOOK_SECRET",
                "PAYMENT_WEBHOOK_PREVIOUS_SECRET",
                "NOT_GIVEN",
            ],
            variables(&[
                ("PAYMENT_API_KEY_ARN", &format!("{json}#apiKey")),
                (
                    "PAYMENT_WEBHOOK_SECRET_ARN",
                    &format!("{json} # webhookSecret"),
                ),
                ("PAYMENT_WEBHOOK_PREVIOUS_SECRET_ARN", &whole),
                ("PAYMENT_API_URL", "https://processor.example"),
                ("NOT_GIVEN_ARN", "  "),
            ]),
        )
        .await
        .expect("resolved");
    assert_eq!(
        environment.get("PAYMENT_API_KEY").as_deref(),
        Some("sk_live_1")
    );
    assert_eq!(
        environment.get("PAYMENT_WEBHOOK_SECRET").as_deref(),
        Some("whsec_1")
    );
    assert_eq!(
        environment
            .get("PAYMENT_WEBHOOK_PREVIOUS_SECRET")
            .as_deref(),
        Some("whsec_previous")
    );
    assert_eq!(
        environment.get("PAYMENT_API_URL").as_deref(),
        Some("https://processor.example"),
        "other settings pass through"
    );
    assert_eq!(
        environment.get("NOT_GIVEN"),
        None,
        "a blank _ARN is not set"
    );
    assert_eq!(
        environment.from_secrets().collect::<Vec<_>>(),
        vec![
            "PAYMENT_API_KEY",
            "PAYMENT_WEBHOOK_SECRET",
            "PAYMENT_WEBHOOK_PREVIOUS_SECRET"
        ]
    );

    // The plain variable serves local runs; it is read as it is.
    let local = secrets
        .environment_over(
            &["PAYMENT_API_KEY"],
            variables(&[("PAYMENT_API_KEY", "sk_test")]),
        )
        .await
        .expect("nothing to read");
    assert_eq!(local.get("PAYMENT_API_KEY").as_deref(), Some("sk_test"));
}

#[tokio::test]
#[ignore = "needs moto_server: scripts/test starts one and runs it"]
async fn what_cannot_be_read_is_a_clear_error_without_the_value() {
    let endpoint = moto_endpoint();
    let config = sdk_config(&endpoint).await;
    let json = string_secret(&config, r#"{"apiKey":"sk_live_2","retries":3}"#).await;
    let empty = string_secret(&config, r#"{"apiKey":""}"#).await;
    let binary = aws_sdk_secretsmanager::Client::new(&config)
        .create_secret()
        .name(unique_name("binary"))
        .secret_binary(aws_smithy_types::Blob::new(b"\x00\x01".to_vec()))
        .send()
        .await
        .expect("secret created")
        .arn()
        .expect("an ARN")
        .to_string();
    let secrets = Secrets::new(&config);
    let error_for = |reference: String| {
        let secrets = secrets.clone();
        async move {
            secrets
                .environment_over(
                    &["PAYMENT_API_KEY"],
                    variables(&[("PAYMENT_API_KEY_ARN", &reference)]),
                )
                .await
                .expect_err("cannot be read")
                .to_string()
        }
    };

    let both = secrets
        .environment_over(
            &["PAYMENT_API_KEY"],
            variables(&[
                ("PAYMENT_API_KEY", "sk_test"),
                ("PAYMENT_API_KEY_ARN", &format!("{json}#apiKey")),
            ]),
        )
        .await
        .expect_err("ambiguous")
        .to_string();
    assert_eq!(
        both,
        "both PAYMENT_API_KEY and PAYMENT_API_KEY_ARN are set: set one"
    );

    let missing = error_for(format!("{json}-gone")).await;
    assert!(
        missing.starts_with(&format!(
            "PAYMENT_API_KEY_ARN: the secret {json}-gone cannot be read: "
        )),
        "{missing}"
    );
    assert!(missing.contains("ResourceNotFoundException"), "{missing}");

    let no_field = error_for(format!("{json}#apiSecret")).await;
    assert_eq!(
        no_field,
        format!("PAYMENT_API_KEY_ARN: the secret {json}: it has no field `apiSecret`")
    );
    let not_string = error_for(format!("{json}#retries")).await;
    assert!(
        not_string.ends_with("its field `retries` is not a string"),
        "{not_string}"
    );
    let blank = error_for(format!("{empty}#apiKey")).await;
    assert_eq!(
        blank,
        format!("PAYMENT_API_KEY_ARN: the secret {empty} field `apiKey` is empty")
    );
    let not_text = error_for(binary.clone()).await;
    assert!(not_text.contains("has no string value"), "{not_text}");
    let bad = error_for(format!("{json}#")).await;
    assert!(bad.contains("is not a secret reference"), "{bad}");

    for message in [
        &both,
        &missing,
        &no_field,
        &not_string,
        &blank,
        &not_text,
        &bad,
    ] {
        assert!(!message.contains("sk_live_2"), "{message}");
    }
}
