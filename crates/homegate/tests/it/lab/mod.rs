//! A network lab for end-to-end tests: network namespaces joined by veth
//! pairs and a bridge, processes started inside them, all removed when the
//! lab is dropped (also when the test fails).
//!
//! Standard topology (`Lab::standard`), addresses in 198.18.0.0/15:
//!
//! ```text
//!  client c1 (198.18.0.11) ─┐                 ┌─ gateway g1 (198.18.0.1) ── app a1 (198.18.100.10)
//!  client c2 (198.18.0.12) ─┼─ bridge in "net" ┼─ gateway g2 (198.18.0.2) ── app a2 (198.18.100.10)
//!  ...                      ┘  (198.18.0.254: the control plane)
//! ```

pub mod wg;

use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const CONTROL_PLANE: &str = "198.18.0.254";
pub const CONTROL_PLANE_PORT: u16 = 8080;
pub const APP: &str = "198.18.100.10";
const NETPROBE: &str = include_str!("netprobe.py");

static NEXT_LAB: AtomicU32 = AtomicU32::new(0);

/// Fails the test with a clear message when it cannot run here.
pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "end-to-end tests need root (network namespaces, TUN); run `cargo xtask test` as root"
    );
    for tool in ["ip", "wg", "wireguard-go", "python3"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "end-to-end tests need `{tool}` (see .ci/run for the packages)"
        );
    }
}

pub struct Lab {
    /// Short unique prefix of every namespace and interface of this lab.
    pub id: String,
    namespaces: Vec<String>,
    children: Mutex<Vec<(String, Child)>>,
    pub dir: tempfile::TempDir,
    gateways: usize,
}

