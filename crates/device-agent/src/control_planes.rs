//! The control planes a device asks, in turn: the replicas the control plane
//! named (`DeviceConfig::control_planes`), and the one it enrolled with.
//! A replica that cannot be reached or answers 5xx is skipped until the
//! others fail too; the one that answered is asked first next time.

use api_types::enrollment::DeviceConfig;
use client::{Client, ClientError};

use crate::files::DeviceFile;

#[derive(Clone)]
pub struct ControlPlanes {
    enrolled: String,
    urls: Vec<String>,
    clients: Vec<Client>,
    current: usize,
    token: String,
    pin: Option<String>,
}

/// Whether another replica may do better than this answer.
fn try_another(error: &ClientError) -> bool {
    match error {
        ClientError::Unreachable { .. } => true,
        ClientError::Protocol { status, .. } | ClientError::Api { status, .. } => {
            matches!(status, 500 | 502..=504)
        }
        ClientError::BadUrl(_) | ClientError::Tls(_) => false,
    }
}

/// The URLs to try: the named replicas, then the enrolled URL if it is not
/// among them.
fn urls_of(enrolled: &str, config: &DeviceConfig) -> Vec<String> {
    let mut urls: Vec<String> = config
        .control_planes
        .iter()
        .map(|url| url.trim_end_matches('/').to_owned())
        .collect();
    let enrolled = enrolled.trim_end_matches('/');
    if !urls.iter().any(|url| url == enrolled) {
        urls.push(enrolled.to_owned());
    }
    urls.dedup();
    urls
}

impl ControlPlanes {
    pub fn of(file: &DeviceFile) -> anyhow::Result<ControlPlanes> {
        let mut planes = ControlPlanes {
            enrolled: file.server.clone(),
            urls: Vec::new(),
            clients: Vec::new(),
            current: 0,
            token: file.device_token.clone(),
            pin: file.certificate_pin.clone(),
        };
        planes.follow(&file.config)?;
        Ok(planes)
    }

    /// Takes up the list of replicas of a new configuration.
    pub fn follow(&mut self, config: &DeviceConfig) -> anyhow::Result<()> {
        let urls = urls_of(&self.enrolled, config);
        if urls == self.urls {
            return Ok(());
        }
        let current = self.urls.get(self.current).cloned();
        self.clients = urls
            .iter()
            .map(|url| Client::pinned(url, Some(self.token.clone()), self.pin.as_deref()))
            .collect::<Result<_, _>>()?;
        self.current = current
            .and_then(|url| urls.iter().position(|u| *u == url))
            .unwrap_or(0);
        self.urls = urls;
        Ok(())
    }

    /// Runs `request` against the replicas in turn until one answers.
    pub async fn ask<T, F>(&mut self, request: impl Fn(Client) -> F) -> Result<T, ClientError>
    where
        F: Future<Output = Result<T, ClientError>>,
    {
        let mut last = None;
        for step in 0..self.clients.len() {
            let index = (self.current + step) % self.clients.len();
            match request(self.clients[index].clone()).await {
                Err(error) if try_another(&error) => {
                    tracing::debug!(control_plane = %self.urls[index], %error, "trying another control plane");
                    last = Some(error);
                }
                result => {
                    if index != self.current {
                        tracing::info!(control_plane = %self.urls[index], "switched control plane");
                        self.current = index;
                    }
                    return result;
                }
            }
        }
        Err(last.unwrap_or_else(|| ClientError::BadUrl("no control plane".into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(control_planes: &[&str]) -> DeviceConfig {
        DeviceConfig {
            device_id: "d".into(),
            device_name: "n".into(),
            tenant: "t".into(),
            tunnel_address: "10.0.0.2/32".into(),
            gateway: None,
            routes: vec![],
            dns: vec![],
            keepalive_secs: 25,
            control_planes: control_planes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn enrolled_url_comes_last_unless_named() {
        assert_eq!(urls_of("https://a/", &config(&[])), vec!["https://a"]);
        assert_eq!(
            urls_of("https://a", &config(&["https://b/", "https://c"])),
            vec!["https://b", "https://c", "https://a"]
        );
        assert_eq!(
            urls_of("https://c", &config(&["https://b", "https://c/"])),
            vec!["https://b", "https://c"]
        );
    }

    #[test]
    fn only_outages_fail_over() {
        let problem = |status| ClientError::Api {
            status,
            problem: api_types::problem::Problem {
                kind: "about:blank".into(),
                title: "x".into(),
                status,
                detail: None,
                errors: vec![],
            },
        };
        assert!(try_another(&problem(503)));
        assert!(try_another(&problem(502)));
        assert!(!try_another(&problem(401)));
        assert!(!try_another(&problem(404)));
        assert!(!try_another(&ClientError::Tls("pin".into())));
    }
}
