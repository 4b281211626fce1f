//! Where the control plane may send requests on others' behalf (no
//! server-side request forgery). The access proxy forwards to no never loopback, link-local (e.g. a cloud's metadata service at
//! 169.254.169.254), unspecified, multicast or broadcast addresses, nor the
//! control plane's own listen addresses — unless the provider allows a
//! network explicitly (`homegate serve --upstream-allow CIDR`).
//!
//! Checked when an application is saved (literal addresses and `localhost`
//! names) and again by the proxy for every connection, after DNS resolution.
//! A tenant's OpenID Connect issuer must be `https://` unless the provider
//! runs a development setup (`--oidc-development`).

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

use crate::Violation;

/// The provider's rules for outgoing requests.
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    /// Networks upstreams may lie in although they fall in a refused class.
    pub allow: Vec<IpNet>,
    /// The control plane's own listen addresses (with an unspecified listen
    /// address: one per interface address).
    pub own: Vec<SocketAddr>,
    /// OpenID Connect issuers may be plain `http://` (development only).
    pub oidc_http: bool,
}

/// Why an upstream address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamRefusal {
    #[error("a loopback address")]
    Loopback,
    #[error("a link-local address")]
    LinkLocal,
    #[error("an unspecified address")]
    Unspecified,
    #[error("a multicast or broadcast address")]
    Multicast,
    #[error("the control plane's own address")]
    ControlPlane,
}

impl UpstreamRefusal {
    /// Stable code for logs and clients.
    pub fn code(self) -> &'static str {
        match self {
            UpstreamRefusal::Loopback => "upstream_loopback",
            UpstreamRefusal::LinkLocal => "upstream_link_local",
            UpstreamRefusal::Unspecified => "upstream_unspecified",
            UpstreamRefusal::Multicast => "upstream_multicast",
            UpstreamRefusal::ControlPlane => "upstream_control_plane",
        }
    }
}

impl OutboundPolicy {
    /// Parses `--upstream-allow` values (CIDR, or a single address).
    pub fn parse_allow(values: &[String]) -> Result<Vec<IpNet>, String> {
        values
            .iter()
            .map(|value| {
                let value = value.trim();
                value
                    .parse::<IpNet>()
                    .or_else(|_| value.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("'{value}' is not a network such as 127.0.0.0/8"))
            })
            .collect()
    }

    /// Save-time and use-time check of an OpenID Connect issuer URL.
    pub fn check_issuer(&self, field: &str, issuer: &str) -> Result<(), Violation> {
        if issuer.starts_with("https://") || (self.oidc_http && issuer.starts_with("http://")) {
            return Ok(());
        }
        Err(Violation::new(
            field,
            "oidc_issuer_not_https: the issuer must be an https:// URL",
        ))
    }

