//! Stand-ins for the stores a handler reads Node's events with, in memory: claim checks
//! ([`InMemoryClaimChecks`], a [`Redeemer`]) and KMS data keys ([`InMemoryDataKeys`], a
//! [`DataKeys`]). For tests and the local hub; never for production.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures::FutureExt;
use futures::future::BoxFuture;

use crate::claimcheck::{ClaimCheckStore, Redeemer, object_key};
use crate::encryption::{DataKeys, GeneratedDataKey};
use crate::envelope::{Envelope, S3Pointer};
use crate::error::StepError;

/// The objects of every bucket, by bucket and key.
type Objects = Arc<Mutex<HashMap<(String, String), Vec<u8>>>>;

/// Claim-checked events in memory, by bucket and key. As a [`ClaimCheckStore`] it stores in
/// one bucket (`claims` unless [`InMemoryClaimChecks::in_bucket`] says), under `claimchecks/`
/// as the S3 store does; it reads from any.
#[derive(Debug, Clone)]
pub struct InMemoryClaimChecks {
    bucket: String,
    objects: Objects,
}

impl Default for InMemoryClaimChecks {
    fn default() -> Self {
        Self::in_bucket("claims")
    }
}

impl InMemoryClaimChecks {
    /// An empty store, storing in the bucket `claims`.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store, storing in `bucket`.
    pub fn in_bucket(bucket: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            objects: Arc::default(),
        }
    }

    /// The same objects, storing in `bucket` (one function's `CLAIMCHECK_BUCKET_NAME`).
    #[must_use]
    pub fn storing_in(&self, bucket: impl Into<String>) -> Self {
        Self {
            bucket: bucket.into(),
            objects: Arc::clone(&self.objects),
        }
    }

    /// The object at `s3://bucket/key`, if there is one.
    pub fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        self.objects
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(bucket.to_string(), key.to_string()))
            .cloned()
    }

    /// Stores `bytes` at `s3://bucket/key`.
    pub fn put(&self, bucket: &str, key: &str, bytes: impl Into<Vec<u8>>) {
        self.objects
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((bucket.to_string(), key.to_string()), bytes.into());
    }

    /// How many objects it holds.
    pub fn len(&self) -> usize {
        self.objects
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// True when it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ClaimCheckStore for InMemoryClaimChecks {
    fn pointer_for(&self, event: &Envelope) -> S3Pointer {
        S3Pointer {
            bucket: self.bucket.clone(),
            key: object_key("claimchecks/", event),
        }
    }

    fn store<'a>(
        &'a self,
        pointer: &'a S3Pointer,
        json: &'a str,
    ) -> BoxFuture<'a, Result<(), StepError>> {
        self.put(&pointer.bucket, &pointer.key, json.as_bytes());
        async { Ok(()) }.boxed()
    }
}

impl Redeemer for InMemoryClaimChecks {
    fn fetch<'a>(&'a self, pointer: &'a S3Pointer) -> BoxFuture<'a, Result<Vec<u8>, StepError>> {
        let found = self
            .objects
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(pointer.bucket.clone(), pointer.key.clone()))
            .cloned();
        async move {
            found.ok_or_else(|| {
                StepError::permanent(format!(
                    "the claim check s3://{}/{} does not exist (NoSuchKey)",
                    pointer.bucket, pointer.key
                ))
                .with_name("NoSuchKey")
            })
        }
        .boxed()
    }
}

/// KMS in memory: data keys are random, and their "ciphertext" is a random handle this store
/// alone can turn back into the key (in any region, as a multi-region key would). Master keys
/// are whatever aliases are asked for, unless [`InMemoryDataKeys::only`] limits them.
#[derive(Debug)]
pub struct InMemoryDataKeys {
    region: String,
    aliases: Option<Vec<String>>,
    keys: Mutex<HashMap<Vec<u8>, Vec<u8>>>,
    calls: Mutex<Vec<String>>,
}

impl InMemoryDataKeys {
    /// Keys for a function in `region`.
    pub fn new(region: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            aliases: None,
            keys: Mutex::new(HashMap::new()),
            calls: Mutex::new(Vec::new()),
        }
    }

    /// Only these master key aliases exist; any other is refused as KMS refuses an unknown key.
    #[must_use]
    pub fn only<I, S>(mut self, aliases: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.aliases = Some(aliases.into_iter().map(Into::into).collect());
        self
    }

    /// The calls made so far (`GenerateDataKey alias`, `Encrypt region`, `Decrypt region`).
    pub fn calls(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn record(&self, call: String) {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(call);
    }

    fn known(&self, alias: &str) -> Result<(), StepError> {
        match &self.aliases {
            Some(aliases) if !aliases.iter().any(|a| a == alias) => Err(StepError::permanent(
                format!("Alias {alias} is not found (NotFoundException)"),
            )
            .with_name("NotFoundException")),
            _ => Ok(()),
        }
    }

    fn handle_for(&self, plaintext: &[u8]) -> Result<Vec<u8>, StepError> {
        let mut handle = vec![0u8; 24];
        getrandom::fill(&mut handle).map_err(|e| StepError::retryable(e.to_string()))?;
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(handle.clone(), plaintext.to_vec());
        Ok(handle)
    }
}

impl DataKeys for InMemoryDataKeys {
    fn region(&self) -> &str {
        &self.region
    }

    fn generate<'a>(
        &'a self,
        master_key_alias: &'a str,
    ) -> BoxFuture<'a, Result<GeneratedDataKey, StepError>> {
        self.record(format!("GenerateDataKey {master_key_alias}"));
        let result = self.known(master_key_alias).and_then(|()| {
            let mut plaintext = vec![0u8; 32];
            getrandom::fill(&mut plaintext).map_err(|e| StepError::retryable(e.to_string()))?;
            let ciphertext = self.handle_for(&plaintext)?;
            Ok(GeneratedDataKey {
                plaintext,
                ciphertext,
            })
        });
        async move { result }.boxed()
    }

    fn encrypt<'a>(
        &'a self,
        region: &'a str,
        master_key_alias: &'a str,
        plaintext: &'a [u8],
    ) -> BoxFuture<'a, Result<Vec<u8>, StepError>> {
        self.record(format!("Encrypt {region}"));
        let result = self
            .known(master_key_alias)
            .and_then(|()| self.handle_for(plaintext));
        async move { result }.boxed()
    }

    fn decrypt<'a>(
        &'a self,
        region: &'a str,
        ciphertext: &'a [u8],
    ) -> BoxFuture<'a, Result<Vec<u8>, StepError>> {
        self.record(format!("Decrypt {region}"));
        let found = self
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(ciphertext)
            .cloned();
        async move {
            found.ok_or_else(|| {
                StepError::permanent("the ciphertext refers to a key that does not exist (InvalidCiphertextException)")
                    .with_name("InvalidCiphertextException")
            })
        }
        .boxed()
    }
}
