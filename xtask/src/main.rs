//! Project tasks, run as `cargo xtask <task>`.
//!
//! - `test`: the whole test suite (unit, integration on SQLite and
//!   PostgreSQL, end-to-end in network namespaces, browser tests).
//! - `ci`: formatting, lints, then `test`.

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
        _ => {
            eprintln!("usage: cargo xtask <test|lint|ci> [extra cargo test args]");
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

fn test(extra: &[String]) -> anyhow::Result<()> {
    install_node_packages()?;
    install_cargo_deb()?;
    // The gateway and device-client end-to-end tests start the real binary;
    // build it first so their timing does not include compilation.
    run(cargo().args(["build", "--locked", "--bin", "homegate"]))?;
    let mut command = cargo();
    command.args(["test", "--workspace", "--locked"]);
    command.args(extra);
    // End-to-end tests need root (namespaces, TUN); they are #[ignore]d for
    // plain `cargo test` and included here.
    command.args(["--", "--include-ignored"]);
    run(&mut command)
}
