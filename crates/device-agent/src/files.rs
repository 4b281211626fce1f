//! The device client's files.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use api_types::enrollment::DeviceConfig;
use serde::{Deserialize, Serialize};

/// What an enrolled device keeps. The private key is the device's own.
#[derive(Clone, Serialize, Deserialize)]
pub struct DeviceFile {
    pub server: String,
    /// SHA-256 of the control plane's certificate, when a stick's bundle
    /// pinned it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_pin: Option<String>,
    pub device_token: String,
    pub private_key: String,
    pub config: DeviceConfig,
}

impl DeviceFile {
    /// A client for the control plane with this device's token (and pin).
    pub fn client(&self) -> anyhow::Result<client::Client> {
        Ok(client::Client::pinned(
            &self.server,
            Some(self.device_token.clone()),
            self.certificate_pin.as_deref(),
        )?)
    }
}

impl std::fmt::Debug for DeviceFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceFile")
            .field("server", &self.server)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The tunnel's state, written by `homegate up` for `homegate status`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TunnelStatus {
    pub pid: u32,
    pub interface: String,
    /// `connecting`, `connected`, or `stopped`.
    pub state: String,
    pub gateway: Option<String>,
    pub endpoint: Option<String>,
    pub last_handshake_secs: Option<u64>,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct DeviceFiles {
    dir: PathBuf,
}

impl DeviceFiles {
    pub fn new(dir: PathBuf) -> DeviceFiles {
        DeviceFiles { dir }
    }

    /// `$HOMEGATE_DEVICE_DIR`, else `$XDG_CONFIG_HOME/homegate/device`, else
    /// `~/.config/homegate/device`.
    pub fn default_location() -> anyhow::Result<DeviceFiles> {
        if let Some(dir) = std::env::var_os("HOMEGATE_DEVICE_DIR") {
            return Ok(DeviceFiles::new(PathBuf::from(dir)));
        }
        let base = match std::env::var_os("XDG_CONFIG_HOME") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => {
                PathBuf::from(std::env::var_os("HOME").context("no HOME; set HOMEGATE_DEVICE_DIR")?)
                    .join(".config")
            }
        };
        Ok(DeviceFiles::new(base.join("homegate").join("device")))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.join("device.toml")
    }

    pub fn pid_path(&self) -> PathBuf {
        self.dir.join("tunnel.pid")
    }

    pub fn status_path(&self) -> PathBuf {
        self.dir.join("status.json")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("tunnel.log")
    }

    fn ensure_dir(&self) -> anyhow::Result<()> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))
    }

    pub fn load(&self) -> anyhow::Result<Option<DeviceFile>> {
        let path = self.config_path();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                Ok(Some(toml::from_str(&text).with_context(|| {
                    format!("{} is damaged", path.display())
                })?))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    pub fn require(&self) -> anyhow::Result<DeviceFile> {
        match self.load()? {
            Some(file) => Ok(file),
            None => bail!("this device is not enrolled yet: run `homegate enroll URL --code CODE`"),
        }
    }

    /// Writes `device.toml` atomically with mode 0600.
    pub fn save(&self, file: &DeviceFile) -> anyhow::Result<()> {
        self.ensure_dir()?;
        write_private(&self.config_path(), toml::to_string(file)?.as_bytes())
    }

    pub fn write_status(&self, status: &TunnelStatus) -> anyhow::Result<()> {
        self.ensure_dir()?;
        write_private(
            &self.status_path(),
            serde_json::to_string_pretty(status)?.as_bytes(),
        )
    }

    pub fn read_status(&self) -> Option<TunnelStatus> {
        serde_json::from_str(&std::fs::read_to_string(self.status_path()).ok()?).ok()
    }

    /// The pid of a running tunnel, if its process still exists.
    pub fn running_pid(&self) -> Option<u32> {
        let pid: u32 = std::fs::read_to_string(self.pid_path())
            .ok()?
            .trim()
            .parse()
            .ok()?;
        Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
    }

    pub fn write_pid(&self, pid: u32) -> anyhow::Result<()> {
        self.ensure_dir()?;
        write_private(&self.pid_path(), pid.to_string().as_bytes())
    }

    pub fn clear_runtime(&self) {
        let _ = std::fs::remove_file(self.pid_path());
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let files = DeviceFiles::new(dir.path().join("device"));
        assert!(files.load().unwrap().is_none());
        assert!(files.require().is_err());
        let file = DeviceFile {
            server: "http://cp".into(),
            certificate_pin: None,
            device_token: "hgd_x".into(),
            private_key: "secret".into(),
            config: DeviceConfig {
                device_id: "d".into(),
                device_name: "n".into(),
                tenant: "t".into(),
                tunnel_address: "10.0.0.2".into(),
                gateway: None,
                routes: vec![],
                dns: vec![],
                keepalive_secs: 25,
                control_planes: Vec::new(),
            },
        };
        files.save(&file).unwrap();
        let mode = std::fs::metadata(files.config_path()).unwrap();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
            0o600
        );
        assert_eq!(files.require().unwrap().device_token, "hgd_x");
        assert!(!format!("{file:?}").contains("secret"));
    }
}
