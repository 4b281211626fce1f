//! The CLI's stored login: server URL and token in a 0600 TOML file.

use std::path::PathBuf;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::UsageError;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredLogin {
    pub server: String,
    pub username: String,
    pub token: String,
}

/// `$HOMEGATE_CLI_CONFIG`, else `$XDG_CONFIG_HOME/homegate/cli.toml`, else
/// `~/.config/homegate/cli.toml`.
pub(crate) fn path() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("HOMEGATE_CLI_CONFIG") {
        return Ok(PathBuf::from(path));
    }
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => {
            let home = std::env::var_os("HOME").ok_or_else(|| {
                UsageError("cannot find your home directory; set HOMEGATE_CLI_CONFIG".to_owned())
            })?;
            PathBuf::from(home).join(".config")
        }
    };
    Ok(base.join("homegate").join("cli.toml"))
}

pub(crate) fn load() -> anyhow::Result<Option<StoredLogin>> {
    let path = path()?;
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let login =
                toml::from_str(&text).with_context(|| format!("cannot read {}", path.display()))?;
            Ok(Some(login))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
    }
}

pub(crate) fn save(login: &StoredLogin) -> anyhow::Result<PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    let path = path()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let text = toml::to_string(login)?;
    let tmp = path.with_extension("toml.tmp");
    {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

pub(crate) fn remove() -> anyhow::Result<()> {
    let path = path()?;
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error).with_context(|| format!("cannot remove {}", path.display())),
    }
}
