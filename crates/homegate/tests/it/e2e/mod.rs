//! End-to-end tests in network namespaces: the real control plane
//! (in-process, listening inside the lab), real `homegate gateway`
//! processes, and Debian's wireguard-go + wg as the devices.

mod enrollment;
mod failover;
mod gateway;
mod health;
mod quota;
mod region_name;
mod replicas;
mod sticks;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use api_types::Role;
use api_types::infra::{CreateGateway, CreateRegion};
use api_types::tenancy::{
    CreateAccessRule, CreateApplication, CreateDevice, CreateGroup, Device, DeviceKind, Protocol,
};

use crate::lab::{CONTROL_PLANE, CONTROL_PLANE_PORT, Lab, wait_until};
use crate::support::{Backend, TestServer};

/// Runs blocking lab work on a test's async task.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// Runs the device client (`homegate …`) in the lab host `role`, with its
/// files in `dir`.
pub fn device_cli(lab: &Lab, role: &str, dir: &Path, args: &[&str]) -> Output {
    lab.command(role, env!("CARGO_BIN_EXE_homegate"))
        .args(args)
        .arg("--device-dir")
        .arg(dir)
        .env("RUST_LOG", "info")
        .output()
        .unwrap()
}

/// The stdout of a command that must succeed.
pub fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub struct Fixture {
    pub lab: Lab,
    pub server: TestServer,
    /// Public keys of the gateways, by index (1-based in names).
    pub gateway_keys: Vec<String>,
    /// Process ids of the gateways, by index.
    pub gateway_pids: Vec<u32>,
}

impl Fixture {
    /// `gateways` gateways in region "south".
    pub async fn start(gateways: usize, clients: usize) -> Fixture {
        Fixture::start_in_regions(&vec!["south"; gateways], clients).await
    }

    /// One gateway per entry of `regions`, in that region.
    pub async fn start_in_regions(regions: &[&str], clients: usize) -> Fixture {
        let gateways = regions.len();
        let lab = blocking(|| Lab::standard(gateways, clients));
        let mut server = TestServer::start(Backend::Sqlite).await;
        let addr: SocketAddr = format!("{CONTROL_PLANE}:{CONTROL_PLANE_PORT}")
            .parse()
            .unwrap();
        server.listen_in_netns(&lab.ns("net"), addr);
        let mut made = std::collections::BTreeSet::new();
        for region in regions {
            if made.insert(*region) {
                server
                    .admin
                    .create_region(&CreateRegion {
                        name: (*region).into(),
                        description: None,
                    })
                    .await
                    .unwrap();
            }
        }
        let mut gateway_keys = Vec::new();
        let mut gateway_pids = Vec::new();
        for (g, region) in (1..=gateways).zip(regions) {
            let created = server
                .admin
                .create_gateway(&CreateGateway {
                    name: format!("g{g}"),
                    region: (*region).into(),
                    endpoint: Some(format!("198.18.0.{g}:51820")),
                })
                .await
                .unwrap();
            gateway_pids.push(blocking(|| lab.start_gateway(g, &created.token)));
        }
        for g in 1..=gateways {
            let name = format!("g{g}");
            let mut key = None;
            for _ in 0..200 {
                let gateway = server
                    .admin
                    .list_gateways()
                    .await
                    .unwrap()
                    .into_iter()
                    .find(|gw| gw.name == name)
                    .unwrap();
                if gateway.public_key.is_some() && Fixture::applied(&lab, g) > 0.0 {
                    key = gateway.public_key;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let key = key.unwrap_or_else(|| {
                panic!("gateway {name} did not come up:\n{}", lab.gateway_log(g))
            });
            gateway_keys.push(key);
        }
        Fixture {
            lab,
            server,
            gateway_keys,
            gateway_pids,
        }
    }

    /// The config version gateway `g` has applied.
    pub fn applied(lab: &Lab, g: usize) -> f64 {
        lab.gateway_metric(g, "homegate_gateway_config_version")
    }

    /// Waits until every gateway applied at least the current config version;
    /// returns how long that took.
    pub fn wait_applied(&self) -> Duration {
        let version = *self.server.store.watch_config_version().borrow() as f64;
        let lab = &self.lab;
        blocking(|| {
            wait_until(Duration::from_secs(10), || {
                (1..=lab.gateways()).all(|g| Fixture::applied(lab, g) >= version)
            })
        })
        .unwrap_or_else(|| {
            panic!(
                "gateways did not apply version {version}:\n{}",
                lab.gateway_log(1)
            )
        })
    }

    pub async fn stop(self) {
        let Fixture { lab, server, .. } = self;
        drop(lab);
        server.stop().await;
    }
}

/// A tenant with one group whose members reach the given applications.
pub async fn tenant_with_apps(
    server: &TestServer,
    slug: &str,
    pool: &str,
    group: &str,
    members: &[&str],
    apps: &[(&str, Protocol, u16)],
) {
    server.tenant(slug, pool).await;
    let admin = &server.admin;
    admin
        .create_group(
            slug,
            &CreateGroup {
                name: group.into(),
                description: None,
            },
        )
        .await
        .unwrap();
    for member in members {
        admin
            .create_user(
                slug,
                &api_types::tenancy::CreateUser {
                    username: (*member).into(),
                    display_name: None,
                    email: None,
                    role: Role::Employee,
                    password: None,
                    language: None,
                },
            )
            .await
            .unwrap();
        admin.add_group_member(slug, group, member).await.unwrap();
    }
    for (name, protocol, port) in apps {
        admin
            .create_application(
                slug,
                &CreateApplication {
                    name: (*name).into(),
                    description: None,
                    cidr: format!("{}/32", crate::lab::APP),
                    protocol: *protocol,
                    ports: vec![port.to_string()],
                    web_upstream: None,
                },
            )
            .await
            .unwrap();
        admin
            .create_access_rule(
                slug,
                &CreateAccessRule {
                    group: group.into(),
                    application: (*name).into(),
                },
            )
            .await
            .unwrap();
    }
}

pub async fn device(
    server: &TestServer,
    tenant: &str,
    owner: &str,
    name: &str,
    public_key: &str,
) -> Device {
    server
        .admin
        .create_device(
            tenant,
            &CreateDevice {
                name: name.into(),
                owner: Some(owner.into()),
                kind: DeviceKind::Laptop,
                public_key: public_key.into(),
            },
        )
        .await
        .unwrap()
}

/// Port of the UDP echo the failover tests stream through.
pub const ECHO: u16 = 7000;

/// Tenant "lemgo" in region "south" whose group "office" reaches a UDP echo
/// application, and its employee anna in that group, logged in.
pub async fn lemgo_in_south_with_anna(server: &TestServer) -> client::Client {
    tenant_with_apps(
        server,
        "lemgo",
        "10.20.0.0/16",
        "office",
        &[],
        &[("echo", Protocol::Udp, ECHO)],
    )
    .await;
    let admin = &server.admin;
    admin
        .update_tenant(
            "lemgo",
            &api_types::tenancy::UpdateTenant {
                name: None,
                default_language: None,
                region: Some(Some("south".into())),
            },
        )
        .await
        .unwrap();
    let anna = server.login_as(Some("lemgo"), "anna", Role::Employee).await;
    admin
        .add_group_member("lemgo", "office", "anna")
        .await
        .unwrap();
    anna
}

/// Waits until the control plane counts `gateway` as healthy; its public key.
pub async fn wait_healthy(admin: &client::Client, gateway: &str) -> Option<String> {
    for _ in 0..200 {
        if let Ok(found) = admin.get_gateway(gateway).await
            && found.healthy
        {
            return found.public_key;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}
