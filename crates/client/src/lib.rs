//! A typed client of `/api/v1`. It speaks the same wire types as the server
//! (`api-types`), so CLI and tests exercise the API exactly as users do.

#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::time::Duration;

pub mod pin;

use api_types::audit::{AuditEvent, AuditQuery};
use api_types::auth::{
    ApiToken, ChangePassword, CreateToken, FreshSecondFactor, IdentityProvider, LoginRequest,
    LoginResponse, Me, MfaCode, MfaStatus, MfaTicket, RecoveryCodes, SetIdentityProvider,
    TokenCreated, TotpCode, TotpSetup, WebauthnChallenge, WebauthnFinish,
};
use api_types::enrollment::{
    CreateEnrollmentCode, CreatePhone, DeviceConfig, DeviceStatus, EnrollRequest, EnrollResponse,
    EnrollmentCode, EnrollmentCodeCreated, PhoneConfig,
};
use api_types::infra::{CreateGateway, CreateRegion, Gateway, GatewayCreated, Region};
use api_types::problem::Problem;
use api_types::tenancy::{
    AccessRule, Application, CreateAccessRule, CreateApplication, CreateDevice, CreateGroup,
    CreateTenant, CreateUser, Device, Group, Refusal, SessionList, SetPolicy, SetQuota, Tenant,
    UpdateApplication, UpdateTenant, UpdateUser, User, UserCreated,
};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a problem document.
    #[error("{problem}")]
    Api { status: u16, problem: Problem },
    #[error("cannot reach the control plane at {url}: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("unexpected answer from the control plane ({status}): {message}")]
    Protocol { status: u16, message: String },
    #[error("invalid control-plane URL '{0}'")]
    BadUrl(String),
    #[error("cannot set up TLS: {0}")]
    Tls(String),
}

impl ClientError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } | ClientError::Protocol { status, .. } => Some(*status),
            ClientError::Unreachable { .. } | ClientError::BadUrl(_) | ClientError::Tls(_) => None,
        }
    }

    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ClientError::Api { problem, .. } => Some(problem),
            ClientError::Unreachable { .. }
            | ClientError::Protocol { .. }
            | ClientError::BadUrl(_)
            | ClientError::Tls(_) => None,
        }
    }
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

#[derive(Clone)]
pub struct Client {
    base: Url,
    token: Option<String>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

impl Client {
    /// `server` is the control plane's URL, e.g. `http://127.0.0.1:8080`.
    pub fn new(server: &str, token: Option<String>) -> Result<Client> {
        Client::pinned(server, token, None)
    }

    /// Like [`Client::new`], trusting exactly the certificate with SHA-256
    /// `pin` (hex) instead of the usual certificate authorities.
    pub fn pinned(server: &str, token: Option<String>, pin: Option<&str>) -> Result<Client> {
        let mut base =
            Url::parse(server.trim()).map_err(|_| ClientError::BadUrl(server.to_owned()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(ClientError::BadUrl(server.to_owned()));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("homegate-client/", env!("CARGO_PKG_VERSION")));
        if let Some(pin) = pin {
            let config = pin::pinned_config(pin).map_err(|e| ClientError::Tls(e.to_string()))?;
            builder = builder.use_preconfigured_tls(config);
        }
        let http = builder.build().map_err(|source| ClientError::Unreachable {
            url: server.to_owned(),
            source,
        })?;
        Ok(Client { base, token, http })
    }

    pub fn with_token(&self, token: impl Into<String>) -> Client {
        Client {
            base: self.base.clone(),
            token: Some(token.into()),
            http: self.http.clone(),
        }
    }

    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The control plane's `/metrics` (Prometheus text), which answers
    /// provider staff's tokens only.
    pub async fn metrics(&self) -> Result<String> {
        let url = self
            .base
            .join("metrics")
            .map_err(|_| ClientError::BadUrl(self.base.to_string()))?;
        let response = self.send::<()>(Method::GET, url, None).await?;
        let status = response.status();
        response.text().await.map_err(|e| ClientError::Protocol {
            status: status.as_u16(),
            message: e.to_string(),
        })
    }

    /// The URL of an API path made of (percent-encoded) segments.
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v1"]).extend(segments);
        }
        url
    }

