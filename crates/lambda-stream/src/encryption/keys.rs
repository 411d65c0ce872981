//! Data keys: the three KMS calls field-level encryption makes, behind [`DataKeys`] (KMS itself
//! is `lambda_stream_aws::kms`; tests use any implementation), and the [`Keyring`] that caches
//! their answers as `aws-kms-ee` does: a decrypted data key for the life of the process (or
//! `DATA_KEY_MAX_AGE` milliseconds), and one generated data key per master key for every event
//! the process encrypts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use tokio::sync::OnceCell;

use crate::error::{ErrorClass, StepError};

/// A data key KMS generated: the plaintext (never stored, never logged) and the same key
/// encrypted under the master key (what travels in `eem.dataKeys`).
#[derive(Clone)]
pub struct GeneratedDataKey {
    /// The key's bytes.
    pub plaintext: Vec<u8>,
    /// The key encrypted under the master key (KMS `CiphertextBlob`).
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for GeneratedDataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratedDataKey").finish_non_exhaustive()
    }
}

/// The key management calls of field-level encryption (KMS in production).
///
/// Errors are classified: a throttle or an unreachable service is retryable (the record comes
/// again), anything else (no permission, unknown key, bad ciphertext) permanent (a fault).
pub trait DataKeys: Send + Sync + 'static {
    /// The region the function runs in (`AWS_REGION`): its data key in `eem.dataKeys` is the
    /// one tried first, and the one generated keys are made in.
    fn region(&self) -> &str;

    /// KMS `GenerateDataKey` (`KeySpec: AES_256`) on `master_key_alias`, in [`region`](Self::region).
    fn generate<'a>(
        &'a self,
        master_key_alias: &'a str,
    ) -> BoxFuture<'a, Result<GeneratedDataKey, StepError>>;

    /// KMS `Encrypt` of a data key with `master_key_alias` in another `region` (for
    /// `KMS_REGIONS`), giving its `CiphertextBlob`.
    fn encrypt<'a>(
        &'a self,
        region: &'a str,
        master_key_alias: &'a str,
        plaintext: &'a [u8],
    ) -> BoxFuture<'a, Result<Vec<u8>, StepError>>;

    /// KMS `Decrypt` of a data key's `CiphertextBlob` in `region`.
    fn decrypt<'a>(
        &'a self,
        region: &'a str,
        ciphertext: &'a [u8],
    ) -> BoxFuture<'a, Result<Vec<u8>, StepError>>;
}

/// The key an encrypting pipeline uses: the passphrase made from the data key, and the data
/// key as `eem.dataKeys` carries it (region → base64 `CiphertextBlob`, the other regions first
/// and the function's own last, as `aws-kms-ee` merges them).
pub(crate) struct EncryptingKey {
    pub(crate) passphrase: Vec<u8>,
    pub(crate) data_keys: Vec<(String, String)>,
}

/// Cached keys by what identifies them (a data key's ciphertext; a master key and regions).
type Cache<K, T> = Mutex<HashMap<K, Cached<T>>>;

struct Cached<T> {
    cell: Arc<OnceCell<T>>,
    since: Instant,
}

