//! The signed identity assertion (a JWT, EdDSA) the proxy adds to each
//! request, and the JWKS that lets upstreams verify it.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::signature::KeyPair;
use serde::Serialize;
use sha2::{Digest, Sha256};
use store::proxy::{ProxyIdentity, SigningKey};

/// How long an assertion is valid; the proxy makes a new one well before.
pub const LIFETIME_SECS: i64 = 60;

#[derive(Debug, Serialize)]
struct Claims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    iat: i64,
    exp: i64,
    sid: &'a str,
    preferred_username: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    email: &'a str,
    tenant: &'a str,
    groups: &'a [String],
}

pub struct Signer {
    kid: String,
    key: EncodingKey,
    jwks: serde_json::Value,
}

#[derive(Debug, thiserror::Error)]
pub enum AssertionError {
    #[error("the proxy's signing key is unusable: {0}")]
    Key(String),
    #[error("cannot sign an assertion: {0}")]
    Sign(#[from] jsonwebtoken::errors::Error),
}

/// A new Ed25519 key, for when the database has none.
pub fn generate() -> SigningKey {
    let rng = ring::rand::SystemRandom::new();
    // Generating an Ed25519 key only fails without an OS random source,
    // which would already have stopped the server at its first token.
    let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng)
        .map(|doc| doc.as_ref().to_vec())
        .unwrap_or_default();
    let public = ring::signature::Ed25519KeyPair::from_pkcs8(&pkcs8)
        .map(|pair| pair.public_key().as_ref().to_vec())
        .unwrap_or_default();
    SigningKey {
        kid: hex::encode(&Sha256::digest(&public)[..8]),
        private_pkcs8: STANDARD.encode(&pkcs8),
        public_key: URL_SAFE_NO_PAD.encode(&public),
    }
}

impl Signer {
    /// Signs with the first (newest) key and publishes all of them.
    pub fn new(keys: &[SigningKey]) -> Result<Signer, AssertionError> {
        let newest = keys
            .first()
            .ok_or_else(|| AssertionError::Key("no key".into()))?;
        let der = STANDARD
            .decode(&newest.private_pkcs8)
            .map_err(|error| AssertionError::Key(error.to_string()))?;
        let jwks = serde_json::json!({
            "keys": keys.iter().map(|key| serde_json::json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "alg": "EdDSA",
                "use": "sig",
                "kid": key.kid,
                "x": key.public_key,
            })).collect::<Vec<_>>()
        });
        Ok(Signer {
            kid: newest.kid.clone(),
            key: EncodingKey::from_ed_der(&der),
            jwks,
        })
    }

    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }

    /// An assertion of `identity` for the application at `audience`.
    pub fn sign(
        &self,
        issuer: &str,
        audience: &str,
        identity: &ProxyIdentity,
        now_secs: i64,
    ) -> Result<String, AssertionError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        let claims = Claims {
            iss: issuer,
            aud: audience,
            sub: &identity.user_id,
            iat: now_secs,
            exp: now_secs + LIFETIME_SECS,
            sid: &identity.session_id,
            preferred_username: &identity.username,
            name: &identity.display_name,
            email: &identity.email,
            tenant: &identity.tenant,
            groups: &identity.groups,
        };
        Ok(jsonwebtoken::encode(&header, &claims, &self.key)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation, jwk::JwkSet};

    #[test]
    fn assertions_verify_with_the_published_key() {
        let signer = Signer::new(&[generate()]).unwrap();
        let identity = ProxyIdentity {
            session_id: "s1".into(),
            user_id: "u1".into(),
            username: "anna".into(),
            display_name: "Anna Müller".into(),
            email: "anna@lemgo.example".into(),
            tenant_id: "t1".into(),
            tenant: "lemgo".into(),
            application_id: "a1".into(),
            application: "files".into(),
            groups: vec!["office".into()],
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let token = signer
            .sign(
                "https://hg.example",
                "https://files.lemgo.apps.example/",
                &identity,
                now,
            )
            .unwrap();
        let jwks: JwkSet = serde_json::from_value(signer.jwks().clone()).unwrap();
        let kid = jsonwebtoken::decode_header(&token).unwrap().kid.unwrap();
        let key = DecodingKey::from_jwk(jwks.find(&kid).unwrap()).unwrap();
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&["https://files.lemgo.apps.example/"]);
        validation.set_issuer(&["https://hg.example"]);
        let data = jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation).unwrap();
        assert_eq!(data.claims["preferred_username"], "anna");
        assert_eq!(data.claims["name"], "Anna Müller");
        assert_eq!(data.claims["groups"][0], "office");

        let other = Signer::new(&[generate()]).unwrap();
        let forged = other
            .sign(
                "https://hg.example",
                "https://files.lemgo.apps.example/",
                &identity,
                now,
            )
            .unwrap();
        assert!(jsonwebtoken::decode::<serde_json::Value>(&forged, &key, &validation).is_err());
    }
}
