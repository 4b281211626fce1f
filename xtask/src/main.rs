//! Project tasks, run as `cargo xtask <task>`.
//!
//! - `test`: the whole test suite (unit, integration on SQLite and
//!   PostgreSQL, end-to-end in network namespaces, browser tests). It sets
//!   the machine up first: as root it installs the Debian packages of
//!   `.ci/packages.txt` that are missing and starts PostgreSQL; otherwise it
//!   names each missing piece in one line and runs the tests that do not
//!   need it.
//! - `ci`: formatting, lints, then `test`.
//! - `setup`: only the machine setup of `test`.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::Command;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let task = args.first().map(String::as_str).unwrap_or("help");
    let rest = &args.get(1..).unwrap_or(&[]);
    match task {
        "test" => test(rest),
        "ci" => {
            lint()?;
            test(rest)
        }
        "lint" => lint(),
        "setup" => setup().map(|_| ()),
        _ => {
            eprintln!("usage: cargo xtask <test|lint|ci|setup> [extra cargo test args]");
            Ok(())
        }
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

fn run(command: &mut Command) -> anyhow::Result<()> {
    eprintln!("$ {command:?}");
    let status = command
        .status()
        .with_context(|| format!("cannot run {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}

fn lint() -> anyhow::Result<()> {
    run(cargo().args(["fmt", "--all", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))
}

/// Node.js packages the tests need (a real OpenID Connect provider,
/// Playwright for browser tests), installed from their lock files.
fn install_node_packages() -> anyhow::Result<()> {
    for dir in ["crates/homegate/tests/it/oidc"] {
        if !std::path::Path::new(dir).join("node_modules").exists() {
            run(Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--prefix", dir]))?;
        }
    }
    Ok(())
}

/// The cargo-deb the Debian package test builds with (pinned; installed
/// once into Cargo's bin folder, then reused).
const CARGO_DEB_VERSION: &str = "3.8.0";

fn install_cargo_deb() -> anyhow::Result<()> {
    let installed = cargo()
        .args(["deb", "--version"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
        .unwrap_or_default();
    if !installed.contains(CARGO_DEB_VERSION) {
        run(cargo().args([
            "install",
            "cargo-deb",
            "--version",
            CARGO_DEB_VERSION,
            "--locked",
        ]))?;
    }
    Ok(())
}

/// The Debian packages the tests need, from `.ci/packages.txt`.
fn packages() -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(".ci/packages.txt")
        .context("cannot read .ci/packages.txt (run from the repository root)")?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|output| {
            String::from_utf8_lossy(&output.stdout).contains("install ok installed")
        })
}

fn has_command(name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|output| output.status.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn postgres_answers() -> bool {
    Command::new("psql")
        .args([POSTGRES_URL, "-Atc", "select 1"])
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Starts the machine's PostgreSQL cluster if it is down, and lets the
/// tests connect as postgres over loopback without a password.
fn start_postgres() -> anyhow::Result<()> {
    let ready = || {
        Command::new("pg_isready")
            .args(["-q", "-h", "127.0.0.1", "-p", "5432"])
            .status()
            .is_ok_and(|status| status.success())
    };
    if !ready() {
        let mut versions: Vec<String> = std::fs::read_dir("/etc/postgresql")
            .context("no PostgreSQL cluster found in /etc/postgresql")?
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .collect();
        versions.sort_by_key(|v| v.parse::<u32>().unwrap_or(0));
        let version = versions.last().context("no PostgreSQL cluster found")?;
        let _ = Command::new("pg_ctlcluster")
            .args(["--skip-systemctl-redirect", version, "main", "start"])
            .status();
        for _ in 0..30 {
            if ready() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
    if !postgres_answers() {
        let hba = Command::new("runuser")
            .args(["-u", "postgres", "--", "psql", "-Atc", "show hba_file"])
            .output()
            .context("cannot ask PostgreSQL for its hba file")?;
        let hba = String::from_utf8_lossy(&hba.stdout).trim().to_owned();
        run(Command::new("sed").args(["-i", "1i host all postgres 127.0.0.1/32 trust", &hba]))?;
        run(Command::new("runuser").args([
            "-u",
            "postgres",
            "--",
            "psql",
            "-Atc",
            "select pg_reload_conf()",
        ]))?;
    }
    Ok(())
}

/// What the test run must leave out on this machine, as `--skip` filters.
struct Setup {
    skip: Vec<&'static str>,
    root: bool,
}

/// Installs and starts what the tests need (as root), or says in one line
/// per missing piece what to run and which tests are left out.
fn setup() -> anyhow::Result<Setup> {
    let root = is_root();
    let mut missing: Vec<String> = packages()?
        .into_iter()
        .filter(|package| !installed(package))
        .collect();
    // Node.js may come from another repository with npm bundled.
    for (command, package) in [("node", "nodejs"), ("npm", "npm")] {
        if !has_command(command) {
            missing.push(package.to_owned());
        }
    }
    if root && !missing.is_empty() {
        eprintln!("installing: {}", missing.join(" "));
        run(Command::new("apt-get")
            .args(["update", "-q"])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
        missing.clear();
    }
    if root {
        start_postgres()?;
    }
    let mut skip = Vec::new();
    for package in &missing {
        eprintln!(
            "missing: {package} (run: sudo apt-get install {package}); its tests are skipped"
        );
    }
    let lacks = |package: &str| missing.iter().any(|m| m == package);
    if lacks("chromium") || lacks("chromium-driver") {
        skip.push("browser::");
    }
    if lacks("npm") || lacks("nodejs") {
        skip.push("oidc");
    }
    if lacks("prometheus") {
        skip.push("ops::prometheus_rules");
    }
    if lacks("python3-venv") {
        skip.push("openapi_contract");
    }
    if !postgres_answers() {
        eprintln!(
            "missing: PostgreSQL on 127.0.0.1:5432 with trust for postgres (run: sudo cargo xtask test, \
             or set HOMEGATE_TEST_POSTGRES); its tests are skipped"
        );
        skip.extend(["postgres", "on_postgres", "replicas", "pg_dump"]);
    }
    if !root {
        eprintln!(
            "missing: root (end-to-end tests in network namespaces, the Debian package test; \
             run: sudo cargo xtask test); they are skipped"
        );
    }
    Ok(Setup { skip, root })
}

fn test(extra: &[String]) -> anyhow::Result<()> {
    let setup = setup()?;
    if !setup.skip.contains(&"oidc") {
        install_node_packages()?;
    }
    if setup.root {
        install_cargo_deb()?;
    }
    // The gateway and device-client end-to-end tests start the real binary;
    // build it first so their timing does not include compilation.
    run(cargo().args(["build", "--locked", "--bin", "homegate"]))?;
    let mut command = cargo();
    command.args(["test", "--workspace", "--locked"]);
    command.args(extra);
    if std::env::var_os("HOMEGATE_TEST_POSTGRES").is_none() {
        command.env("HOMEGATE_TEST_POSTGRES", POSTGRES_URL);
    }
    command.arg("--");
    // End-to-end tests need root (namespaces, TUN); they are #[ignore]d for
    // plain `cargo test` and included here.
    if setup.root {
        command.arg("--include-ignored");
    }
    for filter in &setup.skip {
        command.args(["--skip", filter]);
    }
    run(&mut command)
}
