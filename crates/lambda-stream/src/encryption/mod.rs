//! Field-level encryption, compatible with `aws-kms-ee` 1.0 (what the Node library's
//! `encryptEvent` and `decryptEvent` use).
//!
//! An encrypted event names its encrypted fields in `eem`:
//! `{dataKeys: {REGION: base64(CiphertextBlob), ...}, masterKeyAlias, fields: [...]}`. Every
//! member named in `fields`, at any depth, holds `CryptoJS.AES.encrypt(JSON.stringify(value),
//! passphrase)`, the passphrase being the KMS data key's bytes read as UTF-8 (lossily, as
//! Node's `Buffer.toString()` reads them): OpenSSL's passphrase format, a random salt, MD5
//! key derivation and AES-256-CBC (the private `cipher` module); `null` stays `null`.
//!
//! - **Reading**: the handler decrypts each event with an `eem` before a step sees it
//!   ([`StreamHandler::decrypt_with`](crate::StreamHandler::decrypt_with)): the data key for the
//!   function's region (KMS `Decrypt`), else another region's in `dataKeys`, cached by the
//!   [`Keyring`]; then each named field, read back as JSON (with `aws-kms-ee`'s legacy rule: a
//!   plaintext that does not look like JSON and holds exactly one `E` stays a string). The
//!   event the steps get has no `eem`, as Node's `decryptEvent` gives it, and still redacts the
//!   decrypted fields wherever it is shown (fault events, `Debug`). An event that cannot be
//!   decrypted (no permission, unknown key, damaged ciphertext) is a fault naming the field or
//!   the data key: ciphertext never reaches a step. A handler without a keyring faults every
//!   encrypted event for the same reason.
//! - **Writing**: [`Pipeline::encrypt`](crate::Pipeline::encrypt) encrypts the fields
//!   [`Encryption`] names, with a data key generated once per process on `MASTER_KEY_ALIAS`
//!   and encrypted for each of `KMS_REGIONS`, and writes `eem` as `aws-kms-ee` does, so Node's
//!   `decryptEvent` reads it.

mod cipher;
mod keys;

use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::value::RawValue;

pub use keys::{DataKeys, GeneratedDataKey, Keyring};

use crate::envelope::Envelope;
use crate::error::StepError;
use crate::json::tree::{self, RewriteError, Visit};

/// What an encrypting pipeline encrypts and with which master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encryption {
    fields: Vec<String>,
    master_key_alias: String,
    regions: Vec<String>,
}

impl Encryption {
    /// Encrypt the members named `fields` (at any depth) under `master_key_alias`.
    pub fn new<I, S>(master_key_alias: impl Into<String>, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            fields: fields.into_iter().map(Into::into).collect(),
            master_key_alias: master_key_alias.into(),
            regions: Vec::new(),
        }
    }

    /// Also encrypt the data key for these regions (`KMS_REGIONS`), so the event can be
    /// decrypted there.
    #[must_use]
    pub fn regions<I, S>(mut self, regions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.regions = regions.into_iter().map(Into::into).collect();
        self
    }

    /// The fields named in `fields`, the master key from `MASTER_KEY_ALIAS` (required) and the
    /// regions from `KMS_REGIONS` (comma-separated), Node's variables.
    pub fn from_lookup<I, S>(
        fields: I,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, String>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let alias = lookup("MASTER_KEY_ALIAS")
            .filter(|v| !v.trim().is_empty())
            .ok_or("MASTER_KEY_ALIAS is not set: the master key to encrypt with")?;
        let regions: Vec<String> = lookup("KMS_REGIONS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .collect();
        Ok(Self::new(alias.trim(), fields).regions(regions))
    }

    /// The fields it encrypts.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// `event` with these fields encrypted and its `eem` written, outside a pipeline (Node's
    /// `encryptData`); [`Pipeline::encrypt`](crate::Pipeline::encrypt) does it as a step.
    pub async fn encrypt_event(
        &self,
        event: &Envelope,
        keyring: &Keyring,
    ) -> Result<Envelope, StepError> {
        encrypt_event(event, self, keyring).await
    }
}

