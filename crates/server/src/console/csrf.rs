//! CSRF protection. Logged-in forms carry a token derived from the session
//! secret (a page from another site cannot know it); the login form uses a
//! double-submit cookie.

use rand::Rng;
use sha2::{Digest, Sha256};

pub(super) const LOGIN_COOKIE: &str = "hg_csrf";

/// The CSRF token of forms in a browser session.
pub(super) fn for_session(session_token: &str) -> String {
    let digest = Sha256::digest(format!("homegate-csrf:{session_token}").as_bytes());
    hex::encode(&digest[..16])
}

/// A random token for the double-submit cookie of the login form.
pub(super) fn random() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill(&mut bytes);
    hex::encode(bytes)
}

/// Constant-time comparison.
pub(super) fn matches(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
        && !expected.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert_eq!(for_session("a"), for_session("a"));
        assert_ne!(for_session("a"), for_session("b"));
        assert!(matches(&for_session("a"), &for_session("a")));
        assert!(!matches(&for_session("a"), ""));
        assert!(!matches("", ""));
        assert_eq!(random().len(), 32);
    }
}
