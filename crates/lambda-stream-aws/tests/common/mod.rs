//! Helpers shared by the moto integration tests.

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