    async fn send<B: Serialize>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
    ) -> Result<reqwest::Response> {
        let mut request = self.http.request(method, url.clone());
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        self.finish(request).await
    }

    /// Sends a prepared request; a problem answer becomes [`ClientError::Api`].
    /// 304 passes as an answer (only conditional requests get it).
    async fn finish(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response> {
        let response = request
            .send()
            .await
            .map_err(|source| ClientError::Unreachable {
                url: self.base.to_string(),
                source,
            })?;
        let status = response.status();
        if status.is_success() || status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(response);
        }
        let text = response.text().await.unwrap_or_default();
        match serde_json::from_str::<Problem>(&text) {
            Ok(problem) => Err(ClientError::Api {
                status: status.as_u16(),
                problem,
            }),
            Err(_) => Err(ClientError::Protocol {
                status: status.as_u16(),
                message: text.chars().take(300).collect(),
            }),
        }
    }

    async fn json<T: DeserializeOwned>(response: reqwest::Response) -> Result<T> {
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| ClientError::Protocol {
            status: status.as_u16(),
            message: e.to_string(),
        })?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol {
            status: status.as_u16(),
            message: format!("cannot decode the answer: {e}"),
        })
    }

    pub async fn get<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T> {
        let response = self
            .send::<()>(Method::GET, self.url(segments), None)
            .await?;
        Self::json(response).await
    }

    pub async fn get_query<T: DeserializeOwned, Q: Serialize>(
        &self,
        segments: &[&str],
        query: &Q,
    ) -> Result<T> {
        let mut url = self.url(segments);
        let encoded = serde_urlencoded_query(query);
        if !encoded.is_empty() {
            url.set_query(Some(&encoded));
        }
        let response = self.send::<()>(Method::GET, url, None).await?;
        Self::json(response).await
    }

    /// One page of a paginated list (`?limit=&cursor=&q=`) and the cursor
    /// of the next page, from the answer's `Link: <…>; rel="next"` header.
    pub async fn get_page<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &PageQuery,
    ) -> Result<(T, Option<String>)> {
        let mut url = self.url(segments);
        let encoded = serde_urlencoded_query(query);
        if !encoded.is_empty() {
            url.set_query(Some(&encoded));
        }
        let response = self.send::<()>(Method::GET, url.clone(), None).await?;
        let next = response
            .headers()
            .get_all(reqwest::header::LINK)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(|value| next_cursor(&url, value));
        Ok((Self::json(response).await?, next))
    }

    /// Every item of a paginated list, following its cursors (or the first
    /// `pages.limit`).
    pub async fn get_all_pages<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        pages: Pages<'_>,
    ) -> Result<Vec<T>> {
        let mut items: Vec<T> = Vec::new();
        let mut cursor = None;
        loop {
            let want = pages.next_size(items.len());
            if want == 0 {
                return Ok(items);
            }
            let query = PageQuery {
                limit: u32::try_from(want).ok(),
                cursor: cursor.take(),
                q: pages.search.map(str::to_owned),
            };
            let (page, next): (Vec<T>, _) = self.get_page(segments, &query).await?;
            items.extend(page);
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(items),
            }
        }
    }

    /// GET returning the raw body as text (exports).
    pub async fn get_text<Q: Serialize>(&self, segments: &[&str], query: &Q) -> Result<String> {
        let bytes = self.get_bytes(segments, query).await?;
        String::from_utf8(bytes).map_err(|e| ClientError::Protocol {
            status: 200,
            message: format!("the answer is not text: {e}"),
        })
    }

    /// GET returning the raw body (exports, documents).
    pub async fn get_bytes<Q: Serialize>(&self, segments: &[&str], query: &Q) -> Result<Vec<u8>> {
        let mut url = self.url(segments);
        let encoded = serde_urlencoded_query(query);
        if !encoded.is_empty() {
            url.set_query(Some(&encoded));
        }
        let response = self.send::<()>(Method::GET, url, None).await?;
        let status = response.status();
        response
            .bytes()
            .await
            .map(|bytes| bytes.to_vec())
            .map_err(|e| ClientError::Protocol {
                status: status.as_u16(),
                message: e.to_string(),
            })
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        segments: &[&str],
        body: &B,
    ) -> Result<T> {
        let response = self
            .send(Method::POST, self.url(segments), Some(body))
            .await?;
        Self::json(response).await
    }

    pub async fn post_empty<B: Serialize>(&self, segments: &[&str], body: &B) -> Result<()> {
        self.send(Method::POST, self.url(segments), Some(body))
            .await?;
        Ok(())
    }

    pub async fn patch<B: Serialize, T: DeserializeOwned>(
        &self,
        segments: &[&str],
        body: &B,
    ) -> Result<T> {
        let response = self
            .send(Method::PATCH, self.url(segments), Some(body))
            .await?;
        Self::json(response).await
    }

    pub async fn put<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T> {
        let response = self
            .send::<()>(Method::PUT, self.url(segments), None)
            .await?;
        Self::json(response).await
    }

    pub async fn put_json<B: Serialize, T: DeserializeOwned>(
        &self,
        segments: &[&str],
        body: &B,
    ) -> Result<T> {
        let response = self
            .send(Method::PUT, self.url(segments), Some(body))
            .await?;
        Self::json(response).await
    }

    pub async fn delete(&self, segments: &[&str]) -> Result<()> {
        let response = self
            .send::<()>(Method::DELETE, self.url(segments), None)
            .await?;
        if response.status() == StatusCode::NO_CONTENT || response.status().is_success() {
            Ok(())
        } else {
            Err(ClientError::Protocol {
                status: response.status().as_u16(),
                message: "unexpected status".to_owned(),
            })
        }
    }

    pub async fn delete_json<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T> {
        let response = self
            .send::<()>(Method::DELETE, self.url(segments), None)
            .await?;
        Self::json(response).await
    }
}

