//! Pure checks of user input. Each returns the cleaned value or a
//! [`Violation`] naming the field, so an API can report all of them at once.

use std::net::IpAddr;

use base64::Engine;
use ipnet::IpNet;

use crate::Violation;

/// Validates several fields at once, reporting every violation, not just the first:
/// `let (a, b) = validate::all((check_a, check_b))?;`
pub fn all<T: Fields>(fields: T) -> crate::Result<T::Output> {
    fields.collect()
}

pub trait Fields {
    type Output;
    fn collect(self) -> crate::Result<Self::Output>;
}

macro_rules! impl_fields {
    ($($name:ident),+) => {
        impl<$($name),+> Fields for ($(Result<$name, Violation>,)+) {
            type Output = ($($name,)+);

            #[allow(non_snake_case)]
            fn collect(self) -> crate::Result<Self::Output> {
                let ($($name,)+) = self;
                let mut violations = Vec::new();
                $(
                    let $name = match $name {
                        Ok(value) => Some(value),
                        Err(violation) => {
                            violations.push(violation);
                            None
                        }
                    };
                )+
                match ($($name,)+) {
                    ($(Some($name),)+) => Ok(($($name,)+)),
                    _ => Err(crate::StoreError::Invalid(violations)),
                }
            }
        }
    };
}

impl_fields!(A);
impl_fields!(A, B);
impl_fields!(A, B, C);
impl_fields!(A, B, C, D);
impl_fields!(A, B, C, D, E);
impl_fields!(A, B, C, D, E, F);
impl_fields!(A, B, C, D, E, F, G);

/// Slugs name tenants in URLs and host names: `a-z`, `0-9`, `-`, 2–40 chars,
/// starting with a letter.
pub fn slug(field: &str, input: &str) -> Result<String, Violation> {
    let value = input.trim();
    let valid_chars = value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let starts_with_letter = value.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    if !(2..=40).contains(&value.len())
        || !valid_chars
        || !starts_with_letter
        || value.ends_with('-')
    {
        return Err(Violation::coded(
            field,
            "slug",
            &[("value", value)],
            format!(
                "'{value}' is not a valid slug: use 2–40 lowercase letters, digits and dashes, \
                 starting with a letter"
            ),
        ));
    }
    Ok(value.to_owned())
}

/// Display names: non-empty, at most `max` characters, no control characters.
/// A tenant's slug, which also names its pages: not one of the words the
/// status page uses for its own paths.
pub fn tenant_slug(field: &str, input: &str) -> Result<String, Violation> {
    const RESERVED: [&str; 4] = ["api", "history", "subscribe", "subscriptions"];
    let value = slug(field, input)?;
    if RESERVED.contains(&value.as_str()) {
        return Err(Violation::coded(
            field,
            "slug-reserved",
            &[("value", &value)],
            format!("'{value}' is reserved for the status page's own addresses"),
        ));
    }
    Ok(value)
}

