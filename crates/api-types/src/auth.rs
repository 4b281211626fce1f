//! Login, the current actor, and API tokens.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::tenancy::User;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// Name for the token this login creates, e.g. `cli@laptop`.
    #[serde(default)]
    pub token_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token for `Authorization: Bearer …`; absent while a second
    /// factor is still needed (see `mfa`).
    pub token: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    pub user: User,
    /// The password is a one-time credential and must be changed.
    pub password_change_required: bool,
    /// The password was right; finish with a second factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa: Option<MfaChallenge>,
}

/// A login waiting for its second factor.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MfaChallenge {
    /// Pass this to the second step; valid for 5 minutes.
    pub ticket: String,
    /// `totp`, `webauthn` and/or `recovery`.
    pub methods: Vec<String>,
}

/// The second step of a login with a code (TOTP or recovery code).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaCode {
    pub ticket: String,
    pub code: String,
}

/// Starting a WebAuthn ceremony that belongs to a login.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaTicket {
    pub ticket: String,
}

/// A WebAuthn ceremony's options for the browser, and the ticket to finish it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebauthnChallenge {
    pub ticket: String,
    /// `PublicKeyCredentialCreationOptions` / `…RequestOptions` as JSON.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

/// The browser's answer to a WebAuthn ceremony.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebauthnFinish {
    pub ticket: String,
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
    /// A name for a new security key or passkey.
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TotpSetup {
    /// Base32 secret, for typing into an authenticator app.
    pub secret: String,
    /// `otpauth://` URL, for scanning.
    pub otpauth_url: String,
    /// The URL as a QR code (SVG).
    pub qr_svg: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    pub code: String,
}

/// Proof of the second factor for changing it (`POST /me/totp`, `POST
/// /me/recovery-codes`): with an authenticator app turned on, its current
/// code is required; without one, `{}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FreshSecondFactor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// One-time recovery codes, shown once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecoveryCodes {
    pub codes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebauthnCredential {
    pub id: String,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

/// The caller's second factors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MfaStatus {
    pub totp_enabled: bool,
    pub webauthn: Vec<WebauthnCredential>,
    pub recovery_codes_left: u32,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_mfa_at: Option<OffsetDateTime>,
}

/// A tenant's own OpenID Connect identity provider (one per tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IdentityProvider {
    /// Issuer URL, e.g. `https://login.lemgo.de/realms/staff`.
    pub issuer: String,
    pub client_id: String,
    /// Claim naming the homegate username: `email`, `preferred_username` or `sub`.
    pub username_claim: String,
    /// Logins through this provider count as multi-factor (the provider enforces MFA).
    pub counts_as_mfa: bool,
    /// Create unknown users as employees on first login.
    pub auto_provision: bool,
    /// The redirect URI to register at the provider.
    pub redirect_uri: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetIdentityProvider {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    #[serde(default)]
    pub username_claim: Option<String>,
    #[serde(default)]
    pub counts_as_mfa: bool,
    #[serde(default)]
    pub auto_provision: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

/// Who the caller is.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub user: User,
    pub token_scope: TokenScope,
}

/// What an API token may touch: everything its user may (`provider`), or only one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TokenScope {
    /// All the user's rights.
    Full,
    /// Only the named tenant (slug), even for provider staff.
    Tenant { tenant: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    /// Username of the token's owner.
    pub user: String,
    pub scope: TokenScope,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    /// Issued by a login (a browser session or a login token), not made on
    /// purpose; ends with a password change or reset.
    #[serde(default)]
    pub login: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub name: String,
    /// Restrict the token to this tenant (slug or id).
    #[serde(default)]
    pub tenant: Option<String>,
    /// Days until expiry; absent = never expires.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenCreated {
    pub token: ApiToken,
    /// The secret, shown this one time only.
    pub secret: String,
}
