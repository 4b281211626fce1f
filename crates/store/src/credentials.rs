//! Secrets: password hashes (argon2id) and bearer tokens (random, stored as SHA-256).
//!
//! Tokens carry 256 bits of randomness, so a fast hash is enough to make a
//! stolen database useless for logging in; passwords are chosen by people
//! and get argon2id.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::{Result, StoreError};

fn argon2() -> Argon2<'static> {
    // OWASP's first recommended argon2id configuration: m=19 MiB, t=2, p=1.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_password(password: &str) -> Result<String> {
    let mut salt_bytes = [0u8; 16];
    rand::rng().fill(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|_| StoreError::PasswordHash)?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| StoreError::PasswordHash)
}

/// [`hash_password`] on a blocking thread: argon2id takes tens of
/// milliseconds of CPU, which must neither stall the async runtime nor run
/// while a write transaction (on SQLite: the one writer lock) is held.
pub async fn hash_password_blocking(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| StoreError::PasswordHash)?
}

/// [`verify_password`] on a blocking thread.
pub async fn verify_password_blocking(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false)
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            argon2()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash that takes as long to verify as a real one, to compare against
/// when the user does not exist (no timing oracle for usernames).
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("homegate-dummy-password").unwrap_or_default())
}

/// A new bearer secret with a readable prefix, e.g. `hgt_…` for API tokens.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    format!(
        "{prefix}_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A random password people can type: 4 groups of 5 letters/digits without look-alikes.
pub fn new_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let groups: Vec<String> = (0..4)
        .map(|_| {
            (0..5)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect()
        })
        .collect();
    groups.join("-")
}

/// An enrollment code people can type: three groups of four characters
/// without look-alikes (about 59 bits).
pub fn new_enrollment_code() -> String {
    const ALPHABET: &[u8] = b"ACDEFGHJKLMNPQRTUVWXYZ234679";
    let mut rng = rand::rng();
    let groups: Vec<String> = (0..3)
        .map(|_| {
            (0..4)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect()
        })
        .collect();
    groups.join("-")
}

/// A WireGuard key pair `(private, public)`, base64. Only for devices that
/// cannot make their own (phones without homegate); the private key is
/// handed out once and never stored.
pub fn new_wireguard_key_pair() -> (String, String) {
    let secret = x25519_dalek::StaticSecret::random();
    let public = x25519_dalek::PublicKey::from(&secret);
    let encode = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    (encode(&secret.to_bytes()), encode(public.as_bytes()))
}

/// Enrollment codes are compared case- and separator-insensitively.
pub fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_roundtrip() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong", &hash));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn secrets_are_unique_and_prefixed() {
        let a = new_secret("hgt");
        let b = new_secret("hgt");
        assert!(a.starts_with("hgt_"));
        assert_ne!(a, b);
        assert_eq!(hash_secret(&a).len(), 64);
        assert_eq!(new_password().len(), 23);
        let code = new_enrollment_code();
        assert_eq!(code.len(), 14);
        assert_eq!(
            normalize_code(&code.to_lowercase().replace('-', " ")),
            normalize_code(&code)
        );
    }
}
