//! The device client in the `homegate` binary: `enroll`, `up`, `down`,
//! `status`, `export-config`.
//!
//! The key pair is made here and the private key never leaves the device.
//! Everything the client knows lives in one folder (mode 0700):
//! `device.toml` (0600: control plane, device token, private key, last
//! configuration) and, while the tunnel is up, `tunnel.pid` and
//! `status.json`.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod bundle;
pub mod control_planes;
pub mod files;
pub mod tunnel;

use std::path::Path;

use anyhow::{Context, bail};
use api_types::enrollment::{DeviceConfig, EnrollRequest, wg_quick};
use api_types::tenancy::DeviceKind;
use base64::Engine;
use client::Client;

use crate::files::{DeviceFile, DeviceFiles};

/// A fresh WireGuard key pair `(private, public)`, base64.
pub fn generate_keys() -> (String, String) {
    let secret = x25519_dalek::StaticSecret::random();
    let public = x25519_dalek::PublicKey::from(&secret);
    let encode = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    (encode(&secret.to_bytes()), encode(public.as_bytes()))
}

/// Whether plain http to a control plane on another machine is allowed
/// (`--insecure-http`): the enrollment code and the device token would
/// cross the network unencrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlainHttp {
    Refuse,
    Allow,
}

/// Refuses a plain-http control plane that is not on this machine, unless
/// allowed.
pub fn check_transport(server: &str, plain_http: PlainHttp) -> anyhow::Result<()> {
    let plain = server
        .split_once("://")
        .is_some_and(|(scheme, _)| scheme.eq_ignore_ascii_case("http"));
    if plain && plain_http == PlainHttp::Refuse && !api_types::public_url::is_loopback(server) {
        bail!(
            "refusing plain http to {server}: the enrollment code and this device's token would \
             cross the network unencrypted; ask for the https address, or pass --insecure-http \
             if this network is trusted"
        );
    }
    Ok(())
}

/// Enrolls this device with a one-time code and stores its configuration.
pub async fn enroll(
    files: &DeviceFiles,
    server: &str,
    code: &str,
    name: Option<String>,
    kind: Option<DeviceKind>,
    plain_http: PlainHttp,
) -> anyhow::Result<DeviceFile> {
    enroll_pinned(files, server, None, code, name, kind, plain_http).await
}

async fn enroll_pinned(
    files: &DeviceFiles,
    server: &str,
    certificate_pin: Option<&str>,
    code: &str,
    name: Option<String>,
    kind: Option<DeviceKind>,
    plain_http: PlainHttp,
) -> anyhow::Result<DeviceFile> {
    check_transport(server, plain_http)?;
    if files.load()?.is_some() {
        bail!(
            "this device is already enrolled ({}); run `homegate down` and delete it to enroll again",
            files.config_path().display()
        );
    }
    let (private_key, public_key) = generate_keys();
    let client = Client::pinned(server, None, certificate_pin)?;
    let response = client
        .enroll(&EnrollRequest {
            code: code.to_owned(),
            public_key,
            name,
            kind,
        })
        .await
        .context("enrollment failed")?;
    let file = DeviceFile {
        server: server.trim_end_matches('/').to_owned(),
        certificate_pin: certificate_pin.map(str::to_owned),
        device_token: response.device_token,
        private_key,
        config: response.config,
    };
    files.save(&file)?;
    Ok(file)
}

/// Enrolls a home-office stick from its bundle.
pub async fn enroll_bundle(
    files: &DeviceFiles,
    bundle: &bundle::Bundle,
    name: Option<String>,
    plain_http: PlainHttp,
) -> anyhow::Result<DeviceFile> {
    enroll_pinned(
        files,
        &bundle.control_plane,
        bundle.certificate_pin.as_deref(),
        &bundle.token,
        name,
        Some(DeviceKind::Stick),
        plain_http,
    )
    .await
}

/// Refreshes the stored configuration from the control plane.
pub async fn refresh(files: &DeviceFiles) -> anyhow::Result<DeviceFile> {
    let mut file = files.require()?;
    let mut control_planes = control_planes::ControlPlanes::of(&file)?;
    file.config = control_planes
        .ask(|client| async move { client.device_config().await })
        .await?;
    files.save(&file)?;
    Ok(file)
}

/// Writes the device's configuration as a wg-quick file.
pub fn export_config(files: &DeviceFiles, out: &Path) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let file = files.require()?;
    if file.config.gateway.is_none() {
        bail!("no gateway is assigned yet; run `homegate status` and try again later");
    }
    let text = wg_quick(&file.private_key, &file.config);
    let mut output = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(out)
        .with_context(|| format!("cannot write {}", out.display()))?;
    output.write_all(text.as_bytes())?;
    Ok(())
}

pub fn describe(config: &DeviceConfig) -> String {
    format!(
        "device {} ({}) in {}, tunnel address {}, gateway {}",
        config.device_name,
        config.device_id,
        config.tenant,
        config.tunnel_address,
        config.gateway.as_ref().map_or_else(
            || "none yet".to_owned(),
            |g| format!("{} at {}", g.name, g.endpoint)
        )
    )
}
