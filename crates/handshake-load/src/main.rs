//! `handshake-load`: WireGuard handshakes against a gateway, for benchmarks
//! (see bench/scale.py and BENCHMARKS.md).

#![allow(clippy::print_stdout)]

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use handshake_load::{Load, PhaseReport, decode_key, key_pair};

#[derive(Parser)]
#[command(about = "WireGuard handshake load for gateway benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print COUNT key pairs, one "private public" line each.
    Keygen { count: usize },
    /// Admit every device once, then handshake back to back; print JSON.
    Run {
        /// The gateway's ip:port.
        #[arg(long)]
        gateway: SocketAddr,
        /// The gateway's public key (base64).
        #[arg(long)]
        gateway_key: String,
        /// File of "private public" lines (from `keygen`).
        #[arg(long)]
        keys: std::path::PathBuf,
        /// Source addresses to send from (already on an interface), comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        sources: Vec<IpAddr>,
        /// Seconds of sustained handshakes.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Initiations prepared per device.
        #[arg(long, default_value_t = 250)]
        per_device: usize,
        /// Milliseconds a device waits at least between its initiations.
        #[arg(long, default_value_t = 50)]
        min_interval_ms: u64,
        /// Milliseconds a device waits for an answer before its next initiation.
        #[arg(long, default_value_t = 1000)]
        retry_ms: u64,
        /// Seconds the first phase (every device admitted once) may take.
        #[arg(long, default_value_t = 60)]
        admit_limit_secs: u64,
    },
}

fn summary(report: &PhaseReport) -> serde_json::Value {
    let ms = |q| report.quantile(q).map(|d| d.as_secs_f64() * 1000.0);
    serde_json::json!({
        "answered": report.answered,
        "cookies": report.cookies,
        "lost": report.lost,
        "exhausted": report.exhausted,
        "seconds": report.elapsed.as_secs_f64(),
        "per_second": report.per_second(),
        "p50_ms": ms(0.5),
        "p99_ms": ms(0.99),
        "max_ms": ms(1.0),
    })
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Keygen { count } => {
            for _ in 0..count {
                let (private, public) = key_pair();
                println!("{private} {public}");
            }
        }
        Command::Run {
            gateway,
            gateway_key,
            keys,
            sources,
            seconds,
            per_device,
            min_interval_ms,
            retry_ms,
            admit_limit_secs,
        } => {
            let text = std::fs::read_to_string(&keys)
                .with_context(|| format!("cannot read {}", keys.display()))?;
            let device_keys = text
                .lines()
                .filter_map(|line| line.split_whitespace().next())
                .map(decode_key)
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut load = Load::prepare(
                gateway,
                &decode_key(&gateway_key)?,
                &device_keys,
                &sources,
                per_device,
            )?;
            load.min_interval = Duration::from_millis(min_interval_ms);
            load.retry_after = Duration::from_millis(retry_ms);
            let admitted = load.admit(Duration::from_secs(admit_limit_secs));
            let sustained = load.sustain(Duration::from_secs(seconds));
            let result = serde_json::json!({
                "devices": device_keys.len(),
                "admit": summary(&admitted),
                "sustain": summary(&sustained),
            });
            println!("{result}");
        }
    }
    Ok(())
}