/// `event` with the fields its `eem` names decrypted and `eem` removed, outside a handler
/// (Node's `decryptData`); `None` when it is not encrypted. The handler does this itself
/// ([`StreamHandler::decrypt_with`](crate::StreamHandler::decrypt_with)).
pub async fn decrypt(event: &Envelope, keyring: &Keyring) -> Result<Option<Envelope>, StepError> {
    decrypt_event(event, keyring).await
}

/// `eem` as it is read.
#[derive(serde::Deserialize)]
struct EemIn {
    #[serde(rename = "dataKeys", default)]
    data_keys: std::collections::BTreeMap<String, Option<String>>,
    #[serde(default)]
    fields: Option<Vec<String>>,
}

/// `eem` as `aws-kms-ee` writes it: `dataKeys` in its order, then `masterKeyAlias`, `fields`.
struct EemOut<'a> {
    data_keys: &'a [(String, String)],
    master_key_alias: &'a str,
    fields: &'a [String],
}

impl Serialize for EemOut<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct DataKeysOut<'a>(&'a [(String, String)]);
        impl Serialize for DataKeysOut<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(self.0.len()))?;
                for (region, key) in self.0 {
                    map.serialize_entry(region, key)?;
                }
                map.end()
            }
        }
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("dataKeys", &DataKeysOut(self.data_keys))?;
        map.serialize_entry("masterKeyAlias", self.master_key_alias)?;
        map.serialize_entry("fields", self.fields)?;
        map.end()
    }
}

fn decryption_error(message: impl Into<String>) -> StepError {
    StepError::permanent(message).with_name("DecryptionError")
}

/// True when the event carries an `eem` naming fields (so it must be decrypted).
pub(crate) fn is_encrypted(event: &Envelope) -> bool {
    event
        .eem_json()
        .is_some_and(|eem| eem.trim() != "null" && !event.encrypted_fields().is_empty())
}

/// The event with the fields its `eem` names decrypted and `eem` removed (`None` when it
/// names none).
pub(crate) async fn decrypt_event(
    event: &Envelope,
    keyring: &Keyring,
) -> Result<Option<Envelope>, StepError> {
    let Some(eem) = event.eem_json().filter(|e| e.trim() != "null") else {
        return Ok(None);
    };
    let eem: EemIn = serde_json::from_str(eem)
        .map_err(|e| decryption_error(format!("the event's `eem` cannot be read: {e}")))?;
    let fields = eem.fields.clone().unwrap_or_default();
    if fields.is_empty() {
        return Ok(None);
    }
    let data_key = data_key(&eem, keyring).await?;
    let passphrase = cipher::passphrase(&data_key);
    let mut plain = event.clone();
    plain.remove_eem();
    let json = plain.to_json();
    let rewritten = tree::rewrite(&json, &mut |path, value| {
        match path.key() {
            Some(name) if path.depth() > 0 && fields.iter().any(|f| f == name) => {}
            _ => return Ok(Visit::Descend),
        }
        if tree::first_byte(value) == b'n' {
            return Ok(Visit::Keep); // null stays null
        }
        let Some(ciphertext) = tree::as_str(value) else {
            return Err(format!(
                "the field `{path}` named in `eem` is not ciphertext (not a string)"
            ));
        };
        let bytes = cipher::decrypt(&ciphertext, &passphrase).map_err(|reason| {
            format!("the field `{path}` named in `eem` cannot be decrypted: {reason}")
        })?;
        let text = String::from_utf8(bytes).map_err(|_| {
            format!("the field `{path}` named in `eem` does not decrypt to UTF-8 text")
        })?;
        Ok(Visit::Replace(plaintext_json(&text)))
    });
    let text = match rewritten {
        Ok(Some(text)) => text,
        Ok(None) => json,
        Err(RewriteError::Visitor(message)) => return Err(decryption_error(message)),
        Err(RewriteError::Syntax(e)) => {
            return Err(decryption_error(format!("the event is not JSON: {e}")));
        }
    };
    let mut decrypted = Envelope::parse(text)
        .map_err(|e| decryption_error(format!("the decrypted event cannot be read: {e}")))?;
    decrypted.set_decrypted_fields(fields);
    Ok(Some(decrypted))
}

