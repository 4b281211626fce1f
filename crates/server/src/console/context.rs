//! What every console page needs: the browser session (if any), the
//! language, the CSRF token, and messages passed along in the URL.

use std::collections::HashMap;

use api_types::{Language, Role};
use axum::extract::{FromRequestParts, Query};
use axum::http::header;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use i18n::Tr;
use store::Actor;

use super::csrf;
use super::error::{ConsoleError, ConsoleResult};
use crate::AppState;
use crate::extract::client_addr;

pub(super) const LANGUAGE_COOKIE: &str = "hg_lang";

/// A logged-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub actor: Actor,
    pub token: String,
    pub username: String,
    pub display_name: String,
    /// Slug of the user's tenant.
    pub tenant: Option<String>,
}

/// The navigation of the page header.
#[derive(Debug, Clone)]
pub struct Nav {
    pub username: String,
    pub display_name: String,
    pub staff: bool,
    pub provider_admin: bool,
    pub tenant: Option<String>,
    pub tenant_admin: bool,
}

/// What the base template shows around every page.
#[derive(Debug, Clone)]
pub struct Page {
    pub tr: Tr,
    pub title: String,
    pub csrf: String,
    pub nav: Option<Nav>,
    pub notice: Option<String>,
    pub error: Option<String>,
    /// A warning shown above the content, e.g. that what is made on this
    /// page would carry a public URL employees cannot use.
    pub warning: Option<String>,
    pub path: String,
}

impl Page {
    /// Warns on this page when the public URL, which what is made here
    /// carries to employees, is a loopback address or plain http.
    pub fn warn_public_url(mut self, public_url: &str) -> Page {
        use api_types::public_url::{UrlConcern, concern};
        self.warning = concern(public_url).map(|concern| {
            let key = match concern {
                UrlConcern::Loopback => "public-url-loopback",
                UrlConcern::PlainHttp => "public-url-plain-http",
            };
            self.tr.t1(key, "url", public_url)
        });
        self
    }

    pub fn t(&self, key: impl AsRef<str>) -> String {
        self.tr.t(key.as_ref())
    }

    /// Why a device was refused, in the reader's language (the stored
    /// message for a reason this release has no words for).
    pub fn refusal(&self, reason: &str, message: &str) -> String {
        let key = format!("refusal-{reason}");
        let text = self.tr.t(&key);
        if text == key {
            message.to_owned()
        } else {
            text
        }
    }

    /// An amount of traffic as people read it: `512 B`, `1.5 MB` (`1,5 MB`
    /// in German and Dutch), decimal units.
    pub fn bytes(&self, count: &u64) -> String {
        human_bytes(*count, self.tr.language)
    }

    /// A time for people: `2026-11-23 08:15 UTC`, which the page's script
    /// shows in the reader's time zone and language.
    pub fn time(&self, at: &time::OffsetDateTime) -> LocalTime {
        LocalTime(*at)
    }

    /// Languages for the switcher: `(code, name, selected)`.
    pub fn languages(&self) -> Vec<(&'static str, &'static str, bool)> {
        [
            (Language::De, "Deutsch"),
            (Language::Nl, "Nederlands"),
            (Language::En, "English"),
        ]
        .iter()
        .map(|(language, name)| (language.code(), *name, *language == self.tr.language))
        .collect()
    }
}

pub struct Ctx {
    pub tr: Tr,
    pub session: Option<Session>,
    pub csrf: String,
    pub path: String,
    pub notice: Option<String>,
    pub error: Option<String>,
    pub jar: CookieJar,
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ConsoleResult<Ctx> {
        let jar = CookieJar::from_headers(&parts.headers);
        let Query(query) = Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .unwrap_or_default();
        let path = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.path().to_owned());
        let mut session = None;
        if let Some(cookie) = jar.get(crate::session::COOKIE) {
            let token = cookie.value().to_owned();
            if let Ok(actor) = state.store.authenticate(&token, client_addr(parts)).await
                && let Ok(user) = state.store.me(&actor).await
            {
                session = Some(Session {
                    actor,
                    token,
                    username: user.username,
                    display_name: user.display_name,
                    tenant: user.tenant,
                });
            }
        }
        let language = match &session {
            Some(session) => match state.store.me(&session.actor).await {
                Ok(user) => match user.language {
                    Some(language) => language,
                    None => tenant_language(state, session).await,
                },
                Err(_) => Language::En,
            },
            None => jar
                .get(LANGUAGE_COOKIE)
                .and_then(|c| Language::parse(c.value()))
                .unwrap_or_else(|| {
                    i18n::negotiate(
                        parts
                            .headers
                            .get(header::ACCEPT_LANGUAGE)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or(""),
                    )
                }),
        };
        let tr = Tr::new(language);
        let csrf = match &session {
            Some(session) => csrf::for_session(&session.token),
            None => jar
                .get(csrf::LOGIN_COOKIE)
                .map(|c| c.value().to_owned())
                .unwrap_or_default(),
        };
        Ok(Ctx {
            notice: query
                .get("notice")
                .map(|key| tr.t(&format!("notice-{key}"))),
            // Set by `back_with_error`; never from the URL.
            error: jar
                .get(super::error::FLASH_COOKIE)
                .map(|cookie| super::error::decode(cookie.value()))
                .filter(|message| !message.is_empty()),
            tr,
            session,
            csrf,
            path,
            jar,
        })
    }
}

