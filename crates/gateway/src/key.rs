//! The gateway's WireGuard key pair, made on first start and kept in the
//! state folder (mode 0600). Only the public key leaves the machine.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use anyhow::{Context, bail};
use base64::Engine;
use x25519_dalek::{PublicKey, StaticSecret};

const KEY_FILE: &str = "private.key";

pub fn load_or_create(state_dir: &Path) -> anyhow::Result<StaticSecret> {
    let path = state_dir.join(KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .with_context(|| format!("{} is not a base64 key", path.display()))?;
            let Ok(bytes) = <[u8; 32]>::try_from(bytes.as_slice()) else {
                bail!("{} does not hold a 32-byte key", path.display());
            };
            Ok(StaticSecret::from(bytes))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(state_dir)
                .with_context(|| format!("cannot create {}", state_dir.display()))?;
            let secret = StaticSecret::random();
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            file.write_all(
                base64::engine::general_purpose::STANDARD
                    .encode(secret.to_bytes())
                    .as_bytes(),
            )?;
            file.sync_all()?;
            tracing::info!(path = %path.display(), "generated a new gateway key");
            Ok(secret)
        }
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}

pub fn encode_public(secret: &StaticSecret) -> String {
    base64::engine::general_purpose::STANDARD.encode(PublicKey::from(secret).as_bytes())
}

/// A peer's public key, unless it is not base64 of 32 bytes or is a point
/// of small order (no device may have one; the control plane refuses them).
pub fn decode_public(text: &str) -> Option<PublicKey> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    let bytes: [u8; 32] = bytes.as_slice().try_into().ok()?;
    if api_types::keys::is_low_order(&bytes) {
        return None;
    }
    Some(PublicKey::from(bytes))
}

pub fn encode_key(key: &PublicKey) -> String {
    base64::engine::general_purpose::STANDARD.encode(key.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_kept_across_starts() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        let second = load_or_create(dir.path()).unwrap();
        assert_eq!(encode_public(&first), encode_public(&second));
        let mode = std::fs::metadata(dir.path().join(KEY_FILE)).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
            0o600
        );
        let public = decode_public(&encode_public(&first)).unwrap();
        assert_eq!(encode_key(&public), encode_public(&first));
    }

    #[test]
    fn low_order_peer_keys_are_refused() {
        assert!(decode_public("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").is_none());
        assert!(decode_public("X5yVvKNQjCSx0LFVnIPvWwREXMRYHI6G2CJO3dCfEVc=").is_none());
    }
}