    /// Whether the proxy may connect to `ip` at all (whatever the port).
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), UpstreamRefusal> {
        let ip = ip.to_canonical();
        if self.allow.iter().any(|net| net.contains(&ip)) {
            return Ok(());
        }
        let refusal = match ip {
            IpAddr::V4(v4) if v4.is_loopback() => Some(UpstreamRefusal::Loopback),
            IpAddr::V4(v4) if v4.is_link_local() => Some(UpstreamRefusal::LinkLocal),
            IpAddr::V4(v4) if v4.is_unspecified() => Some(UpstreamRefusal::Unspecified),
            IpAddr::V4(v4) if v4.is_multicast() || v4.is_broadcast() => {
                Some(UpstreamRefusal::Multicast)
            }
            IpAddr::V6(v6) if v6.is_loopback() => Some(UpstreamRefusal::Loopback),
            IpAddr::V6(v6) if v6.is_unicast_link_local() => Some(UpstreamRefusal::LinkLocal),
            IpAddr::V6(v6) if v6.is_unspecified() => Some(UpstreamRefusal::Unspecified),
            IpAddr::V6(v6) if v6.is_multicast() => Some(UpstreamRefusal::Multicast),
            IpAddr::V4(_) | IpAddr::V6(_) => None,
        };
        refusal.map_or(Ok(()), Err)
    }

    /// Whether the proxy may connect to `addr`.
    pub fn check(&self, addr: SocketAddr) -> Result<(), UpstreamRefusal> {
        self.check_ip(addr.ip())?;
        let ip = addr.ip().to_canonical();
        let own = self
            .own
            .iter()
            .any(|own| own.port() == addr.port() && own.ip().to_canonical() == ip);
        if own && !self.allow.iter().any(|net| net.contains(&ip)) {
            return Err(UpstreamRefusal::ControlPlane);
        }
        Ok(())
    }

    /// Save-time check of an upstream URL (already validated): refuses
    /// literal addresses and `localhost` names the proxy would refuse; names
    /// are checked again after resolution when the proxy connects.
    pub fn check_url(&self, field: &str, url: &str) -> Result<(), Violation> {
        let Ok(parsed) = url::Url::parse(url) else {
            return Ok(());
        };
        let port = parsed.port_or_known_default().unwrap_or(80);
        let refused = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => self.check(SocketAddr::new(IpAddr::V4(ip), port)).err(),
            Some(url::Host::Ipv6(ip)) => self.check(SocketAddr::new(IpAddr::V6(ip), port)).err(),
            Some(url::Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                let local = name == "localhost" || name.ends_with(".localhost");
                local
                    .then(|| self.check_ip(IpAddr::from([127, 0, 0, 1])).err())
                    .flatten()
            }
            None => None,
        };
        match refused {
            Some(refusal) => Err(Violation::new(
                field,
                format!(
                    "{}: the proxy does not forward to {refusal}; use the application's address \
                     in the municipality's network (the provider can allow a network with \
                     `homegate serve --upstream-allow CIDR`)",
                    refusal.code()
                ),
            )),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_the_control_plane_reaches_itself() {
        let policy = OutboundPolicy {
            allow: Vec::new(),
            own: vec!["198.18.0.1:8080".parse().unwrap()],
            oidc_http: false,
        };
        let refused = |addr: &str| policy.check(addr.parse().unwrap()).err();
        assert_eq!(refused("127.0.0.1:80"), Some(UpstreamRefusal::Loopback));
        assert_eq!(refused("[::1]:22"), Some(UpstreamRefusal::Loopback));
        assert_eq!(
            refused("[::ffff:127.0.0.1]:22"),
            Some(UpstreamRefusal::Loopback)
        );
        assert_eq!(
            refused("169.254.169.254:80"),
            Some(UpstreamRefusal::LinkLocal)
        );
        assert_eq!(refused("[fe80::1]:80"), Some(UpstreamRefusal::LinkLocal));
        assert_eq!(refused("0.0.0.0:80"), Some(UpstreamRefusal::Unspecified));
        assert_eq!(refused("224.0.0.1:80"), Some(UpstreamRefusal::Multicast));
        assert_eq!(
            refused("198.18.0.1:8080"),
            Some(UpstreamRefusal::ControlPlane)
        );
        assert_eq!(refused("198.18.0.1:443"), None);
        assert_eq!(refused("198.18.10.5:443"), None);
        assert_eq!(refused("[fd00::5]:443"), None);
    }

    #[test]
    fn the_provider_can_allow_a_network() {
        let policy = OutboundPolicy {
            allow: OutboundPolicy::parse_allow(&["127.0.0.0/8".into()]).unwrap(),
            own: Vec::new(),
            oidc_http: false,
        };
        assert!(OutboundPolicy::parse_allow(&["::1".into()]).is_ok());
        assert!(OutboundPolicy::parse_allow(&["localhost".into()]).is_err());
        assert_eq!(policy.check("127.0.0.1:8081".parse().unwrap()), Ok(()));
        assert!(policy.check("[::1]:80".parse().unwrap()).is_err());
        assert!(policy.check_url("u", "http://localhost:8081/").is_ok());
        let strict = OutboundPolicy::default();
        let error = strict.check_url("u", "http://localhost/").unwrap_err();
        assert!(error.message.starts_with("upstream_loopback"), "{error:?}");
        assert!(strict.check_url("u", "http://[::1]:22/").is_err());
        assert!(strict.check_url("u", "http://169.254.169.254/").is_err());
        assert!(
            strict
                .check_url("u", "https://akten.lemgo.example/")
                .is_ok()
        );
    }

    #[test]
    fn issuers_are_https_unless_in_development() {
        let strict = OutboundPolicy::default();
        assert!(
            strict
                .check_issuer("issuer", "https://login.lemgo.de/realms/staff")
                .is_ok()
        );
        assert!(
            strict
                .check_issuer("issuer", "http://127.0.0.1:9000")
                .is_err()
        );
        let development = OutboundPolicy {
            oidc_http: true,
            ..OutboundPolicy::default()
        };
        assert!(
            development
                .check_issuer("issuer", "http://127.0.0.1:9000")
                .is_ok()
        );
    }
}
