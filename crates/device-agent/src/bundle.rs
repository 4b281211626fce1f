//! A home-office stick's enrollment bundle: how to reach the control plane
//! and the stick's one-time enrollment token. Never a private key.

use std::path::Path;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

pub const FILE_NAME: &str = "homegate-bundle.json";
pub const VERSION: u32 = 1;

#[derive(Clone, Serialize, Deserialize)]
pub struct Bundle {
    pub version: u32,
    /// The control plane's public URL.
    pub control_plane: String,
    /// SHA-256 of the control plane's TLS certificate (DER, hex), for https.
    pub certificate_pin: Option<String>,
    /// The stick's one-time enrollment token.
    pub token: String,
    pub stick_id: String,
    pub tenant: String,
}

impl std::fmt::Debug for Bundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bundle")
            .field("control_plane", &self.control_plane)
            .field("stick_id", &self.stick_id)
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl Bundle {
    /// Reads a bundle file, or `homegate-bundle.json` inside a folder (the
    /// mounted stick).
    pub fn read(path: &Path) -> anyhow::Result<Bundle> {
        let path = if path.is_dir() {
            path.join(FILE_NAME)
        } else {
            path.to_owned()
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the bundle {}", path.display()))?;
        let bundle: Bundle = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a homegate bundle", path.display()))?;
        if bundle.version != VERSION {
            bail!(
                "bundle version {} is not supported (this homegate reads version {VERSION})",
                bundle.version
            );
        }
        Ok(bundle)
    }
}
