//! The host side of the data plane: the TUN interface, routes of the
//! tenants' address pools through it, and IP forwarding.
//!
//! Routes are set with iproute2's `ip`, like wg-quick does; it is on every
//! Linux host that can run a gateway.

use std::process::Command;

use anyhow::{Context, bail};
use gotatun::tun::tun_async_device::TunDevice;
use ipnet::IpNet;

pub const DEFAULT_MTU: u16 = 1420;

/// Creates (or takes over) the TUN interface and brings it up.
pub fn create_tun(name: &str, mtu: u16) -> anyhow::Result<TunDevice> {
    let mut config = gotatun::tun::tun::Configuration::default();
    config.tun_name(name).mtu(mtu).up();
    let device = gotatun::tun::tun::create_as_async(&config).with_context(|| {
        format!("cannot create TUN interface {name} (needs CAP_NET_ADMIN and /dev/net/tun)")
    })?;
    TunDevice::from_tun_device(device).context("cannot use the TUN interface")
}

fn ip(args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .context("cannot run `ip` (install iproute2)")?;
    if !output.status.success() {
        bail!(
            "ip {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Routes `pool` into the TUN interface, so replies to devices reach us.
pub fn add_route(interface: &str, pool: &IpNet) -> anyhow::Result<()> {
    let family = if pool.addr().is_ipv4() { "-4" } else { "-6" };
    ip(&[
        family,
        "route",
        "replace",
        &pool.to_string(),
        "dev",
        interface,
    ])
}

pub fn remove_route(interface: &str, pool: &IpNet) -> anyhow::Result<()> {
    let family = if pool.addr().is_ipv4() { "-4" } else { "-6" };
    ip(&[family, "route", "del", &pool.to_string(), "dev", interface])
}

/// Devices' packets leave through the host's routes: forwarding must be on.
pub fn enable_forwarding() -> anyhow::Result<()> {
    for path in [
        "/proc/sys/net/ipv4/ip_forward",
        "/proc/sys/net/ipv6/conf/all/forwarding",
    ] {
        let current = std::fs::read_to_string(path).unwrap_or_default();
        if current.trim() != "1" {
            std::fs::write(path, "1").with_context(|| {
                format!("cannot enable forwarding ({path}); run as root or set it yourself")
            })?;
        }
    }
    Ok(())
}
