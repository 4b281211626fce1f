//! The pure parts of the device configuration long poll: how long the
//! device asks to wait (RFC 7240 `Prefer: wait=N`) and the tag that says
//! whether its configuration changed (`ETag` / `If-None-Match`).

use std::time::Duration;

use api_types::enrollment::DeviceConfig;
use sha2::{Digest, Sha256};

/// The longest a request waits: below the server's 30 s request timeout.
pub(super) const LONGEST_WAIT: Duration = Duration::from_secs(20);

/// The wait a `Prefer` header asks for, capped at [`LONGEST_WAIT`]; none
/// without one (an ordinary request).
pub(super) fn requested_wait(prefer: Option<&str>) -> Duration {
    let Some(prefer) = prefer else {
        return Duration::ZERO;
    };
    prefer
        .split([',', ';'])
        .filter_map(|preference| {
            let (name, value) = preference.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("wait")
                .then(|| value.trim().trim_matches('"').parse::<u64>().ok())
                .flatten()
        })
        .next()
        .map_or(Duration::ZERO, |secs| {
            Duration::from_secs(secs).min(LONGEST_WAIT)
        })
}

/// A strong entity tag of a configuration: equal exactly when the
/// configurations are.
pub(super) fn config_tag(config: &DeviceConfig) -> String {
    let json = serde_json::to_vec(config).unwrap_or_default();
    let digest = Sha256::digest(&json);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// Whether an `If-None-Match` header names `tag`.
pub(super) fn matches(if_none_match: Option<&str>, tag: &str) -> bool {
    if_none_match.is_some_and(|header| {
        header
            .split(',')
            .any(|candidate| candidate.trim().trim_start_matches("W/") == tag)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(gateway: &str) -> DeviceConfig {
        DeviceConfig {
            device_id: "d".into(),
            device_name: "n".into(),
            tenant: "t".into(),
            tunnel_address: "10.0.0.2/32".into(),
            gateway: Some(api_types::enrollment::GatewayEndpoint {
                name: gateway.into(),
                endpoint: "198.18.0.1:51820".into(),
                public_key: "k".into(),
            }),
            routes: vec![],
            dns: vec![],
            keepalive_secs: 25,
            control_planes: vec![],
        }
    }

    #[test]
    fn waits_as_asked_within_the_limit() {
        assert_eq!(requested_wait(None), Duration::ZERO);
        assert_eq!(requested_wait(Some("wait=5")), Duration::from_secs(5));
        assert_eq!(
            requested_wait(Some("respond-async, wait=10")),
            Duration::from_secs(10)
        );
        assert_eq!(requested_wait(Some("Wait = 600")), LONGEST_WAIT);
        assert_eq!(requested_wait(Some("wait=soon")), Duration::ZERO);
        assert_eq!(requested_wait(Some("return=minimal")), Duration::ZERO);
    }

    #[test]
    fn tags_follow_the_configuration() {
        let a = config("g1");
        assert_eq!(config_tag(&a), config_tag(&a.clone()));
        assert_ne!(config_tag(&a), config_tag(&config("g2")));
        let tag = config_tag(&a);
        assert!(matches(Some(&tag), &tag));
        assert!(matches(Some(&format!("\"x\", W/{tag}")), &tag));
        assert!(!matches(Some("\"x\""), &tag));
        assert!(!matches(None, &tag));
    }
}
