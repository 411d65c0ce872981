//! KMS for field-level encryption (feature `kms`): [`KmsDataKeys`] makes the three calls of
//! `aws-kms-ee` (`GenerateDataKey` with `KeySpec: AES_256`, `Encrypt` of the data key for the
//! other regions, `Decrypt`) with the official SDK client, one client per region, under this
//! crate's [`RetryPolicy`]. Give it to a [`Keyring`] (which caches the keys as Node does) and
//! the keyring to the handler ([`StreamHandler::decrypt_with`](lambda_stream::StreamHandler::decrypt_with))
//! and to encrypting pipelines ([`Pipeline::encrypt`](lambda_stream::Pipeline::encrypt)).
//!
//! | variable | meaning |
//! |---|---|
//! | `AWS_REGION` | the function's region: its data key is decrypted first, keys are generated there |
//! | `MASTER_KEY_ALIAS` | the master key encrypting pipelines use ([`lambda_stream::encryption::Encryption::from_lookup`]) |
//! | `KMS_REGIONS` | the regions a generated data key is also encrypted for |
//! | `DATA_KEY_MAX_AGE` | how long a key is cached, in milliseconds (default: the life of the process) |
//!
//! A function that only reads needs `kms:Decrypt` on the master key; one that encrypts also
//! `kms:GenerateDataKey` (and `kms:Encrypt` in each of `KMS_REGIONS`).
//!
//! A function that reads the Node services' encrypted events and encrypts what it publishes
//! (against moto in `tests/kms_moto.rs`):
//!
//! ```no_run
//! use std::sync::Arc;
//! use lambda_stream::encryption::Encryption;
//! use lambda_stream::{InMemoryPublisher, KinesisSource, Pipeline, StreamHandler};
//! use lambda_stream_aws::keyring_from_env;
//!
//! # async fn doc() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let keyring = keyring_from_env().await?; // AWS_REGION, one KMS client per region
//! // The customer's name and address, with the master key from MASTER_KEY_ALIAS.
//! let encryption = Encryption::from_lookup(["name", "address"], |v| std::env::var(v).ok())?;
//! # let bus = Arc::new(InMemoryPublisher::new());
//! let share = Pipeline::new("share")
//!     .map(|uow| Ok(uow.event.as_ref().clone()))
//!     .encrypt(Arc::clone(&keyring), encryption)
//!     .publish(bus, 4);
//! let handler = StreamHandler::new(KinesisSource::new()).decrypt_with(keyring).pipeline(share);
//! # let _ = handler; Ok(()) }
//! ```

mod service;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_config::SdkConfig;
use futures::FutureExt;
use futures::future::BoxFuture;
use lambda_stream::StepError;
use lambda_stream::encryption::{DataKeys, GeneratedDataKey, Keyring};

use crate::ConfigError;
use crate::retry::RetryPolicy;

/// KMS data keys, through one SDK client per region made from one configuration.
pub struct KmsDataKeys {
    region: String,
    config: SdkConfig,
    clients: Mutex<HashMap<String, aws_sdk_kms::Client>>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for KmsDataKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KmsDataKeys")
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl KmsDataKeys {
    /// Keys for a function in `config`'s region.
    pub fn new(config: &SdkConfig) -> Result<Self, ConfigError> {
        let region = config
            .region()
            .map(|r| r.as_ref().to_string())
            .ok_or_else(|| ConfigError("no AWS region for KMS (set AWS_REGION)".into()))?;
        Ok(Self {
            region,
            config: config.clone(),
            clients: Mutex::new(HashMap::new()),
            retry: RetryPolicy::default(),
        })
    }

    /// Keys with a client made from the environment (`AWS_REGION`, `AWS_ENDPOINT_URL`, ...).
    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::new(&crate::retry::sdk_config_from_env().await)
    }

    /// Sets the retry policy for KMS calls.
    #[must_use]
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The client for `region`, made once.
    fn client(&self, region: &str) -> aws_sdk_kms::Client {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        clients
            .entry(region.to_string())
            .or_insert_with(|| {
                let config = aws_sdk_kms::config::Builder::from(&self.config)
                    .region(aws_sdk_kms::config::Region::new(region.to_string()))
                    .build();
                aws_sdk_kms::Client::from_conf(config)
            })
            .clone()
    }
}

/// The keyring a function reads (and encrypts) Node's events with: KMS from the environment,
/// cached for `DATA_KEY_MAX_AGE` (or the life of the process).
pub async fn keyring_from_env() -> Result<Arc<Keyring>, ConfigError> {
    keyring(&crate::retry::sdk_config_from_env().await)
}

/// [`keyring_from_env`] with KMS clients made from `sdk`.
pub fn keyring(sdk: &SdkConfig) -> Result<Arc<Keyring>, ConfigError> {
    let keys = Arc::new(KmsDataKeys::new(sdk)?);
    Keyring::from_lookup(keys, |name| std::env::var(name).ok())
        .map(Arc::new)
        .map_err(ConfigError)
}

impl DataKeys for KmsDataKeys {
    fn region(&self) -> &str {
        &self.region
    }

    fn generate<'a>(
        &'a self,
        master_key_alias: &'a str,
    ) -> BoxFuture<'a, Result<GeneratedDataKey, StepError>> {
        let client = self.client(&self.region);
        async move { service::generate(&client, &self.retry, master_key_alias).await }.boxed()
    }

    fn encrypt<'a>(
        &'a self,
        region: &'a str,
        master_key_alias: &'a str,
        plaintext: &'a [u8],
    ) -> BoxFuture<'a, Result<Vec<u8>, StepError>> {
        let client = self.client(region);
        async move { service::encrypt(&client, &self.retry, master_key_alias, plaintext).await }
            .boxed()
    }

    fn decrypt<'a>(
        &'a self,
        region: &'a str,
        ciphertext: &'a [u8],
    ) -> BoxFuture<'a, Result<Vec<u8>, StepError>> {
        let client = self.client(region);
        async move { service::decrypt(&client, &self.retry, ciphertext).await }.boxed()
    }
}
