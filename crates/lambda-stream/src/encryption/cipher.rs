//! One field's value, as `aws-kms-ee` encrypts it: `CryptoJS.AES.encrypt(json, passphrase)`
//! with a string passphrase, which is OpenSSL's passphrase format: a random 8-byte salt, the
//! key and IV from `EVP_BytesToKey` (MD5, one round, 32 + 16 bytes), AES-256-CBC with PKCS#7,
//! written `base64("Salted__" + salt + ciphertext)`.
//!
//! The cipher, the padding and the digest are RustCrypto's (`aes`, `cbc`, `md-5`). The key
//! derivation is the three MD5 rounds below: no RustCrypto crate has OpenSSL's legacy
//! `EVP_BytesToKey`, and the one crate that does (`evpkdf`) is tied to an older `digest`.

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use md5::{Digest, Md5};

type Encryptor = cbc::Encryptor<aes::Aes256>;
type Decryptor = cbc::Decryptor<aes::Aes256>;

const SALTED: &[u8] = b"Salted__";
const SALT_LEN: usize = 8;
const KEY_LEN: usize = 32;
const IV_LEN: usize = 16;

/// The passphrase Node makes from a data key: `Buffer.toString()` decodes the key's bytes as
/// UTF-8, replacing each invalid sequence with U+FFFD (the same maximal-subpart rule as
/// `String::from_utf8_lossy`), and CryptoJS encodes that string as UTF-8 again.
pub(crate) fn passphrase(data_key: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(data_key).into_owned().into_bytes()
}

/// OpenSSL's `EVP_BytesToKey` with MD5 and one round: `D1 = MD5(pass + salt)`,
/// `Dn = MD5(Dn-1 + pass + salt)`, key and IV taken from `D1 + D2 + D3`.
fn key_and_iv(passphrase: &[u8], salt: &[u8]) -> ([u8; KEY_LEN], [u8; IV_LEN]) {
    let mut derived = [0u8; KEY_LEN + IV_LEN];
    let mut previous: Option<[u8; 16]> = None;
    for chunk in derived.chunks_mut(16) {
        let mut md5 = Md5::new();
        if let Some(previous) = previous {
            md5.update(previous);
        }
        md5.update(passphrase);
        md5.update(salt);
        let digest: [u8; 16] = md5.finalize().into();
        chunk.copy_from_slice(&digest[..chunk.len()]);
        previous = Some(digest);
    }
    let mut key = [0u8; KEY_LEN];
    let mut iv = [0u8; IV_LEN];
    key.copy_from_slice(&derived[..KEY_LEN]);
    iv.copy_from_slice(&derived[KEY_LEN..]);
    (key, iv)
}

/// Encrypts `plaintext` with a fresh random salt.
pub(crate) fn encrypt(plaintext: &[u8], passphrase: &[u8]) -> Result<String, String> {
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt).map_err(|e| format!("no random salt: {e}"))?;
    Ok(encrypt_with_salt(plaintext, passphrase, salt))
}

fn encrypt_with_salt(plaintext: &[u8], passphrase: &[u8], salt: [u8; SALT_LEN]) -> String {
    let (key, iv) = key_and_iv(passphrase, &salt);
    let ciphertext = Encryptor::new(&key.into(), &iv.into()).encrypt_padded_vec::<Pkcs7>(plaintext);
    let mut out = Vec::with_capacity(SALTED.len() + SALT_LEN + ciphertext.len());
    out.extend_from_slice(SALTED);
    out.extend_from_slice(&salt);
    out.extend_from_slice(&ciphertext);
    base64_simd::STANDARD.encode_to_string(out)
}

/// Decrypts what [`encrypt`] (or CryptoJS) wrote; the error says what is wrong, never the
/// value.
pub(crate) fn decrypt(text: &str, passphrase: &[u8]) -> Result<Vec<u8>, &'static str> {
    let bytes = base64_simd::STANDARD
        .decode_to_vec(text.trim())
        .map_err(|_| "it is not base64")?;
    let rest = bytes
        .strip_prefix(SALTED)
        .ok_or("it is not OpenSSL's salted format (no `Salted__`)")?;
    if rest.len() < SALT_LEN + 16 || !(rest.len() - SALT_LEN).is_multiple_of(16) {
        return Err("its ciphertext is not a whole number of AES blocks");
    }
    let (salt, ciphertext) = rest.split_at(SALT_LEN);
    let (key, iv) = key_and_iv(passphrase, salt);
    Decryptor::new(&key.into(), &iv.into())
        .decrypt_padded_vec::<Pkcs7>(ciphertext)
        .map_err(|_| "it does not decrypt with the data key (bad padding: another key, or damaged)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn the_key_derivation_is_openssl_s() {
        // CryptoJS.kdf.OpenSSL.execute('password', 256/32, 128/32, 'saltsalt'), run in Node.
        let (key, iv) = key_and_iv(b"password", b"saltsalt");
        assert_eq!(
            hex(&key),
            "fdbdf3419fff98bdb0241390f62a9db35f4aba29d77566377997314ebfc709f2"
        );
        assert_eq!(hex(&iv), "0b5ca7b1081f94b1ac12e3c8ba87d05a");
    }

    #[test]
    fn a_value_is_what_crypto_js_writes_and_reads() {
        // CryptoJS.AES with the passphrase 'passphrase' and the salt 0102030405060708, run in
        // Node: the same text both ways.
        let written = encrypt_with_salt(b"\"hello\"", b"passphrase", [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(written, "U2FsdGVkX18BAgMEBQYHCMHVTlvTdQ8DyJI8j2bC+lk=");
        assert_eq!(
            decrypt(&written, b"passphrase").as_deref(),
            Ok(&b"\"hello\""[..])
        );
        let random = encrypt(b"{\"a\":1}", b"k").expect("salt");
        assert!(random.starts_with("U2FsdGVkX1"));
        assert_ne!(
            random,
            encrypt(b"{\"a\":1}", b"k").expect("salt"),
            "a new salt each time"
        );
        assert_eq!(decrypt(&random, b"k").as_deref(), Ok(&b"{\"a\":1}"[..]));
    }

    #[test]
    fn the_passphrase_is_node_s_lossy_utf8() {
        // aws-kms-ee's fixture data key; Buffer.from(key.toString()) printed by Node.
        let key = [
            221, 148, 121, 59, 187, 215, 213, 217, 105, 57, 139, 162, 51, 190, 31, 95, 71, 255,
            252, 96, 225, 217, 233, 11, 103, 148, 94, 36, 131, 0, 50, 241,
        ];
        assert_eq!(
            hex(&passphrase(&key)),
            "dd94793befbfbdefbfbdefbfbdefbfbd6939efbfbdefbfbd33efbfbd1f5f47efbfbdefbfbd60efbfbdefbfbdefbfbd0b67efbfbd5e24efbfbd0032efbfbd"
        );
    }

    #[test]
    fn what_does_not_decrypt_says_why() {
        // A fixed salt, so the wrong key's padding check fails every run.
        let written = encrypt_with_salt(b"\"x\"", b"right", [9; SALT_LEN]);
        assert!(decrypt(&written, b"wrong").is_err());
        assert_eq!(decrypt("not base64!", b"k"), Err("it is not base64"));
        let unsalted = base64_simd::STANDARD.encode_to_string([0u8; 32]);
        assert!(decrypt(&unsalted, b"k").is_err_and(|e| e.contains("Salted__")));
        let short = base64_simd::STANDARD.encode_to_string(b"Salted__12345678abc");
        assert!(decrypt(&short, b"k").is_err_and(|e| e.contains("AES blocks")));
    }
}
