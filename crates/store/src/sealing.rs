//! Secrets at rest. What the control plane must read back in clear — TOTP
//! secrets, OIDC client secrets, webhook signing secrets, the access proxy's
//! signing keys — is stored sealed with XChaCha20-Poly1305 under a key that
//! is not in the database: a file in the data folder (`secrets.key`, made
//! on first start) or one the operator gives. A stolen database or backup
//! alone then yields none of them. (Passwords and tokens are not sealed:
//! they are stored as hashes and never read back.)
//!
//! The database remembers which key sealed it (an id derived from the key,
//! not the key): a replica started with another key refuses to start instead
//! of failing every login later.

use std::io::Write as _;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore as _;
use sha2::{Digest, Sha256};

/// The default name of the key file in the data folder.
pub const KEY_FILE: &str = "secrets.key";
/// Sealed values start with this, so values written before sealing existed
/// are told apart (and sealed at the next start).
const PREFIX: &str = "hgs1:";
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum SealingError {
    #[error("cannot read the secrets key {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot create the secrets key {path}: {source}")]
    Create {
        path: String,
        source: std::io::Error,
    },
    #[error("the secrets key {path} is not 32 bytes in base64")]
    Malformed { path: String },
}

/// The key secrets are sealed with. Its `Debug` shows only its id.
#[derive(Clone)]
pub struct SecretsKey {
    key: [u8; 32],
    id: String,
}

impl std::fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsKey").field("id", &self.id).finish()
    }
}

impl SecretsKey {
    pub fn from_bytes(key: [u8; 32]) -> SecretsKey {
        let mut hasher = Sha256::new();
        hasher.update(b"homegate secrets key id\0");
        hasher.update(key);
        let id = hex::encode(&hasher.finalize()[..8]);
        SecretsKey { key, id }
    }

    /// A fresh random key.
    pub fn generate() -> SecretsKey {
        let mut key = [0_u8; 32];
        rand::rng().fill_bytes(&mut key);
        SecretsKey::from_bytes(key)
    }

    /// Reads the key file at `path`.
    pub fn read(path: &Path) -> Result<SecretsKey, SealingError> {
        let text = std::fs::read_to_string(path).map_err(|source| SealingError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let bytes = STANDARD
            .decode(text.trim())
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| SealingError::Malformed {
                path: path.display().to_string(),
            })?;
        Ok(SecretsKey::from_bytes(bytes))
    }

    /// Reads the key file at `path`, or makes one (mode 0600) if there is
    /// none yet.
    pub fn read_or_create(path: &Path) -> Result<SecretsKey, SealingError> {
        if path.exists() {
            return SecretsKey::read(path);
        }
        let key = SecretsKey::generate();
        let create = |source| SealingError::Create {
            path: path.display().to_string(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(create)?;
        writeln!(file, "{}", STANDARD.encode(key.key)).map_err(create)?;
        file.sync_all().map_err(create)?;
        Ok(key)
    }

    /// Identifies the key without revealing it.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn seal(&self, plain: &str) -> String {
        let cipher = XChaCha20Poly1305::new((&self.key).into());
        let mut nonce = [0_u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        // Encryption with a valid key and nonce cannot fail.
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), plain.as_bytes())
            .unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        format!("{PREFIX}{}", STANDARD.encode(bytes))
    }

    /// The clear text of a stored value; values stored before sealing
    /// existed come back as they are. `None`: sealed with another key, or
    /// damaged.
    pub(crate) fn open(&self, stored: &str) -> Option<String> {
        let Some(encoded) = stored.strip_prefix(PREFIX) else {
            return Some(stored.to_owned());
        };
        let bytes = STANDARD.decode(encoded).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new((&self.key).into());
        let plain = cipher.decrypt(XNonce::from_slice(nonce), sealed).ok()?;
        String::from_utf8(plain).ok()
    }
}

/// Whether a stored value is sealed.
pub(crate) fn is_sealed(stored: &str) -> bool {
    stored.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key() {
        let key = SecretsKey::generate();
        let sealed = key.seal("JBSWY3DPEHPK3PXP");
        assert!(is_sealed(&sealed));
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_ne!(
            sealed,
            key.seal("JBSWY3DPEHPK3PXP"),
            "a fresh nonce each time"
        );
        assert_eq!(key.open(&sealed).as_deref(), Some("JBSWY3DPEHPK3PXP"));
        assert_eq!(SecretsKey::generate().open(&sealed), None);
        assert_eq!(key.open("legacy-plain").as_deref(), Some("legacy-plain"));
        assert_eq!(key.open("hgs1:AAAA"), None);
    }

    #[test]
    fn the_key_file_is_made_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEY_FILE);
        let made = SecretsKey::read_or_create(&path).unwrap();
        let again = SecretsKey::read_or_create(&path).unwrap();
        assert_eq!(made.id(), again.id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "short").unwrap();
        assert!(matches!(
            SecretsKey::read(&path),
            Err(SealingError::Malformed { .. })
        ));
        assert!(!format!("{made:?}").contains(&STANDARD.encode(made.key)));
    }
}