/// [`DataKeys`] with the cache `aws-kms-ee` keeps: a data key is decrypted once per process
/// (per ciphertext), and one data key per master key and regions encrypts every event. Give
/// the same keyring to the handler and to encrypting pipelines.
pub struct Keyring {
    keys: Arc<dyn DataKeys>,
    max_age: Option<Duration>,
    decrypted: Cache<Vec<u8>, Arc<[u8]>>,
    encrypting: Cache<String, Arc<EncryptingKey>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("region", &self.keys.region())
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl Keyring {
    /// Keys from `keys`, cached for the life of the process.
    pub fn new(keys: Arc<dyn DataKeys>) -> Self {
        Self {
            keys,
            max_age: None,
            decrypted: Mutex::new(HashMap::new()),
            encrypting: Mutex::new(HashMap::new()),
        }
    }

    /// Keys from `keys`, cached for `DATA_KEY_MAX_AGE` milliseconds when it is set (Node's
    /// variable), for the life of the process when it is not.
    pub fn from_lookup(
        keys: Arc<dyn DataKeys>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let keyring = Self::new(keys);
        match lookup("DATA_KEY_MAX_AGE").filter(|v| !v.trim().is_empty()) {
            None => Ok(keyring),
            Some(ms) => ms
                .trim()
                .parse::<u64>()
                .map(|ms| keyring.max_age(Duration::from_millis(ms)))
                .map_err(|_| format!("DATA_KEY_MAX_AGE is not a number of milliseconds: `{ms}`")),
        }
    }

    /// Forgets a cached key after `age`.
    #[must_use]
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// The function's region.
    pub fn region(&self) -> &str {
        self.keys.region()
    }

    fn cell<K: std::hash::Hash + Eq, T>(&self, map: &Cache<K, T>, key: K) -> Arc<OnceCell<T>> {
        let now = crate::deadline::now();
        let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
        let fresh = |c: &Cached<T>| {
            self.max_age
                .is_none_or(|age| now.saturating_duration_since(c.since) < age)
        };
        match map.get(&key) {
            Some(cached) if fresh(cached) => Arc::clone(&cached.cell),
            _ => {
                let cell = Arc::new(OnceCell::new());
                map.insert(
                    key,
                    Cached {
                        cell: Arc::clone(&cell),
                        since: now,
                    },
                );
                cell
            }
        }
    }

    /// The plaintext of a data key, decrypted in `region` (once, however many units ask at
    /// the same time).
    pub(crate) async fn decrypt(
        &self,
        region: &str,
        ciphertext: &[u8],
    ) -> Result<Arc<[u8]>, StepError> {
        let cell = self.cell(&self.decrypted, ciphertext.to_vec());
        cell.get_or_try_init(|| async {
            self.keys.decrypt(region, ciphertext).await.map(Arc::from)
        })
        .await
        .cloned()
    }

    /// The key that encrypts events under `master_key_alias`, its data key also encrypted
    /// for each of `regions` (a region whose `Encrypt` fails is left out, as Node does, and
    /// logged).
    pub(crate) async fn encrypting_key(
        &self,
        master_key_alias: &str,
        regions: &[String],
    ) -> Result<Arc<EncryptingKey>, StepError> {
        let cell = self.cell(
            &self.encrypting,
            format!("{master_key_alias}\u{0}{}", regions.join(",")),
        );
        cell.get_or_try_init(|| async {
            let generated = self.keys.generate(master_key_alias).await?;
            let own = self.keys.region().to_string();
            let mut data_keys = Vec::with_capacity(regions.len() + 1);
            for region in regions.iter().filter(|r| **r != own) {
                match self
                    .keys
                    .encrypt(region, master_key_alias, &generated.plaintext)
                    .await
                {
                    Ok(blob) => data_keys.push((
                        region.clone(),
                        base64_simd::STANDARD.encode_to_string(blob),
                    )),
                    Err(error) => tracing::error!(
                        %region, %error,
                        "could not encrypt the data key for this region: its events cannot be decrypted there"
                    ),
                }
            }
            data_keys.push((own, base64_simd::STANDARD.encode_to_string(&generated.ciphertext)));
            Ok::<_, StepError>(Arc::new(EncryptingKey {
                passphrase: super::cipher::passphrase(&generated.plaintext),
                data_keys,
            }))
        })
        .await
        .cloned()
    }
}

/// The error for a data key no region could decrypt: retryable when any region's failure
/// was (a throttle may pass), permanent otherwise.
pub(crate) fn no_region_could(errors: Vec<(String, StepError)>) -> StepError {
    let retryable = errors
        .iter()
        .any(|(_, e)| e.class() == ErrorClass::Retryable);
    let reasons: Vec<String> = errors
        .iter()
        .map(|(region, e)| format!("{region}: {}", e.message()))
        .collect();
    let message = if reasons.is_empty() {
        "the event's `eem` has no data key".to_string()
    } else {
        format!(
            "could not decrypt the event's data key in any region ({})",
            reasons.join("; ")
        )
    };
    let error = StepError::new(message).with_name("DecryptionError");
    if retryable {
        error.with_class(ErrorClass::Retryable)
    } else {
        error.with_class(ErrorClass::Permanent)
    }
}
