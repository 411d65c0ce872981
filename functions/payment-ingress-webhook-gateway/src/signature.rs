//! Verifying the processor's signature: HMAC-SHA256 over `"{timestamp}.{body}"` with the
//! shared secret, sent as two headers:
//!
//! ```text
//! Payment-Timestamp: 1764000000
//! Payment-Signature: v1=<64 hex digits: HMAC-SHA256(secret, "1764000000." + body)>
//! ```
//!
//! The timestamp is signed with the body, so a captured request cannot be replayed once it is
//! older than the tolerance (5 minutes by default), and the comparison runs in constant time.
//! The header may carry several `v1=` signatures (the processor signs with its old and new
//! secrets while it rotates them), and we accept a previous secret of our own for the same
//! reason.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header with the signing time, in seconds since the epoch.
pub const TIMESTAMP_HEADER: &str = "payment-timestamp";
/// The header with the signatures.
pub const SIGNATURE_HEADER: &str = "payment-signature";
/// How far the signing time may be from ours, either way, by default.
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;

/// Why a request's signature was not accepted. Every case answers 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// No timestamp header.
    MissingTimestamp,
    /// The timestamp is not a number of seconds.
    MalformedTimestamp,
    /// No signature header.
    MissingSignature,
    /// The signature header has no `v1=` entry of 64 hex digits.
    MalformedSignature,
    /// The request was signed too long ago (a replay) or claims to be from the future.
    OutsideWindow {
        /// Our clock minus the signing time, in seconds.
        age_seconds: i64,
    },
    /// No signature matches the body with any of our secrets.
    Mismatch,
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::MissingTimestamp => write!(f, "the {TIMESTAMP_HEADER} header is missing"),
            Self::MalformedTimestamp => {
                write!(
                    f,
                    "the {TIMESTAMP_HEADER} header is not a number of seconds"
                )
            }
            Self::MissingSignature => write!(f, "the {SIGNATURE_HEADER} header is missing"),
            Self::MalformedSignature => {
                write!(f, "the {SIGNATURE_HEADER} header has no v1 signature")
            }
            Self::OutsideWindow { age_seconds } if *age_seconds >= 0 => write!(
                f,
                "the request was signed {age_seconds} s ago, outside the allowed window"
            ),
            Self::OutsideWindow { age_seconds } => write!(
                f,
                "the request claims to be signed {} s in the future, outside the allowed window",
                age_seconds.unsigned_abs()
            ),
            Self::Mismatch => write!(f, "the signature does not match"),
        }
    }
}

impl std::error::Error for SignatureError {}

/// A signing secret. Its `Debug` output never shows it.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// A secret from its bytes (the configured string as UTF-8).
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self(secret.into())
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length, so this cannot fail; an empty key is refused earlier.
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"))
    }

    fn matches(&self, timestamp: &str, body: &[u8], signature: &[u8]) -> bool {
        let mut mac = self.mac();
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(signature).is_ok()
    }

    /// The `Payment-Signature` value for `body` signed at `timestamp`: what the processor
    /// sends. For tests and local tools.
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        let digest = mac.finalize().into_bytes();
        let mut hex = String::with_capacity(3 + digest.len() * 2);
        hex.push_str("v1=");
        for byte in digest.iter() {
            hex.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
            hex.push(char::from(HEX_DIGITS[usize::from(byte & 0xf)]));
        }
        hex
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// The signature check: our secrets and the replay window.
#[derive(Debug, Clone)]
pub struct SignatureCheck {
    secrets: Vec<Secret>,
    tolerance_seconds: i64,
}

impl SignatureCheck {
    /// Checks with one secret and the default 5-minute window.
    pub fn new(secret: Secret) -> Self {
        Self {
            secrets: vec![secret],
            tolerance_seconds: DEFAULT_TOLERANCE_SECONDS,
        }
    }

    /// Also accepts signatures made with `secret` (the previous one, while rotating).
    #[must_use]
    pub fn also_accepting(mut self, secret: Secret) -> Self {
        self.secrets.push(secret);
        self
    }

    /// Sets how far, in seconds, the signing time may be from ours.
    #[must_use]
    pub fn tolerance_seconds(mut self, seconds: i64) -> Self {
        self.tolerance_seconds = seconds.max(0);
        self
    }

