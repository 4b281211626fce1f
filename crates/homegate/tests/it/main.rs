//! Integration tests: the real control plane in-process on loopback, with a
//! real database, driven through the API client and the `homegate` binary.
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::print_stderr,
    unreachable_pub
)]

mod support;

mod lab;

mod admission_bench;
mod api;
mod browser;
mod cli;
mod cli_sticks;
mod cli_terminal;
mod e2e;
mod employees_receive;
mod isolation;
mod manual;
mod mfa;
mod oidc_login;
mod schema;
mod status;
mod status_incidents;
mod status_notify;
mod sticks;
mod upstream;
mod web_proxy;