impl Lab {
    pub fn new() -> Lab {
        require_root();
        let n = NEXT_LAB.fetch_add(1, Ordering::Relaxed);
        let id = format!("hg{:x}{n}", std::process::id() % 0xffff);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("netprobe.py"), NETPROBE).unwrap();
        Lab {
            id,
            namespaces: Vec::new(),
            children: Mutex::new(Vec::new()),
            dir,
            gateways: 0,
        }
    }

    /// The namespace name of a role (`net`, `g1`, `a1`, `c1`, ...).
    pub fn ns(&self, role: &str) -> String {
        format!("{}-{role}", self.id)
    }

    pub fn netprobe(&self) -> PathBuf {
        self.dir.path().join("netprobe.py")
    }

    fn add_ns(&mut self, role: &str) {
        let name = self.ns(role);
        sh(&["ip", "netns", "add", &name]);
        self.namespaces.push(name);
        self.exec(role, &["ip", "link", "set", "lo", "up"]);
    }

    /// A command run inside the namespace of `role`.
    pub fn command(&self, role: &str, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.ns(role), program]);
        command
    }

    /// Runs a command in a namespace; panics with its output if it fails.
    pub fn exec(&self, role: &str, args: &[&str]) -> String {
        let output = self
            .command(role, args[0])
            .args(&args[1..])
            .output()
            .unwrap();
        check(&output, &format!("[{role}] {}", args.join(" ")));
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs a command in a namespace and returns whether it succeeded.
    pub fn try_exec(&self, role: &str, args: &[&str]) -> bool {
        self.command(role, args[0])
            .args(&args[1..])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Starts a long-running process in a namespace; it is killed with the lab.
    pub fn spawn(&self, role: &str, name: &str, args: &[&str], log: Option<&Path>) -> u32 {
        let mut command = self.command(role, args[0]);
        command.args(&args[1..]).stdin(Stdio::null());
        match log {
            Some(path) => {
                let file = std::fs::File::create(path).unwrap();
                command.stdout(file.try_clone().unwrap()).stderr(file);
            }
            None => {
                command.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        let child = command.spawn().unwrap();
        let pid = child.id();
        self.children
            .lock()
            .unwrap()
            .push((format!("{role}/{name}"), child));
        pid
    }

    /// A veth pair: `a_if` in `a`, `b_if` in `b`.
    pub fn veth(&self, a: &str, a_if: &str, b: &str, b_if: &str) {
        self.exec(
            a,
            &[
                "ip",
                "link",
                "add",
                a_if,
                "type",
                "veth",
                "peer",
                "name",
                b_if,
                "netns",
                &self.ns(b),
            ],
        );
        self.exec(a, &["ip", "link", "set", a_if, "up"]);
        self.exec(b, &["ip", "link", "set", b_if, "up"]);
    }

    pub fn address(&self, role: &str, interface: &str, cidr: &str) {
        self.exec(role, &["ip", "addr", "add", cidr, "dev", interface]);
    }

    /// The standard topology with `gateways` gateways (each with its own
    /// application host) and `clients` client hosts.
    pub fn standard(gateways: usize, clients: usize) -> Lab {
        let mut lab = Lab::new();
        lab.gateways = gateways;
        lab.add_ns("net");
        lab.exec("net", &["ip", "link", "add", "br0", "type", "bridge"]);
        lab.exec("net", &["ip", "link", "set", "br0", "up"]);
        lab.address("net", "br0", &format!("{CONTROL_PLANE}/24"));
        for g in 1..=gateways {
            let role = format!("g{g}");
            lab.add_ns(&role);
            lab.attach_to_bridge(&role, &format!("198.18.0.{g}/24"));
            let app = format!("a{g}");
            lab.add_ns(&app);
            lab.veth(&role, "app0", &app, "eth0");
            lab.address(&role, "app0", "198.18.100.1/24");
            lab.address(&app, "eth0", &format!("{APP}/24"));
            lab.exec(
                &app,
                &["ip", "route", "add", "default", "via", "198.18.100.1"],
            );
        }
        for c in 1..=clients {
            let role = format!("c{c}");
            lab.add_ns(&role);
            lab.attach_to_bridge(&role, &format!("198.18.0.{}/24", 10 + c));
        }
        lab
    }

    fn attach_to_bridge(&self, role: &str, cidr: &str) {
        let port = format!("v{role}");
        self.veth(role, "eth0", "net", &port);
        self.exec("net", &["ip", "link", "set", &port, "master", "br0"]);
        self.address(role, "eth0", cidr);
    }

    /// Starts the echo servers on the application hosts.
    pub fn start_apps(&self, ports: &[u16]) {
        let probe = self.netprobe().display().to_string();
        for g in 1..=self.gateways {
            let role = format!("a{g}");
            let mut args = vec!["python3".to_owned(), probe.clone(), "serve".to_owned()];
            args.extend(ports.iter().map(u16::to_string));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            self.spawn(&role, "echo", &args, None);
        }
        for g in 1..=self.gateways {
            let role = format!("a{g}");
            let port = ports[0].to_string();
            wait_until(Duration::from_secs(10), || {
                self.try_exec(
                    &role,
                    &["python3", &probe, "tcp", "127.0.0.1", &port, "0.5"],
                )
            })
            .unwrap_or_else(|| panic!("echo server on {role} did not start"));
        }
    }

    /// TCP echo round trip from `role` to `host:port`.
    pub fn tcp(&self, role: &str, host: &str, port: u16) -> bool {
        let probe = self.netprobe().display().to_string();
        self.try_exec(
            role,
            &["python3", &probe, "tcp", host, &port.to_string(), "1.0"],
        )
    }

    /// `megabytes` of random data through a TCP echo at `host:port` and back,
    /// compared; prints what went wrong.
    pub fn bulk(&self, role: &str, host: &str, port: u16, megabytes: u32) -> bool {
        let probe = self.netprobe().display().to_string();
        let output = self
            .command(role, "python3")
            .args([
                &probe,
                "bulk",
                host,
                &port.to_string(),
                &megabytes.to_string(),
            ])
            .output()
            .unwrap();
        if !output.status.success() {
            eprintln!(
                "bulk transfer failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        output.status.success()
    }

    /// UDP echo round trip from `role` to `host:port`.
    pub fn udp(&self, role: &str, host: &str, port: u16) -> bool {
        let probe = self.netprobe().display().to_string();
        self.try_exec(
            role,
            &["python3", &probe, "udp", host, &port.to_string(), "1.0"],
        )
    }

    /// Starts a UDP ping stream in the background; [`Stream::finish`] waits
    /// for its result.
    pub fn stream(&self, role: &str, host: &str, port: u16, seconds: f64) -> Stream {
        let probe = self.netprobe().display().to_string();
        let child = self
            .command(role, "python3")
            .args([
                &probe,
                "stream",
                host,
                &port.to_string(),
                &seconds.to_string(),
                "20",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Stream { child: Some(child) }
    }

    /// Starts `homegate gateway` in `g{index}`; returns its pid.
    pub fn start_gateway(&self, index: usize, token: &str) -> u32 {
        let url = format!("http://{CONTROL_PLANE}:{CONTROL_PLANE_PORT}");
        self.start_gateway_with(index, token, &[url])
    }

    /// Starts `homegate gateway` in `g{index}`, failing over between the
    /// control planes at `urls`; returns its pid.
    pub fn start_gateway_with(&self, index: usize, token: &str, urls: &[String]) -> u32 {
        let endpoint = format!("198.18.0.{index}:51820");
        self.start_gateway_at(index, token, urls, &endpoint)
    }

    /// The gateway's state folder (its private key lives there).
    pub fn gateway_state(&self, index: usize) -> PathBuf {
        self.dir.path().join(format!("g{index}-state"))
    }

    /// Starts `homegate gateway` in `g{index}` announcing `endpoint` to
    /// devices; returns its pid.
    pub fn start_gateway_at(
        &self,
        index: usize,
        token: &str,
        urls: &[String],
        endpoint: &str,
    ) -> u32 {
        let role = format!("g{index}");
        let log = self.dir.path().join(format!("{role}.log"));
        let state = self.gateway_state(index).display().to_string();
        // The token travels in the environment, as docs/gateway.md says.
        let token = format!("HOMEGATE_GATEWAY_TOKEN={token}");
        let mut args = vec![
            "env",
            "RUST_LOG=info,gotatun=warn",
            &token,
            env!("CARGO_BIN_EXE_homegate"),
            "gateway",
            "--state-dir",
            &state,
            "--endpoint",
            endpoint,
            "--metrics-listen",
            "127.0.0.1:9586",
        ];
        for url in urls {
            args.extend(["--control-plane", url.as_str()]);
        }
        self.spawn(&role, "gateway", &args, Some(&log))
    }

    /// Starts `g{index}` the way the Debian package does: the command line
    /// of `deploy/debian/homegate-gateway.service` (binary and state folder
    /// moved into the lab), with the settings of its packaged
    /// `gateway.env` filled in. Returns its pid.
    pub fn start_packaged_gateway(&self, index: usize, token: &str, urls: &[String]) -> u32 {
        let role = format!("g{index}");
        let log = self.dir.path().join(format!("{role}.log"));
        let state = self.gateway_state(index).display().to_string();
        let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/debian");
        let unit = std::fs::read_to_string(deploy.join("homegate-gateway.service")).unwrap();
        let exec_start = unit
            .lines()
            .find_map(|line| line.strip_prefix("ExecStart="))
            .expect("the gateway unit has an ExecStart");
        let settings = [
            ("HOMEGATE_CONTROL_PLANE", urls.join(",")),
            ("HOMEGATE_GATEWAY_TOKEN", token.to_owned()),
            ("HOMEGATE_ENDPOINT", format!("198.18.0.{index}:51820")),
            ("HOMEGATE_METRICS_LISTEN", "127.0.0.1:9586".to_owned()),
        ];
        let packaged = std::fs::read_to_string(deploy.join("gateway.env")).unwrap();
        let mut environment = vec!["RUST_LOG=info,gotatun=warn".to_owned()];
        for (name, value) in &settings {
            assert!(
                packaged.contains(&format!("{name}=")),
                "gateway.env documents {name}"
            );
            environment.push(format!("{name}={value}"));
        }
        let command_line: Vec<String> = exec_start
            .split_whitespace()
            .map(|word| match word {
                "/usr/bin/homegate" => env!("CARGO_BIN_EXE_homegate").to_owned(),
                "/var/lib/homegate-gateway" => state.clone(),
                other => other.to_owned(),
            })
            .collect();
        let mut args = vec!["env"];
        args.extend(environment.iter().map(String::as_str));
        args.extend(command_line.iter().map(String::as_str));
        self.spawn(&role, "gateway", &args, Some(&log))
    }

    pub fn gateway_log(&self, index: usize) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("g{index}.log"))).unwrap_or_default()
    }

    /// The gateway's Prometheus metrics as `(name{labels}, value)` lines.
    pub fn gateway_metric(&self, index: usize, name: &str) -> f64 {
        let role = format!("g{index}");
        let output = self
            .command(&role, "curl")
            .args(["-sf", "http://127.0.0.1:9586/metrics"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter(|line| {
                line.split(['{', ' '])
                    .next()
                    .is_some_and(|metric| metric == name)
            })
            .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// The HTTP status of `path` on the gateway's metrics listener (`/healthz`,
    /// `/readyz`); `None` while nothing answers.
    pub fn gateway_http_status(&self, index: usize, path: &str) -> Option<u16> {
        let role = format!("g{index}");
        let output = self
            .command(&role, "curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
            .arg(format!("http://127.0.0.1:9586{path}"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|code| *code != 0)
    }

    pub fn gateways(&self) -> usize {
        self.gateways
    }

    /// `/etc/hosts` as programs in `role` see it (`ip netns exec` mounts
    /// `/etc/netns/NAME/hosts` over it): how names resolve in the lab.
    pub fn set_hosts(&self, role: &str, lines: &str) {
        let dir = PathBuf::from("/etc/netns").join(self.ns(role));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("hosts"), format!("127.0.0.1 localhost\n{lines}\n")).unwrap();
    }
}

pub struct Stream {
    child: Option<Child>,
}

#[derive(Debug, serde::Deserialize)]
pub struct StreamResult {
    pub sent: u64,
    pub received: u64,
    pub max_gap_ms: f64,
}

impl Stream {
    pub fn finish(mut self) -> StreamResult {
        let child = self.child.take().unwrap();
        let output = child.wait_with_output().unwrap();
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "stream probe printed no result ({e}): {}",
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (_, mut child) in self.children.lock().unwrap().drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
        for namespace in self.namespaces.iter().rev() {
            // Anything still running in it (daemonized helpers) goes too.
            if let Ok(output) = Command::new("ip")
                .args(["netns", "pids", namespace])
                .output()
            {
                for pid in String::from_utf8_lossy(&output.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).status();
                }
            }
            let _ = Command::new("ip")
                .args(["netns", "del", namespace])
                .status();
            let _ = std::fs::remove_dir_all(PathBuf::from("/etc/netns").join(namespace));
        }
        wg::remove_sockets(&self.id);
    }
}

fn sh(args: &[&str]) {
    let output = Command::new(args[0]).args(&args[1..]).output().unwrap();
    check(&output, &args.join(" "));
}

fn check(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Polls `condition` until it holds; returns how long that took.
pub fn wait_until(limit: Duration, mut condition: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if condition() {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A TCP listener bound inside a network namespace (the socket stays in the
/// namespace it was made in, whichever thread uses it later).
pub fn listen_in_netns(namespace: &str, addr: SocketAddr) -> std::net::TcpListener {
    let path = format!("/run/netns/{namespace}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap();
        nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let listener = std::net::TcpListener::bind(addr).unwrap();
        listener.set_nonblocking(true).unwrap();
        listener
    })
    .join()
    .unwrap()
}

/// Forwards TCP connections made to `from` inside `namespace` to `to` in
/// the test's own namespace (a control-plane replica started by the test).
/// When `to` goes away, connections through the relay close as they would to
/// the dead process itself. Runs until the returned task is aborted.
pub fn relay(namespace: &str, from: SocketAddr, to: SocketAddr) -> tokio::task::JoinHandle<()> {
    let listener = tokio::net::TcpListener::from_std(listen_in_netns(namespace, from)).unwrap();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(to).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    })
}
