//! Pure parts of the proxy: which application a request is for, where the
//! browser may be sent back to, and which headers may pass.

/// The proxy's address scheme, derived from `--proxy-domain` and the
/// control plane's public URL (whose scheme and port the proxy shares).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyDomain {
    domain: String,
    path_scheme: bool,
    scheme: String,
    port: Option<u16>,
}

/// A request for a published application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub tenant: String,
    pub app: String,
    /// The path prefix of the application on the proxy (`/TENANT/APP` in the
    /// path scheme, empty for host names).
    pub prefix: String,
    /// The path below the prefix; empty when the prefix was given without
    /// its trailing slash.
    pub rest: String,
}

impl ProxyDomain {
    /// `domain` like `apps.example.org`; `public_url` like `https://homegate.example.org`.
    pub fn new(domain: &str, path_scheme: bool, public_url: &str) -> Result<ProxyDomain, String> {
        let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        let valid_label = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        if domain.is_empty() || !domain.split('.').all(valid_label) {
            return Err(format!(
                "proxy domain '{domain}' is not a DNS name like apps.example.org"
            ));
        }
        let url = url::Url::parse(public_url)
            .map_err(|error| format!("public URL '{public_url}': {error}"))?;
        Ok(ProxyDomain {
            domain,
            path_scheme,
            scheme: url.scheme().to_owned(),
            port: url.port(),
        })
    }

