//! Login throttling: a pure policy over `now`, wrapped in a mutex.
//!
//! Per username: after [`MAX_FAILURES`] consecutive failures the account is
//! locked for a time that doubles with each further failure (capped), so a
//! password cannot be guessed online. Per source address: at most
//! [`MAX_ATTEMPTS_PER_WINDOW`] failed attempts per window, so one host cannot
//! spray many usernames; successful logins cost nothing, so the people
//! behind one NAT or reverse proxy (`--trusted-proxy`) can all log in.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::ApiError;

pub const MAX_FAILURES: u32 = 5;
pub const BASE_LOCKOUT: Duration = Duration::from_secs(60);
pub const MAX_LOCKOUT: Duration = Duration::from_secs(3600);
pub const WINDOW: Duration = Duration::from_secs(60);
pub const MAX_ATTEMPTS_PER_WINDOW: u32 = 30;

/// At most `max` attempts per key in each `window`.
#[derive(Debug)]
pub struct WindowPolicy {
    max: u32,
    window: Duration,
    attempts: HashMap<IpAddr, (Instant, u32)>,
}

impl WindowPolicy {
    pub fn new(max: u32, window: Duration) -> WindowPolicy {
        WindowPolicy {
            max,
            window,
            attempts: HashMap::new(),
        }
    }

    /// `Err(time left)` when the key used up its attempts; otherwise
    /// counts one.
    pub fn attempt(&mut self, key: IpAddr, now: Instant) -> Result<(), Duration> {
        self.allowed(key, now)?;
        self.count(key, now);
        Ok(())
    }

    /// `Err(time left)` when the key used up its attempts, without counting
    /// one.
    pub fn allowed(&mut self, key: IpAddr, now: Instant) -> Result<(), Duration> {
        match self.attempts.get(&key) {
            Some((start, count))
                if now.duration_since(*start) < self.window && *count >= self.max =>
            {
                Err(self.window.saturating_sub(now.duration_since(*start)))
            }
            Some(_) | None => Ok(()),
        }
    }

    /// Counts one attempt of `key`.
    pub fn count(&mut self, key: IpAddr, now: Instant) {
        if self.attempts.len() > 10_000 {
            let window = self.window;
            self.attempts
                .retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = self.attempts.entry(key).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }
}

#[derive(Debug)]
pub struct LoginPolicy {
    failures: HashMap<String, (u32, Option<Instant>)>,
    per_address: WindowPolicy,
}

impl Default for LoginPolicy {
    fn default() -> LoginPolicy {
        LoginPolicy {
            failures: HashMap::new(),
            per_address: WindowPolicy::new(MAX_ATTEMPTS_PER_WINDOW, WINDOW),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    LockedFor(Duration),
    SlowDown(Duration),
}

impl LoginPolicy {
    pub fn check(&mut self, username: &str, source: IpAddr, now: Instant) -> Verdict {
        let key = username.trim().to_lowercase();
        if let Some((_, Some(until))) = self.failures.get(&key)
            && *until > now
        {
            return Verdict::LockedFor(*until - now);
        }
        match self.per_address.allowed(source, now) {
            Ok(()) => Verdict::Allow,
            Err(left) => Verdict::SlowDown(left),
        }
    }

    /// A failed attempt: counts against the username and the address.
    pub fn failed(&mut self, username: &str, source: IpAddr, now: Instant) {
        self.per_address.count(source, now);
        let key = username.trim().to_lowercase();
        let entry = self.failures.entry(key).or_insert((0, None));
        entry.0 += 1;
        if entry.0 >= MAX_FAILURES {
            let doublings = (entry.0 - MAX_FAILURES).min(6);
            let lockout = (BASE_LOCKOUT * 2u32.pow(doublings)).min(MAX_LOCKOUT);
            entry.1 = Some(now + lockout);
        }
    }

    pub fn succeeded(&mut self, username: &str) {
        self.failures.remove(&username.trim().to_lowercase());
    }

    /// Forgets lockouts that no longer matter, bounding memory.
    pub fn prune(&mut self, now: Instant) {
        self.failures
            .retain(|_, (_, until)| until.is_none_or(|until| until + MAX_LOCKOUT > now));
    }
}

#[derive(Debug, Default)]
pub struct LoginLimiter {
    policy: Mutex<LoginPolicy>,
}

impl LoginLimiter {
    fn with_policy<T>(&self, f: impl FnOnce(&mut LoginPolicy) -> T) -> T {
        let mut policy = self
            .policy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut policy)
    }

    pub fn check(&self, username: &str, source: IpAddr) -> Result<(), ApiError> {
        let now = Instant::now();
        match self.with_policy(|policy| {
            if policy.failures.len() > 10_000 {
                policy.prune(now);
            }
            policy.check(username, source, now)
        }) {
            Verdict::Allow => Ok(()),
            Verdict::LockedFor(left) => Err(ApiError::TooManyRequests {
                message: format!(
                    "too many failed logins for this account; try again in {} seconds",
                    left.as_secs().max(1)
                ),
                retry_after: left,
            }),
            Verdict::SlowDown(left) => Err(ApiError::TooManyRequests {
                message: format!(
                    "too many failed logins from your address; try again in {} seconds",
                    left.as_secs().max(1)
                ),
                retry_after: left,
            }),
        }
    }

    pub fn failed(&self, username: &str, source: IpAddr) {
        let now = Instant::now();
        self.with_policy(|policy| policy.failed(username, source, now));
    }

    pub fn succeeded(&self, username: &str, _source: IpAddr) {
        self.with_policy(|policy| policy.succeeded(username));
    }
}

/// Attempts per source address, e.g. for enrollment codes.
#[derive(Debug)]
pub struct AddressLimiter {
    policy: Mutex<WindowPolicy>,
    what: &'static str,
}

impl AddressLimiter {
    pub fn new(max: u32, window: Duration, what: &'static str) -> AddressLimiter {
        AddressLimiter {
            policy: Mutex::new(WindowPolicy::new(max, window)),
            what,
        }
    }

