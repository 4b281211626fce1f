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
mod backup;
mod browser;
mod cancel;
mod cli;
mod cli_sticks;
mod cli_terminal;
mod deb;
mod e2e;
mod edge;
mod employees_receive;
mod hardening;
mod invitations;
mod isolation;
mod jobs;
mod keys;
mod lost_credentials;
mod manual;
mod mfa;
mod oidc_login;
mod openapi_contract;
mod ops;
mod pages;
mod previous_release;
mod roles;
mod scale;
mod schema;
mod seats;
mod status;
mod status_incidents;
mod status_notify;
mod sticks;
mod upgrade;
mod upstream;
mod web_proxy;
