//! The KMS calls, through the official SDK client: throttles, KMS's own internal failures and
//! keys briefly unavailable are retried under the policy; anything else (no permission, an
//! unknown or disabled key, a ciphertext KMS does not recognise) fails for good.

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use lambda_stream::StepError;
use lambda_stream::encryption::GeneratedDataKey;

use crate::retry::{CallError, RetryPolicy, call_error, call_with_retry};

/// Error codes worth retrying.
pub(crate) fn is_retryable_code(code: &str) -> bool {
    matches!(
        code,
        "ThrottlingException"
            | "LimitExceededException"
            | "KMSInternalException"
            | "DependencyTimeoutException"
            | "KeyUnavailableException"
    )
}

fn missing(what: &str) -> CallError {
    CallError {
        retryable: false,
        message: format!("KMS answered without the {what}"),
    }
}

pub(crate) async fn generate(
    client: &aws_sdk_kms::Client,
    retry: &RetryPolicy,
    master_key_alias: &str,
) -> Result<GeneratedDataKey, StepError> {
    call_with_retry(retry, "GenerateDataKey", || async {
        let out = client
            .generate_data_key()
            .key_id(master_key_alias)
            .key_spec(DataKeySpec::Aes256)
            .send()
            .await
            .map_err(|e| call_error(e, is_retryable_code))?;
        Ok(GeneratedDataKey {
            plaintext: out
                .plaintext()
                .ok_or_else(|| missing("plaintext"))?
                .as_ref()
                .to_vec(),
            ciphertext: out
                .ciphertext_blob()
                .ok_or_else(|| missing("ciphertext"))?
                .as_ref()
                .to_vec(),
        })
    })
    .await
}

pub(crate) async fn encrypt(
    client: &aws_sdk_kms::Client,
    retry: &RetryPolicy,
    master_key_alias: &str,
    plaintext: &[u8],
) -> Result<Vec<u8>, StepError> {
    call_with_retry(retry, "Encrypt", || async {
        let out = client
            .encrypt()
            .key_id(master_key_alias)
            .plaintext(Blob::new(plaintext))
            .send()
            .await
            .map_err(|e| call_error(e, is_retryable_code))?;
        Ok(out
            .ciphertext_blob()
            .ok_or_else(|| missing("ciphertext"))?
            .as_ref()
            .to_vec())
    })
    .await
}

pub(crate) async fn decrypt(
    client: &aws_sdk_kms::Client,
    retry: &RetryPolicy,
    ciphertext: &[u8],
) -> Result<Vec<u8>, StepError> {
    call_with_retry(retry, "Decrypt", || async {
        let out = client
            .decrypt()
            .ciphertext_blob(Blob::new(ciphertext))
            .send()
            .await
            .map_err(|e| call_error(e, is_retryable_code))?;
        Ok(out
            .plaintext()
            .ok_or_else(|| missing("plaintext"))?
            .as_ref()
            .to_vec())
    })
    .await
}