/// The most items the server gives in one page.
const PAGE_MAX: usize = 1000;

/// How to walk a paginated list: items per request, how many in all,
/// search text.
#[derive(Debug, Clone, Copy)]
pub struct Pages<'a> {
    pub page_size: usize,
    pub limit: Option<usize>,
    pub search: Option<&'a str>,
}

impl Default for Pages<'_> {
    fn default() -> Self {
        Pages {
            page_size: PAGE_MAX,
            limit: None,
            search: None,
        }
    }
}

impl Pages<'_> {
    /// The size of the next request when `have` items are in.
    fn next_size(&self, have: usize) -> usize {
        let size = self.page_size.clamp(1, PAGE_MAX);
        self.limit
            .map_or(size, |limit| limit.saturating_sub(have).min(size))
    }
}

/// The query of a paginated list.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PageQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    pub q: Option<String>,
}

/// The `cursor` of a `Link` header value's `rel="next"` URL.
fn next_cursor(base: &Url, link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        if !params.split(';').any(|p| p.trim() == "rel=\"next\"") {
            return None;
        }
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let url = base.join(target).ok()?;
        url.query_pairs()
            .find(|(key, _)| key == "cursor")
            .map(|(_, value)| value.into_owned())
    })
}

fn serde_urlencoded_query<Q: Serialize>(query: &Q) -> String {
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(query) else {
        return String::new();
    };
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in map {
        match value {
            serde_json::Value::Null => {}
            serde_json::Value::String(text) => {
                serializer.append_pair(&key, &text);
            }
            other => {
                serializer.append_pair(&key, &other.to_string());
            }
        }
    }
    serializer.finish()
}

/// Typed calls, one per endpoint.
impl Client {
    pub async fn login(&self, request: &LoginRequest) -> Result<LoginResponse> {
        self.post(&["auth", "login"], request).await
    }

    pub async fn login_totp(&self, request: &MfaCode) -> Result<LoginResponse> {
        self.post(&["auth", "login", "totp"], request).await
    }