pub fn name(field: &str, input: &str, max: usize) -> Result<String, Violation> {
    let value = input.trim();
    if value.is_empty() {
        return Err(Violation::coded(field, "empty", &[], "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(too_long(field, max));
    }
    if value.chars().any(char::is_control) {
        return Err(Violation::coded(
            field,
            "control-characters",
            &[],
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

pub fn optional_text(field: &str, input: Option<&str>, max: usize) -> Result<String, Violation> {
    let value = input.unwrap_or("").trim();
    if value.chars().count() > max {
        return Err(too_long(field, max));
    }
    Ok(value.to_owned())
}

fn too_long(field: &str, max: usize) -> Violation {
    Violation::coded(
        field,
        "too-long",
        &[("max", &max.to_string())],
        format!("must be at most {max} characters"),
    )
}

/// Usernames log in: letters, digits and `._-@+`, 2–100 chars, case-folded.
pub fn username(field: &str, input: &str) -> Result<String, Violation> {
    let value = input.trim().to_lowercase();
    let valid = (2..=100).contains(&value.chars().count())
        && value
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+'));
    if !valid {
        return Err(Violation::coded(
            field,
            "username",
            &[("value", input.trim())],
            format!(
                "'{}' is not a valid username: use 2–100 letters, digits or . _ - @ +",
                input.trim()
            ),
        ));
    }
    Ok(value)
}

pub fn email(field: &str, input: Option<&str>) -> Result<String, Violation> {
    let value = input.unwrap_or("").trim();
    if value.is_empty() {
        return Ok(String::new());
    }
    let valid = value.chars().count() <= 254
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if !valid {
        return Err(Violation::coded(
            field,
            "email",
            &[("value", value)],
            format!("'{value}' is not an e-mail address"),
        ));
    }
    Ok(value.to_owned())
}

pub const MIN_PASSWORD_LEN: usize = 12;

pub fn password(field: &str, input: &str) -> Result<(), Violation> {
    let length = input.chars().count();
    if length < MIN_PASSWORD_LEN {
        return Err(Violation::coded(
            field,
            "password-short",
            &[("min", &MIN_PASSWORD_LEN.to_string())],
            format!("must be at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    if length > 1024 {
        return Err(too_long(field, 1024));
    }
    Ok(())
}

/// A CIDR network, normalized to its network address (`10.0.0.5/24` is refused,
/// because it is more likely a typo than an intent).
pub fn cidr(field: &str, input: &str) -> Result<IpNet, Violation> {
    let value = input.trim();
    let network: IpNet = match value.parse::<IpNet>() {
        Ok(network) => network,
        Err(_) => match value.parse::<IpAddr>() {
            Ok(address) => IpNet::from(address),
            Err(_) => {
                return Err(Violation::coded(
                    field,
                    "cidr",
                    &[("value", value)],
                    format!("'{value}' is not a CIDR network such as 198.18.10.0/24"),
                ));
            }
        },
    };
    if network.trunc() != network {
        let network_address = network.trunc().to_string();
        return Err(Violation::coded(
            field,
            "cidr-host-bits",
            &[("value", value), ("network", &network_address)],
            format!("'{value}' has host bits set; did you mean {network_address}?"),
        ));
    }
    Ok(network)
}

/// A tenant address pool: a CIDR with room for at least 2 devices.
pub fn address_pool(field: &str, input: &str) -> Result<IpNet, Violation> {
    let network = cidr(field, input)?;
    let room_ok = match network {
        IpNet::V4(v4) => v4.prefix_len() <= 29,
        IpNet::V6(v6) => v6.prefix_len() <= 125,
    };
    if !room_ok {
        return Err(Violation::coded(
            field,
            "pool-too-small",
            &[("value", &network.to_string())],
            format!("pool {network} is too small; use at least a /29 (IPv4) or /125 (IPv6)"),
        ));
    }
    Ok(network)
}

/// An inclusive port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl std::fmt::Display for PortRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// Port ranges such as `443`, `8000-8100` (or `8100-8000`: the same);
/// sorted and deduplicated.
pub fn port_ranges(field: &str, inputs: &[String]) -> Result<Vec<PortRange>, Violation> {
    let mut ranges = Vec::new();
    for input in inputs.iter().flat_map(|i| i.split(',')) {
        let text = input.trim();
        if text.is_empty() {
            continue;
        }
        let parse = |p: &str| p.trim().parse::<u16>().ok().filter(|port| *port > 0);
        let range = match text.split_once('-') {
            Some((first, last)) => parse(first)
                .zip(parse(last))
                .map(|(first, last)| PortRange { first, last }),
            None => parse(text).map(|port| PortRange {
                first: port,
                last: port,
            }),
        };
        match range {
            // `9000-8000` can only mean one thing.
            Some(PortRange { first, last }) => ranges.push(PortRange {
                first: first.min(last),
                last: first.max(last),
            }),
            None => {
                return Err(Violation::coded(
                    field,
                    "port",
                    &[("value", text)],
                    format!("'{text}' is not a port (1–65535) or a range such as 8000-8100"),
                ));
            }
        }
    }
    ranges.sort();
    ranges.dedup();
    Ok(ranges)
}

pub fn format_port_ranges(ranges: &[PortRange]) -> Vec<String> {
    ranges.iter().map(PortRange::to_string).collect()
}

/// A WireGuard public key: base64 of 32 bytes, and not a point of small
/// order (such as all zeros), with which any key exchange gives the same
/// secret whatever the private keys.
pub fn public_key(field: &str, input: &str) -> Result<String, Violation> {
    let value = input.trim();
    let decoded = base64::engine::general_purpose::STANDARD.decode(value);
    match decoded
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
    {
        Some(key) if api_types::keys::is_low_order(&key) => Err(Violation::coded(
            field,
            "public-key-low-order",
            &[],
            "is a low-order point (such as all zeros), not a WireGuard public key; \
             generate the key with `wg genkey | wg pubkey`",
        )),
        Some(_) => Ok(value.to_owned()),
        None => Err(Violation::coded(
            field,
            "public-key",
            &[],
            "is not a WireGuard public key (base64 of 32 bytes, as `wg pubkey` prints)",
        )),
    }
}

/// `host:port` where devices reach a gateway.
pub fn endpoint(field: &str, input: &str) -> Result<String, Violation> {
    let value = input.trim();
    let valid = value.rsplit_once(':').is_some_and(|(host, port)| {
        !host.is_empty()
            && port.parse::<u16>().is_ok_and(|p| p > 0)
            && !host.chars().any(char::is_whitespace)
    });
    if !valid {
        return Err(Violation::coded(
            field,
            "endpoint",
            &[("value", value)],
            format!("'{value}' is not host:port, e.g. vpn-south.example.org:51820"),
        ));
    }
    Ok(value.to_owned())
}

/// The base URL the proxy forwards a web-published application to:
/// `http(s)://host[:port][/path]`, without credentials, query or fragment.
/// Empty means not published.
pub fn web_upstream(field: &str, input: &str) -> Result<String, Violation> {
    let value = input.trim();
    if value.is_empty() {
        return Ok(String::new());
    }
    let bad = |code: &'static str, why: &str| {
        Violation::coded(
            field,
            code,
            &[("value", value)],
            format!("'{value}' {why}; expected e.g. http://198.18.10.5:8080/"),
        )
    };
    let url = url::Url::parse(value).map_err(|_| bad("url", "is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("url-scheme", "must start with http:// or https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("url-host", "has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Not echoed: the value holds a password.
        return Err(Violation::coded(
            field,
            "url-credentials",
            &[],
            "the address must not contain a user name or password",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("url-query", "must not have a query or fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

pub mod patterns;

#[cfg(test)]
mod tests;