/// The data key of the event: the function's region first, then the others in `dataKeys`.
async fn data_key(eem: &EemIn, keyring: &Keyring) -> Result<std::sync::Arc<[u8]>, StepError> {
    let own = keyring.region().to_string();
    let order = eem
        .data_keys
        .iter()
        .filter(|(region, _)| **region == own)
        .chain(eem.data_keys.iter().filter(|(region, _)| **region != own));
    let mut errors = Vec::new();
    for (region, key) in order {
        let Some(key) = key else { continue };
        let blob = match base64_simd::STANDARD.decode_to_vec(key.trim()) {
            Ok(blob) => blob,
            Err(_) => {
                errors.push((
                    region.clone(),
                    decryption_error("the data key is not base64"),
                ));
                continue;
            }
        };
        match keyring.decrypt(region, &blob).await {
            Ok(plaintext) => return Ok(plaintext),
            Err(error) => {
                tracing::warn!(%region, %error, "could not decrypt the event's data key in this region");
                errors.push((region.clone(), error));
            }
        }
    }
    Err(keys::no_region_could(errors))
}

/// A decrypted field's JSON, read as `aws-kms-ee` reads it: JSON, except that a plaintext not
/// written as a JSON object, array or string with exactly one `E` (a value from before it
/// stringified, which may look like a number in exponent form) and anything that is not JSON
/// stay strings; an empty plaintext is the empty string.
fn plaintext_json(text: &str) -> String {
    let quoted = |open: char, close: char| text.starts_with(open) && text.ends_with(close);
    let json_looking = quoted('{', '}') || quoted('[', ']') || quoted('"', '"');
    if text.is_empty() || (!json_looking && text.split('E').count() == 2) {
        return tree::string_literal(text);
    }
    match serde_json::from_str::<&RawValue>(text) {
        Ok(value) => value.get().to_string(),
        Err(_) => tree::string_literal(text),
    }
}

/// The event with the fields `encryption` names encrypted and its `eem` written.
pub(crate) async fn encrypt_event(
    event: &Envelope,
    encryption: &Encryption,
    keyring: &Keyring,
) -> Result<Envelope, StepError> {
    let fail = |message: String| StepError::permanent(message).with_name("EncryptionError");
    if event.eem_json().is_some_and(|e| e.trim() != "null") {
        return Err(fail(
            "the event already has an `eem`: its fields are encrypted already".into(),
        ));
    }
    let key = keyring
        .encrypting_key(&encryption.master_key_alias, &encryption.regions)
        .await?;
    let json = event.to_json();
    let fields = &encryption.fields;
    let rewritten = tree::rewrite(&json, &mut |path, value| {
        match path.key() {
            Some(name) if path.depth() > 0 && fields.iter().any(|f| f == name) => {}
            _ => return Ok(Visit::Descend),
        }
        if tree::first_byte(value) == b'n' {
            return Ok(Visit::Keep);
        }
        let plaintext = tree::minified(value.get());
        cipher::encrypt(plaintext.as_bytes(), &key.passphrase)
            .map(|ciphertext| Visit::Replace(tree::string_literal(&ciphertext)))
            .map_err(|reason| format!("the field `{path}` cannot be encrypted: {reason}"))
    });
    let text = match rewritten {
        Ok(Some(text)) => text,
        Ok(None) => json,
        Err(RewriteError::Visitor(message)) => return Err(fail(message)),
        Err(RewriteError::Syntax(e)) => return Err(fail(format!("the event is not JSON: {e}"))),
    };
    let mut encrypted = Envelope::parse(text)
        .map_err(|e| fail(format!("the encrypted event cannot be read: {e}")))?;
    encrypted
        .set_eem(&EemOut {
            data_keys: &key.data_keys,
            master_key_alias: &encryption.master_key_alias,
            fields,
        })
        .map_err(|e| fail(e.to_string()))?;
    Ok(encrypted)
}

#[cfg(test)]
mod tests;