    pub fn secure(&self) -> bool {
        self.scheme == "https"
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn path_scheme(&self) -> bool {
        self.path_scheme
    }

    /// Whether a request's host (with or without port) belongs to the proxy.
    pub fn serves(&self, host: &str) -> bool {
        let host = bare_host(host);
        host == self.domain
            || host
                .strip_suffix(&self.domain)
                .is_some_and(|rest| rest.ends_with('.'))
    }

    /// The application a request is for, if any.
    pub fn locate(&self, host: &str, path: &str) -> Option<Target> {
        let host = bare_host(host);
        if self.path_scheme {
            if host != self.domain {
                return None;
            }
            let mut parts = path.strip_prefix('/')?.splitn(3, '/');
            let tenant = parts.next().filter(|s| !s.is_empty())?;
            let app = parts.next().filter(|s| !s.is_empty())?;
            let rest = parts
                .next()
                .map(|rest| format!("/{rest}"))
                .unwrap_or_default();
            return Some(Target {
                tenant: tenant.to_owned(),
                app: app.to_owned(),
                prefix: format!("/{tenant}/{app}"),
                rest,
            });
        }
        let labels = host.strip_suffix(&self.domain)?.strip_suffix('.')?;
        let (app, tenant) = labels.split_once('.')?;
        if app.is_empty() || tenant.is_empty() || tenant.contains('.') {
            return None;
        }
        Some(Target {
            tenant: tenant.to_owned(),
            app: app.to_owned(),
            prefix: String::new(),
            rest: if path.is_empty() {
                "/".to_owned()
            } else {
                path.to_owned()
            },
        })
    }

    /// A CSP source expression matching every application's origin.
    pub fn origins(&self) -> String {
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        let (scheme, domain) = (&self.scheme, &self.domain);
        if self.path_scheme {
            format!("{scheme}://{domain}{port}")
        } else {
            format!("{scheme}://*.{domain}{port}")
        }
    }

    /// The address employees open, ending with `/`.
    pub fn app_url(&self, tenant: &str, app: &str) -> String {
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        let (scheme, domain) = (&self.scheme, &self.domain);
        if self.path_scheme {
            format!("{scheme}://{domain}{port}/{tenant}/{app}/")
        } else {
            format!("{scheme}://{app}.{tenant}.{domain}{port}/")
        }
    }
}

/// The host without its port, lower-case.
fn bare_host(host: &str) -> String {
    let host = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// A path on the same site to send the browser back to; anything else
/// (other sites, scheme-relative `//host`, backslash tricks, control
/// characters) becomes `/`.
pub fn safe_return_path(input: Option<&str>) -> String {
    match input {
        Some(path) if is_local_path(path) => path.to_owned(),
        _ => "/".to_owned(),
    }
}

/// A path on this site, not a way to another: not `//host`, not `/\host`
/// (which browsers read as `//host`), no control characters.
pub fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.chars().any(char::is_control)
}

/// Headers that describe one connection and are never forwarded
/// (RFC 9110 §7.6.1), besides those the `Connection` header names.
pub fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

/// Headers only the proxy may set: a client sending them could claim
/// another identity or address.
pub fn is_reserved(name: &str) -> bool {
    name.starts_with("x-homegate-")
        || name.starts_with("x-forwarded-")
        || name == "forwarded"
        || name == "x-real-ip"
        || name == "host"
}

/// The `Cookie` header without the cookie named `name` (the proxy's own,
/// which the upstream must never see); `None` if nothing remains.
pub fn without_cookie(header: &str, name: &str) -> Option<String> {
    let kept: Vec<&str> = header
        .split(';')
        .map(str::trim)
        .filter(|pair| {
            !pair.is_empty() && pair.split_once('=').map_or(*pair, |(key, _)| key.trim()) != name
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join("; "))
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key.trim() == name).then_some(value.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> ProxyDomain {
        ProxyDomain::new("Apps.Example.org", false, "https://hg.example.org").unwrap()
    }

    #[test]
    fn host_names_name_tenant_and_application() {
        let proxy = hosts();
        let target = proxy
            .locate("files.lemgo.apps.example.org:443", "/a/b?c")
            .unwrap();
        assert_eq!(
            (target.tenant.as_str(), target.app.as_str()),
            ("lemgo", "files")
        );
        assert_eq!(target.prefix, "");
        assert!(proxy.serves("FILES.lemgo.apps.example.org"));
        assert!(proxy.serves("apps.example.org"));
        assert!(!proxy.serves("evilapps.example.org"));
        assert!(!proxy.serves("hg.example.org"));
        assert_eq!(proxy.locate("lemgo.apps.example.org", "/"), None);
        assert_eq!(proxy.locate("a.b.lemgo.apps.example.org", "/"), None);
        assert_eq!(proxy.locate("files.lemgo.other.org", "/"), None);
        assert_eq!(
            proxy.app_url("lemgo", "files"),
            "https://files.lemgo.apps.example.org/"
        );
        assert_eq!(proxy.origins(), "https://*.apps.example.org");
    }

    #[test]
    fn the_path_scheme_uses_one_host() {
        let proxy = ProxyDomain::new("apps.example.org", true, "http://127.0.0.1:8080").unwrap();
        let target = proxy
            .locate("apps.example.org:8080", "/lemgo/files/x/y")
            .unwrap();
        assert_eq!(target.prefix, "/lemgo/files");
        assert_eq!(target.rest, "/x/y");
        assert_eq!(
            proxy
                .locate("apps.example.org", "/lemgo/files")
                .unwrap()
                .rest,
            ""
        );
        assert_eq!(proxy.locate("apps.example.org", "/lemgo"), None);
        assert_eq!(proxy.locate("x.lemgo.apps.example.org", "/a/b/"), None);
        assert_eq!(
            proxy.app_url("lemgo", "files"),
            "http://apps.example.org:8080/lemgo/files/"
        );
    }

    #[test]
    fn bad_domains_are_refused() {
        for bad in ["", "a..b", "exa mple.org", "x_y.org"] {
            assert!(ProxyDomain::new(bad, false, "http://x").is_err(), "{bad}");
        }
    }

    #[test]
    fn return_paths_stay_on_the_site() {
        assert_eq!(safe_return_path(Some("/docs?a=1")), "/docs?a=1");
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "/a\r\nLocation: x",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(safe_return_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_return_path(None), "/");
    }

    #[test]
    fn the_proxy_cookie_never_reaches_the_upstream() {
        assert_eq!(
            without_cookie("a=1; hg_proxy=secret; b=2", "hg_proxy").as_deref(),
            Some("a=1; b=2")
        );
        assert_eq!(without_cookie("hg_proxy=secret", "hg_proxy"), None);
        assert_eq!(cookie_value("a=1; hg_proxy=s3", "hg_proxy"), Some("s3"));
        assert_eq!(cookie_value("xhg_proxy=s3", "hg_proxy"), None);
        assert!(is_reserved("x-homegate-user"));
        assert!(is_reserved("x-forwarded-for"));
        assert!(!is_reserved("accept"));
        assert!(is_hop_by_hop("transfer-encoding"));
    }
}