async fn tenant_language(state: &AppState, session: &Session) -> Language {
    let Some(tenant) = &session.tenant else {
        return Language::En;
    };
    match state
        .store
        .tenant_access(&session.actor, tenant, store::TenantNeed::View)
        .await
    {
        Ok(access) => state
            .store
            .get_tenant(&access)
            .await
            .map_or(Language::En, |t| t.default_language),
        Err(_) => Language::En,
    }
}

impl Ctx {
    /// The logged-in actor, or a redirect to the login page.
    pub fn actor(&self) -> ConsoleResult<&Actor> {
        let session = self
            .session
            .as_ref()
            .ok_or_else(|| ConsoleError::NotLoggedIn {
                next: self.path.clone(),
            })?;
        if session.actor.password_change_required {
            return Err(ConsoleError::PasswordChange);
        }
        Ok(&session.actor)
    }

    pub fn session(&self) -> ConsoleResult<&Session> {
        self.actor()?;
        self.session.as_ref().ok_or(ConsoleError::NotLoggedIn {
            next: self.path.clone(),
        })
    }

    pub fn check_csrf(&self, given: &str) -> ConsoleResult<()> {
        if csrf::matches(&self.csrf, given) {
            Ok(())
        } else {
            Err(ConsoleError::Csrf)
        }
    }

    pub fn page(&self, title_key: &str) -> Page {
        self.page_titled(self.tr.t(title_key))
    }

    pub fn page_titled(&self, title: String) -> Page {
        let nav = self.session.as_ref().map(|session| Nav {
            username: session.username.clone(),
            display_name: session.display_name.clone(),
            staff: matches!(
                session.actor.role,
                Role::ProviderAdmin | Role::ProviderOperator
            ),
            provider_admin: session.actor.role == Role::ProviderAdmin,
            tenant: session.tenant.clone(),
            tenant_admin: session.actor.role == Role::TenantAdmin,
        });
        Page {
            tr: self.tr,
            title,
            csrf: self.csrf.clone(),
            nav,
            notice: self.notice.clone(),
            error: self.error.clone(),
            warning: None,
            path: self.path.clone(),
        }
    }
}

fn human_bytes(count: u64, language: Language) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if count < 1000 {
        return format!("{count} B");
    }
    // Precision is not the point: one decimal is what people compare.
    #[allow(clippy::cast_precision_loss)]
    let mut value = count as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{} {}", Tr::new(language).decimal(value, 1), UNITS[unit])
}

/// A `<time>` element: UTC in the markup (true without a script), the
/// reader's own time zone where `/assets/local-time.js` runs.
pub struct LocalTime(time::OffsetDateTime);

impl std::fmt::Display for LocalTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let utc = self.0.to_offset(time::UtcOffset::UTC);
        let datetime = utc
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|_| std::fmt::Error)?;
        write!(
            f,
            "<time datetime=\"{datetime}\" data-local>{}</time>",
            super::tenant::short_time(&utc)
        )
    }
}

// Made only from a timestamp: nothing in it needs escaping.
impl askama::filters::HtmlSafe for LocalTime {}

#[cfg(test)]
mod tests {
    use api_types::Language;

    #[test]
    fn traffic_reads_as_people_write_it() {
        assert_eq!(super::human_bytes(0, Language::En), "0 B");
        assert_eq!(super::human_bytes(999, Language::En), "999 B");
        assert_eq!(super::human_bytes(1_500, Language::En), "1.5 kB");
        assert_eq!(super::human_bytes(1_500_000, Language::De), "1,5 MB");
        assert_eq!(super::human_bytes(2_340_000_000, Language::Nl), "2,3 GB");
        assert_eq!(super::human_bytes(u64::MAX, Language::En), "18446.7 PB");
    }

    #[test]
    fn a_time_is_utc_in_the_markup_for_the_script_to_localise() {
        let at = time::macros::datetime!(2026-12-03 21:05:09 +01:00);
        assert_eq!(
            super::LocalTime(at).to_string(),
            "<time datetime=\"2026-12-03T20:05:09Z\" data-local>2026-12-03 20:05 UTC</time>"
        );
    }
}