    pub fn check(&self, source: IpAddr) -> Result<(), ApiError> {
        let result = self
            .policy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .attempt(source, Instant::now());
        result.map_err(|left| ApiError::TooManyRequests {
            message: format!(
                "too many {} from your address; try again in {} seconds",
                self.what,
                left.as_secs().max(1)
            ),
            retry_after: left,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip() -> IpAddr {
        "127.0.0.1".parse().unwrap()
    }

    #[test]
    fn locks_after_repeated_failures_and_doubles() {
        let mut policy = LoginPolicy::default();
        let start = Instant::now();
        for _ in 0..MAX_FAILURES {
            assert_eq!(policy.check("Anna", ip(), start), Verdict::Allow);
            policy.failed("anna", ip(), start);
        }
        assert_eq!(
            policy.check("anna", ip(), start),
            Verdict::LockedFor(BASE_LOCKOUT)
        );
        let later = start + BASE_LOCKOUT;
        assert_eq!(policy.check("anna", ip(), later), Verdict::Allow);
        policy.failed("anna", ip(), later);
        assert_eq!(
            policy.check("anna", ip(), later),
            Verdict::LockedFor(BASE_LOCKOUT * 2)
        );
        policy.succeeded("anna");
        assert_eq!(policy.check("anna", ip(), later), Verdict::Allow);
    }

    #[test]
    fn limits_failed_attempts_per_address() {
        let mut policy = LoginPolicy::default();
        let now = Instant::now();
        // Successful logins cost nothing.
        for n in 0..MAX_ATTEMPTS_PER_WINDOW * 2 {
            let user = format!("ok{n}");
            assert_eq!(policy.check(&user, ip(), now), Verdict::Allow);
            policy.succeeded(&user);
        }
        for n in 0..MAX_ATTEMPTS_PER_WINDOW {
            assert_eq!(policy.check(&format!("user{n}"), ip(), now), Verdict::Allow);
            policy.failed(&format!("user{n}"), ip(), now);
        }
        assert!(matches!(
            policy.check("another", ip(), now),
            Verdict::SlowDown(_)
        ));
        assert_eq!(policy.check("another", ip(), now + WINDOW), Verdict::Allow);
    }
}
