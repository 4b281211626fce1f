//! Whether the control plane's public URL — what stick bundles, letters,
//! manuals and enrollment hints carry to employees — can work for them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What the control plane says about itself (`GET /server`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ServerInfo {
    /// The URL employees' devices and browsers are given.
    pub public_url: String,
    /// SHA-256 of the TLS certificate that stick bundles pin, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_pin: Option<String>,
}

/// Why a public URL is not fit for employees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlConcern {
    /// `localhost`, 127.0.0.0/8 or `::1`: only this machine reaches it.
    Loopback,
    /// `http://` to another machine: tokens and passwords cross the network
    /// unencrypted.
    PlainHttp,
}

/// The concern with `url` as an address for employees, if any. Loopback
/// wins over plain http: it cannot work at all.
pub fn concern(url: &str) -> Option<UrlConcern> {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    if is_loopback_host(host_of(rest)) {
        return Some(UrlConcern::Loopback);
    }
    if scheme.eq_ignore_ascii_case("http") {
        return Some(UrlConcern::PlainHttp);
    }
    None
}

/// Whether a plain-http control plane at `url` is on this machine (the only
/// place where plain http is harmless).
pub fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    is_loopback_host(host_of(rest))
}

/// The host of `host[:port][/path]` (IPv6 in brackets without them).
fn host_of(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    if let Some(bracketed) = authority.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or("");
    }
    authority.split(':').next().unwrap_or("")
}

fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_plain_http_are_concerns() {
        for url in [
            "http://127.0.0.1:8080",
            "https://127.0.0.1:8443/",
            "http://localhost:8080",
            "http://LOCALHOST.",
            "http://[::1]:8080/x",
            "http://0.0.0.0:8080",
            "http://127.1.2.3",
            "https://cp.localhost",
        ] {
            assert_eq!(concern(url), Some(UrlConcern::Loopback), "{url}");
        }
        for url in [
            "http://cp.example.org",
            "HTTP://10.0.0.1:8080/",
            "http://[fd00::1]:80",
        ] {
            assert_eq!(concern(url), Some(UrlConcern::PlainHttp), "{url}");
        }
        for url in [
            "https://cp.example.org",
            "https://[fd00::1]:8443/",
            "https://u@cp.example/",
        ] {
            assert_eq!(concern(url), None, "{url}");
        }
        assert!(is_loopback("http://127.0.0.1:1"));
        assert!(!is_loopback("http://198.18.0.1:1"));
        assert!(!is_loopback("http://localhost.example.org"));
    }
}
