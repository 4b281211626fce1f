//! The rules of `validate` as JSON-Schema patterns, for the OpenAPI
//! document: each accepts the strings its function accepts (surrounding
//! whitespace included, which the functions trim). They use only what
//! ECMA-262 and Python's `re` share (schemathesis generates requests from
//! them and checks the server agrees).

/// What `str::trim` removes (Unicode `White_Space`).
const WS: &str = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// What `char::is_control` is (Unicode `Cc`).
const CONTROL: &str = r"\x00-\x1f\x7f-\x9f";

/// [`super::name`]: 1 to `max` characters after trimming, no control characters.
pub fn name(max: usize) -> String {
    format!(
        "^[{WS}]*[^{WS}{CONTROL}](?:[^{CONTROL}]{{0,{}}}[^{WS}{CONTROL}])?[{WS}]*$",
        max.saturating_sub(2)
    )
}

/// A name that may also be left blank (the server then picks one, e.g. a
/// user's display name defaults to the username).
pub fn optional_name(max: usize) -> String {
    format!("^[{WS}]*$|{}", name(max))
}

/// [`super::optional_text`]: at most `max` characters after trimming.
pub fn optional_text(max: usize) -> String {
    format!(
        "^[{WS}]*(?:[^{WS}](?:[\\s\\S]{{0,{}}}[^{WS}])?)?[{WS}]*$",
        max.saturating_sub(2)
    )
}

/// [`super::slug`].
pub fn slug() -> String {
    format!("^[{WS}]*[a-z][a-z0-9-]{{0,38}}[a-z0-9][{WS}]*$")
}

/// [`super::tenant_slug`]: a slug that is not one of the status page's words.
pub fn tenant_slug() -> String {
    format!(
        "^[{WS}]*(?!(?:api|subscribe|subscriptions)[{WS}]*$)[a-z][a-z0-9-]{{0,38}}[a-z0-9][{WS}]*$"
    )
}

/// [`super::username`].
pub fn username() -> String {
    format!("^[{WS}]*[\\w.@+-]{{2,100}}[{WS}]*$")
}

/// `local@domain` with a dot in the domain, at most 254 characters.
fn email_address() -> String {
    let text = format!("[^{WS}{CONTROL}]");
    let local = format!("[^@{WS}{CONTROL}]");
    let domain_start = format!("[^.{WS}{CONTROL}]");
    format!("(?={text}{{1,254}}[{WS}]*$){local}+@{domain_start}{text}*\\.{text}*")
}

/// [`super::email`]: empty, or an address.
pub fn email() -> String {
    format!("^[{WS}]*(?:{})?[{WS}]*$", email_address())
}

/// [`super::email`], not empty.
pub fn required_email() -> String {
    format!("^[{WS}]*{}[{WS}]*$", email_address())
}

/// A webhook's address: `http(s)://` and at most 2,000 characters
/// without spaces or control characters (spelled out in ASCII).
pub fn webhook_url() -> String {
    format!("^[{WS}]*https?://[!-~]{{1,1992}}[{WS}]*$")
}

/// A port 1–65535 as Rust parses a `u16` (an optional `+`, leading zeros).
const PORT: &str = r"\+?0*(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";

/// [`super::endpoint`]: `host:port`.
pub fn endpoint() -> String {
    format!("^[{WS}]*[^{WS}]+:{PORT}[{WS}]*$")
}

/// One string of [`super::port_ranges`]: ports and ranges, comma-separated.
pub fn port_ranges() -> String {
    let piece = format!("[{WS}]*(?:{PORT}(?:[{WS}]*-[{WS}]*{PORT})?)?[{WS}]*");
    format!("^{piece}(?:,{piece})*$")
}

/// [`super::public_key`]: base64 of 32 bytes.
pub fn public_key() -> String {
    format!("^[{WS}]*[A-Za-z0-9+/]{{42}}[AEIMQUYcgkosw048]=[{WS}]*$")
}

const OCTET: &str = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";

/// An IPv4 network with no host bits set, prefix length `0..=max_prefix`;
/// a bare address (a /32) too when `max_prefix` is 32.
fn ipv4_network(max_prefix: u8) -> String {
    let mut alternatives = Vec::new();
    for prefix in 0..=max_prefix {
        let mut octets = Vec::new();
        for index in 0..4u8 {
            let bits = prefix.saturating_sub(index * 8).min(8);
            octets.push(match bits {
                8 => OCTET.to_owned(),
                0 => "0".to_owned(),
                bits => {
                    let step = 1u16 << (8 - bits);
                    let values: Vec<String> = (0..256u16)
                        .step_by(usize::from(step))
                        .map(|v| v.to_string())
                        .collect();
                    format!("(?:{})", values.join("|"))
                }
            });
        }
        alternatives.push(format!("{}/{prefix}", octets.join(r"\.")));
    }
    if max_prefix == 32 {
        alternatives.push(format!("{OCTET}(?:\\.{OCTET}){{3}}"));
    }
    format!("(?:{})", alternatives.join("|"))
}

/// IPv6 networks on 16-bit boundaries written as `2001:db8::/32` (every
/// group after the written ones zero). The server takes any IPv6 network
/// without host bits; these are the ones the pattern spells out.
fn ipv6_network() -> String {
    const GROUP: &str = "[0-9a-f]{1,4}";
    let mut alternatives = vec!["::/0".to_owned()];
    for groups in 1..=7u8 {
        alternatives.push(format!(
            "{GROUP}(?::{GROUP}){{{}}}::/{}",
            groups - 1,
            u16::from(groups) * 16
        ));
    }
    format!("(?:{})", alternatives.join("|"))
}

/// [`super::cidr`].
pub fn cidr() -> String {
    format!(
        "^[{WS}]*(?:{}|{})[{WS}]*$",
        ipv4_network(32),
        ipv6_network()
    )
}

/// [`super::address_pool`]: a network of at least a /29 (IPv4).
pub fn address_pool() -> String {
    format!(
        "^[{WS}]*(?:{}|{})[{WS}]*$",
        ipv4_network(29),
        ipv6_network()
    )
}

/// An OpenID Connect issuer as `idp` takes it: `https://` and something
/// that is not a slash (plain `http://` only on a development server).
pub fn oidc_issuer() -> String {
    format!("^[{WS}]*https://[\\s\\S]*[^/{WS}][\\s\\S]*$")
}

/// One of `words`, surrounding whitespace ignored.
pub fn one_of(words: &[&str]) -> String {
    format!("^[{WS}]*(?:{})[{WS}]*$", words.join("|"))
}