    /// Verifies the headers' values against `body` at `now` (seconds since the epoch).
    pub fn verify(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<(), SignatureError> {
        let timestamp = timestamp
            .map(str::trim)
            .ok_or(SignatureError::MissingTimestamp)?;
        let signed_at: i64 = timestamp
            .parse()
            .map_err(|_| SignatureError::MalformedTimestamp)?;
        let signature = signature.ok_or(SignatureError::MissingSignature)?;
        let candidates: Vec<[u8; 32]> = signature
            .split(',')
            .filter_map(|part| part.trim().strip_prefix("v1="))
            .filter_map(decode_hex)
            .collect();
        if candidates.is_empty() {
            return Err(SignatureError::MalformedSignature);
        }
        let age_seconds = now.saturating_sub(signed_at);
        if age_seconds.saturating_abs() > self.tolerance_seconds {
            return Err(SignatureError::OutsideWindow { age_seconds });
        }
        // Every secret against every candidate, without stopping early: the time taken does
        // not tell which one matched.
        let mut matched = false;
        for secret in &self.secrets {
            for candidate in &candidates {
                matched |= secret.matches(timestamp, body, candidate);
            }
        }
        if matched {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

/// 64 hex digits into 32 bytes.
fn decode_hex(hex: &str) -> Option<[u8; 32]> {
    let digits = hex.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
        let high = char::from(pair[0]).to_digit(16)?;
        let low = char::from(pair[1]).to_digit(16)?;
        *byte = u8::try_from(high << 4 | low).ok()?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_000_000;

    fn check() -> SignatureCheck {
        SignatureCheck::new(Secret::new("whsec_current"))
    }

    #[test]
    fn a_signature_matches_the_reference_hmac() {
        // HMAC-SHA256(key = "key", "1.The quick brown fox jumps over the lazy dog"), computed
        // independently with Python's hmac module.
        let signature = Secret::new("key").sign(1, b"The quick brown fox jumps over the lazy dog");
        assert_eq!(
            signature,
            "v1=3ff4d3cc115b639a16dc5b217aa5c89be41d1e4b54efc356d63d0cd2a65b30f1"
        );
    }

    #[test]
    fn a_body_signed_with_our_secret_in_the_window_is_accepted() {
        let body = br#"{"id":"evt_1"}"#;
        let signature = Secret::new("whsec_current").sign(NOW - 10, body);
        let timestamp = (NOW - 10).to_string();
        assert_eq!(
            check().verify(Some(&timestamp), Some(&signature), body, NOW),
            Ok(())
        );
    }

    #[test]
    fn the_window_is_inclusive_and_applies_both_ways() {
        let body = b"{}";
        let secret = Secret::new("whsec_current");
        for (signed_at, accepted) in [
            (NOW - 300, true),
            (NOW + 300, true),
            (NOW - 301, false),
            (NOW + 301, false),
        ] {
            let result = check().verify(
                Some(&signed_at.to_string()),
                Some(&secret.sign(signed_at, body)),
                body,
                NOW,
            );
            assert_eq!(
                result.is_ok(),
                accepted,
                "signed at {signed_at}: {result:?}"
            );
        }
    }

    #[test]
    fn a_changed_body_timestamp_or_secret_does_not_match() {
        let body = br#"{"amount":100}"#;
        let signature = Secret::new("whsec_current").sign(NOW, body);
        assert_eq!(
            check().verify(
                Some(&NOW.to_string()),
                Some(&signature),
                br#"{"amount":900}"#,
                NOW
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check().verify(Some(&(NOW - 1).to_string()), Some(&signature), body, NOW),
            Err(SignatureError::Mismatch)
        );
        let other = Secret::new("whsec_other").sign(NOW, body);
        assert_eq!(
            check().verify(Some(&NOW.to_string()), Some(&other), body, NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn rotation_accepts_the_previous_secret_and_any_listed_signature() {
        let body = b"{}";
        let old = Secret::new("whsec_old").sign(NOW, body);
        let rotating = check().also_accepting(Secret::new("whsec_old"));
        assert_eq!(
            rotating.verify(Some(&NOW.to_string()), Some(&old), body, NOW),
            Ok(())
        );
        let unknown = Secret::new("whsec_unknown").sign(NOW, body);
        let current = Secret::new("whsec_current").sign(NOW, body);
        let both = format!("{unknown}, {current}");
        assert_eq!(
            check().verify(Some(&NOW.to_string()), Some(&both), body, NOW),
            Ok(())
        );
    }

    #[test]
    fn missing_or_malformed_headers_are_named() {
        let body = b"{}";
        let good = Secret::new("whsec_current").sign(NOW, body);
        let now = NOW.to_string();
        let cases = [
            (None, Some(good.as_str()), SignatureError::MissingTimestamp),
            (
                Some("yesterday"),
                Some(good.as_str()),
                SignatureError::MalformedTimestamp,
            ),
            (Some(now.as_str()), None, SignatureError::MissingSignature),
            (
                Some(now.as_str()),
                Some("sha256=abc"),
                SignatureError::MalformedSignature,
            ),
            (
                Some(now.as_str()),
                Some("v1=zz"),
                SignatureError::MalformedSignature,
            ),
            (
                Some(now.as_str()),
                Some(&good[..good.len() - 2]),
                SignatureError::MalformedSignature,
            ),
        ];
        for (timestamp, signature, expected) in cases {
            assert_eq!(
                check().verify(timestamp, signature, body, NOW),
                Err(expected.clone()),
                "{timestamp:?} {signature:?}"
            );
        }
    }

    #[test]
    fn a_refusal_for_time_says_which_way_the_clock_is_off() {
        let old = SignatureError::OutsideWindow { age_seconds: 360 }.to_string();
        let future = SignatureError::OutsideWindow { age_seconds: -360 }.to_string();
        assert!(old.contains("signed 360 s ago"), "{old}");
        assert!(future.contains("360 s in the future"), "{future}");
    }

    #[test]
    fn the_secret_is_never_printed() {
        let debug = format!("{:?}", check());
        assert!(!debug.contains("whsec_current"), "{debug}");
    }
}
