//! WebAuthn (security keys, passkeys) as a second factor, with webauthn-rs.
//! The relying party is the control plane's public URL.

use std::sync::Arc;

use webauthn_rs::prelude::{Url, Webauthn, WebauthnBuilder};

/// The WebAuthn relying party for `public_url`, if its host can be one
/// (a DNS name or `localhost`; browsers refuse IP addresses).
pub fn relying_party(public_url: &str) -> Option<Arc<Webauthn>> {
    let origin = Url::parse(public_url).ok()?;
    let host = origin.host_str()?.to_owned();
    if host.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    let webauthn = WebauthnBuilder::new(&host, &origin)
        .ok()?
        .rp_name("homegate")
        .allow_any_port(true)
        .build()
        .ok()?;
    Some(Arc::new(webauthn))
}
