//! Owns tracing subscriber setup for binaries and tests.
//!
//! Level policy: per-packet and per-request-body events are TRACE; keys,
//! tokens and passwords are never logged at any level; WARN means someone
//! should look; prefer structured fields over interpolation.

#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Logs to stderr, filtered by `RUST_LOG` (default `info`, gotatun `warn`);
/// `json` selects one JSON object per line for log shippers.
pub fn init(json: bool) {
    // gotatun logs every peer it adds at INFO: thousands of lines when a
    // gateway starts.
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,gotatun=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal, not in files or journald.
        .with_ansi(std::io::stderr().is_terminal());
    // A second init (tests, embedding) keeps the first subscriber.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// For tests: logs at `level` unless `RUST_LOG` says otherwise, captured by the test harness.
pub fn test(level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}