    pub async fn login_recovery(&self, request: &MfaCode) -> Result<LoginResponse> {
        self.post(&["auth", "login", "recovery"], request).await
    }

    pub async fn login_webauthn_start(&self, request: &MfaTicket) -> Result<WebauthnChallenge> {
        self.post(&["auth", "login", "webauthn", "start"], request)
            .await
    }

    pub async fn login_webauthn_finish(&self, request: &WebauthnFinish) -> Result<LoginResponse> {
        self.post(&["auth", "login", "webauthn", "finish"], request)
            .await
    }

    pub async fn mfa_status(&self) -> Result<MfaStatus> {
        self.get(&["me", "mfa"]).await
    }

    pub async fn totp_start(&self, request: &FreshSecondFactor) -> Result<TotpSetup> {
        self.post(&["me", "totp"], request).await
    }

    pub async fn totp_confirm(&self, request: &TotpCode) -> Result<RecoveryCodes> {
        self.post(&["me", "totp", "confirm"], request).await
    }

    pub async fn totp_disable(&self, request: &TotpCode) -> Result<()> {
        self.post_empty(&["me", "totp", "disable"], request).await
    }

    pub async fn new_recovery_codes(&self, request: &FreshSecondFactor) -> Result<RecoveryCodes> {
        self.post(&["me", "recovery-codes"], request).await
    }

    pub async fn webauthn_register_start(&self) -> Result<WebauthnChallenge> {
        self.post(
            &["me", "webauthn", "register", "start"],
            &serde_json::json!({}),
        )
        .await
    }

    pub async fn webauthn_register_finish(&self, request: &WebauthnFinish) -> Result<()> {
        self.post_empty(&["me", "webauthn", "register", "finish"], request)
            .await
    }

    pub async fn get_identity_provider(&self, tenant: &str) -> Result<Option<IdentityProvider>> {
        self.get(&["tenants", tenant, "identity-provider"]).await
    }

    pub async fn set_identity_provider(
        &self,
        tenant: &str,
        request: &SetIdentityProvider,
    ) -> Result<IdentityProvider> {
        self.put_json(&["tenants", tenant, "identity-provider"], request)
            .await
    }

    pub async fn delete_identity_provider(&self, tenant: &str) -> Result<()> {
        self.delete(&["tenants", tenant, "identity-provider"]).await
    }

    pub async fn logout(&self) -> Result<()> {
        self.post_empty(&["auth", "logout"], &serde_json::json!({}))
            .await
    }

    /// The control plane's public URL and certificate pin.
    pub async fn server_info(&self) -> Result<api_types::public_url::ServerInfo> {
        self.get(&["server"]).await
    }

    pub async fn me(&self) -> Result<Me> {
        self.get(&["me"]).await
    }

    pub async fn change_password(&self, request: &ChangePassword) -> Result<()> {
        self.post_empty(&["me", "password"], request).await
    }

    pub async fn list_tokens(&self) -> Result<Vec<ApiToken>> {
        self.get(&["tokens"]).await
    }

    pub async fn create_token(&self, request: &CreateToken) -> Result<TokenCreated> {
        self.post(&["tokens"], request).await
    }

    pub async fn revoke_token(&self, id: &str) -> Result<()> {
        self.delete(&["tokens", id]).await
    }

    pub async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        self.get(&["tenants"]).await
    }

    pub async fn create_tenant(&self, request: &CreateTenant) -> Result<Tenant> {
        self.post(&["tenants"], request).await
    }

    pub async fn get_tenant(&self, tenant: &str) -> Result<Tenant> {
        self.get(&["tenants", tenant]).await
    }

    pub async fn update_tenant(&self, tenant: &str, request: &UpdateTenant) -> Result<Tenant> {
        self.patch(&["tenants", tenant], request).await
    }

    pub async fn delete_tenant(&self, tenant: &str) -> Result<()> {
        self.delete(&["tenants", tenant]).await
    }

    pub async fn set_quota(&self, tenant: &str, request: &SetQuota) -> Result<Tenant> {
        self.patch(&["tenants", tenant, "quota"], request).await
    }

    pub async fn set_policy(&self, tenant: &str, request: &SetPolicy) -> Result<Tenant> {
        self.patch(&["tenants", tenant, "policy"], request).await
    }

    pub async fn list_provider_users(&self) -> Result<Vec<User>> {
        self.get(&["users"]).await
    }

    pub async fn create_provider_user(&self, request: &CreateUser) -> Result<UserCreated> {
        self.post(&["users"], request).await
    }

    /// All users of a tenant (every page).
    pub async fn list_users(&self, tenant: &str) -> Result<Vec<User>> {
        self.get_all_pages(&["tenants", tenant, "users"], Pages::default())
            .await
    }

    /// Resets a user's password (and, if asked, second factor).
    pub async fn reset_password(
        &self,
        tenant: &str,
        user: &str,
        request: &api_types::tenancy::ResetPassword,
    ) -> Result<api_types::tenancy::PasswordReset> {
        self.post(
            &["tenants", tenant, "users", user, "reset-password"],
            request,
        )
        .await
    }

    pub async fn create_user(&self, tenant: &str, request: &CreateUser) -> Result<UserCreated> {
        self.post(&["tenants", tenant, "users"], request).await
    }

    /// Starts importing employees from CSV as a job (see [`Client::get_job`]).
    pub async fn import_users(
        &self,
        tenant: &str,
        request: &api_types::jobs::ImportUsers,
    ) -> Result<api_types::jobs::JobStarted> {
        self.post(&["tenants", tenant, "users", "import"], request)
            .await
    }

    pub async fn list_jobs(&self, tenant: &str) -> Result<Vec<api_types::jobs::Job>> {
        self.get(&["tenants", tenant, "jobs"]).await
    }

    /// A job as it stands; with `result_key`, its result once it is done
    /// (handed out only once).
    pub async fn get_job(
        &self,
        tenant: &str,
        job: &str,
        result_key: Option<&str>,
    ) -> Result<api_types::jobs::Job> {
        let mut request = self
            .http
            .request(Method::GET, self.url(&["tenants", tenant, "jobs", job]));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = result_key {
            request = request.header(api_types::jobs::RESULT_KEY_HEADER, key);
        }
        Self::json(self.finish(request).await?).await
    }

    pub async fn get_user(&self, tenant: &str, user: &str) -> Result<User> {
        self.get(&["tenants", tenant, "users", user]).await
    }

    pub async fn update_user(
        &self,
        tenant: &str,
        user: &str,
        request: &UpdateUser,
    ) -> Result<User> {
        self.patch(&["tenants", tenant, "users", user], request)
            .await
    }

    pub async fn delete_user(&self, tenant: &str, user: &str) -> Result<()> {
        self.delete(&["tenants", tenant, "users", user]).await
    }

    pub async fn list_groups(&self, tenant: &str) -> Result<Vec<Group>> {
        self.get(&["tenants", tenant, "groups"]).await
    }

    pub async fn create_group(&self, tenant: &str, request: &CreateGroup) -> Result<Group> {
        self.post(&["tenants", tenant, "groups"], request).await
    }

    pub async fn get_group(&self, tenant: &str, group: &str) -> Result<Group> {
        self.get(&["tenants", tenant, "groups", group]).await
    }

    pub async fn delete_group(&self, tenant: &str, group: &str) -> Result<()> {
        self.delete(&["tenants", tenant, "groups", group]).await
    }

    pub async fn add_group_member(&self, tenant: &str, group: &str, user: &str) -> Result<Group> {
        self.put(&["tenants", tenant, "groups", group, "members", user])
            .await
    }

    pub async fn remove_group_member(
        &self,
        tenant: &str,
        group: &str,
        user: &str,
    ) -> Result<Group> {
        self.delete_json(&["tenants", tenant, "groups", group, "members", user])
            .await
    }

    pub async fn list_applications(&self, tenant: &str) -> Result<Vec<Application>> {
        self.get(&["tenants", tenant, "applications"]).await
    }

    pub async fn create_application(
        &self,
        tenant: &str,
        request: &CreateApplication,
    ) -> Result<Application> {
        self.post(&["tenants", tenant, "applications"], request)
            .await
    }

    pub async fn get_application(&self, tenant: &str, application: &str) -> Result<Application> {
        self.get(&["tenants", tenant, "applications", application])
            .await
    }

    pub async fn update_application(
        &self,
        tenant: &str,
        application: &str,
        request: &UpdateApplication,
    ) -> Result<Application> {
        self.patch(&["tenants", tenant, "applications", application], request)
            .await
    }

    pub async fn delete_application(&self, tenant: &str, application: &str) -> Result<()> {
        self.delete(&["tenants", tenant, "applications", application])
            .await
    }

    pub async fn list_access_rules(&self, tenant: &str) -> Result<Vec<AccessRule>> {
        self.get(&["tenants", tenant, "access-rules"]).await
    }

    pub async fn create_access_rule(
        &self,
        tenant: &str,
        request: &CreateAccessRule,
    ) -> Result<AccessRule> {
        self.post(&["tenants", tenant, "access-rules"], request)
            .await
    }

    pub async fn delete_access_rule(&self, tenant: &str, id: &str) -> Result<()> {
        self.delete(&["tenants", tenant, "access-rules", id]).await
    }

    /// All devices of a tenant (every page).
    pub async fn list_devices(&self, tenant: &str) -> Result<Vec<Device>> {
        self.get_all_pages(&["tenants", tenant, "devices"], Pages::default())
            .await
    }

    pub async fn create_device(&self, tenant: &str, request: &CreateDevice) -> Result<Device> {
        self.post(&["tenants", tenant, "devices"], request).await
    }

    pub async fn get_device(&self, tenant: &str, device: &str) -> Result<Device> {
        self.get(&["tenants", tenant, "devices", device]).await
    }

    pub async fn revoke_device(&self, tenant: &str, device: &str) -> Result<Device> {
        self.post(
            &["tenants", tenant, "devices", device, "revoke"],
            &serde_json::json!({}),
        )
        .await
    }

    /// The tenant's sessions (every page).
    pub async fn list_sessions(&self, tenant: &str) -> Result<SessionList> {
        self.find_sessions(tenant, Pages::default()).await
    }

    /// The tenant's sessions, following the pages (or the first
    /// `pages.limit`), optionally only those matching `pages.search`.
    pub async fn find_sessions(&self, tenant: &str, pages: Pages<'_>) -> Result<SessionList> {
        let segments = ["tenants", tenant, "sessions"];
        let mut cursor = None;
        let mut all: Option<SessionList> = None;
        loop {
            let want = pages.next_size(all.as_ref().map_or(0, |l| l.sessions.len()));
            if want == 0 {
                break;
            }
            let query = PageQuery {
                limit: u32::try_from(want).ok(),
                cursor: cursor.take(),
                q: pages.search.map(str::to_owned),
            };
            let (page, next): (SessionList, _) = self.get_page(&segments, &query).await?;
            match &mut all {
                Some(list) => list.sessions.extend(page.sessions),
                None => all = Some(page),
            }
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        all.ok_or_else(|| ClientError::Protocol {
            status: 200,
            message: "no sessions page".to_owned(),
        })
    }

    pub async fn end_session(&self, tenant: &str, device: &str) -> Result<()> {
        self.delete(&["tenants", tenant, "sessions", device]).await
    }

    pub async fn list_refusals(&self, tenant: &str, limit: u32) -> Result<Vec<Refusal>> {
        self.get_query(
            &["tenants", tenant, "refusals"],
            &serde_json::json!({ "limit": limit }),
        )
        .await
    }

    pub async fn my_refusals(&self) -> Result<Vec<Refusal>> {
        self.get(&["me", "refusals"]).await
    }

    pub async fn enroll(&self, request: &EnrollRequest) -> Result<EnrollResponse> {
        self.post(&["enroll"], request).await
    }

    pub async fn device_config(&self) -> Result<DeviceConfig> {
        self.get(&["device", "config"]).await
    }

    /// The device's configuration once it differs from the one tagged
    /// `known` (its `ETag`), waiting up to `wait` for a change (long poll,
    /// `Prefer: wait`). `None`: unchanged after the wait. The answer's tag
    /// is `None` from a control plane that cannot wait.
    pub async fn device_config_change(
        &self,
        known: Option<&str>,
        wait: Duration,
    ) -> Result<Option<(DeviceConfig, Option<String>)>> {
        let mut request = self
            .http
            .get(self.url(&["device", "config"]))
            .header("prefer", format!("wait={}", wait.as_secs()))
            // The server answers within `wait`; allow for the trip.
            .timeout(wait + Duration::from_secs(15));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(known) = known {
            request = request.header(reqwest::header::IF_NONE_MATCH, known);
        }
        let response = self.finish(request).await?;
        if response.status() == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        let tag = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Ok(Some((Self::json(response).await?, tag)))
    }

    pub async fn device_status(&self) -> Result<DeviceStatus> {
        self.get(&["device", "status"]).await
    }

    pub async fn device_disconnect(&self) -> Result<()> {
        self.post_empty(&["device", "disconnect"], &serde_json::json!({}))
            .await
    }

    pub async fn create_enrollment_code(
        &self,
        tenant: &str,
        user: &str,
        request: &CreateEnrollmentCode,
    ) -> Result<EnrollmentCodeCreated> {
        self.post(
            &["tenants", tenant, "users", user, "enrollment-codes"],
            request,
        )
        .await
    }

    pub async fn create_my_enrollment_code(
        &self,
        request: &CreateEnrollmentCode,
    ) -> Result<EnrollmentCodeCreated> {
        self.post(&["me", "enrollment-codes"], request).await
    }

    pub async fn list_enrollment_codes(&self, tenant: &str) -> Result<Vec<EnrollmentCode>> {
        self.get(&["tenants", tenant, "enrollment-codes"]).await
    }

    pub async fn revoke_enrollment_code(&self, tenant: &str, code: &str) -> Result<EnrollmentCode> {
        self.post(
            &["tenants", tenant, "enrollment-codes", code, "revoke"],
            &serde_json::json!({}),
        )
        .await
    }

    pub async fn my_devices(&self) -> Result<Vec<Device>> {
        self.get(&["me", "devices"]).await
    }

    pub async fn revoke_my_device(&self, device: &str) -> Result<Device> {
        self.post(&["me", "devices", device, "revoke"], &serde_json::json!({}))
            .await
    }

    pub async fn create_my_phone(&self, request: &CreatePhone) -> Result<PhoneConfig> {
        self.post(&["me", "devices", "phone"], request).await
    }

    pub async fn create_phone_for_user(
        &self,
        tenant: &str,
        user: &str,
        request: &CreatePhone,
    ) -> Result<PhoneConfig> {
        self.post(&["tenants", tenant, "users", user, "phone"], request)
            .await
    }

    pub async fn list_regions(&self) -> Result<Vec<Region>> {
        self.get(&["regions"]).await
    }

    pub async fn create_region(&self, request: &CreateRegion) -> Result<Region> {
        self.post(&["regions"], request).await
    }

    pub async fn delete_region(&self, region: &str) -> Result<()> {
        self.delete(&["regions", region]).await
    }

    pub async fn list_gateways(&self) -> Result<Vec<Gateway>> {
        self.get(&["gateways"]).await
    }

    pub async fn create_gateway(&self, request: &CreateGateway) -> Result<GatewayCreated> {
        self.post(&["gateways"], request).await
    }

    pub async fn get_gateway(&self, gateway: &str) -> Result<Gateway> {
        self.get(&["gateways", gateway]).await
    }

    pub async fn drain_gateway(&self, gateway: &str) -> Result<Gateway> {
        self.post(&["gateways", gateway, "drain"], &serde_json::json!({}))
            .await
    }

    pub async fn resume_gateway(&self, gateway: &str) -> Result<Gateway> {
        self.post(&["gateways", gateway, "resume"], &serde_json::json!({}))
            .await
    }

    pub async fn reissue_gateway_token(&self, gateway: &str) -> Result<GatewayCreated> {
        self.post(&["gateways", gateway, "token"], &serde_json::json!({}))
            .await
    }

    pub async fn delete_gateway(&self, gateway: &str) -> Result<()> {
        self.delete(&["gateways", gateway]).await
    }

    pub async fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>> {
        self.get_query(&["audit"], query).await
    }

    /// `format` is `csv` or `json`.
    pub async fn audit_export(&self, query: &AuditQuery, format: &str) -> Result<String> {
        #[derive(Serialize)]
        struct Export<'a> {
            #[serde(flatten)]
            query: &'a AuditQuery,
            format: &'a str,
        }
        self.get_text(&["audit", "export"], &Export { query, format })
            .await
    }

    pub async fn create_stick_batch(
        &self,
        tenant: &str,
        request: &api_types::sticks::CreateStickBatch,
    ) -> Result<api_types::sticks::StickBatchIssued> {
        self.post(&["tenants", tenant, "stick-batches"], request)
            .await
    }

    pub async fn list_stick_batches(
        &self,
        tenant: &str,
    ) -> Result<Vec<api_types::sticks::StickBatch>> {
        self.get(&["tenants", tenant, "stick-batches"]).await
    }

    pub async fn get_stick_batch(
        &self,
        tenant: &str,
        batch: &str,
    ) -> Result<api_types::sticks::StickBatch> {
        self.get(&["tenants", tenant, "stick-batches", batch]).await
    }

    /// `action` is `complete`, `ship` or `revoke`.
    pub async fn stick_batch_action(
        &self,
        tenant: &str,
        batch: &str,
        action: &str,
    ) -> Result<api_types::sticks::StickBatch> {
        self.post(
            &["tenants", tenant, "stick-batches", batch, action],
            &serde_json::json!({}),
        )
        .await
    }

    pub async fn reissue_stick_batch(
        &self,
        tenant: &str,
        batch: &str,
    ) -> Result<api_types::sticks::StickBatchIssued> {
        self.post(
            &["tenants", tenant, "stick-batches", batch, "reissue"],
            &serde_json::json!({}),
        )
        .await
    }

    pub async fn cancel_stick_batch(
        &self,
        tenant: &str,
        batch: &str,
    ) -> Result<api_types::sticks::StickBatch> {
        self.delete_json(&["tenants", tenant, "stick-batches", batch])
            .await
    }

    pub async fn list_sticks(
        &self,
        tenant: &str,
        batch: Option<&str>,
    ) -> Result<Vec<api_types::sticks::Stick>> {
        #[derive(Serialize)]
        struct Filter<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            batch: Option<&'a str>,
        }
        self.get_query(&["tenants", tenant, "sticks"], &Filter { batch })
            .await
    }

    pub async fn get_stick(&self, tenant: &str, stick: &str) -> Result<api_types::sticks::Stick> {
        self.get(&["tenants", tenant, "sticks", stick]).await
    }

    pub async fn update_stick(
        &self,
        tenant: &str,
        stick: &str,
        state: api_types::tenancy::DeviceState,
    ) -> Result<api_types::sticks::Stick> {
        self.patch(
            &["tenants", tenant, "sticks", stick],
            &api_types::sticks::UpdateStick { state },
        )
        .await
    }

    pub async fn manual(
        &self,
        tenant: &str,
        query: &api_types::manual::ManualQuery,
    ) -> Result<Vec<u8>> {
        self.get_bytes(&["tenants", tenant, "manual"], query).await
    }

    pub async fn manual_settings(&self, tenant: &str) -> Result<api_types::manual::ManualSettings> {
        self.get(&["tenants", tenant, "manual", "settings"]).await
    }

    pub async fn set_manual_settings(
        &self,
        tenant: &str,
        settings: &api_types::manual::ManualSettings,
    ) -> Result<api_types::manual::ManualSettings> {
        self.put_json(&["tenants", tenant, "manual", "settings"], settings)
            .await
    }
}
