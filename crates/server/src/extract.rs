//! Request extractors. Authorization is a typed handler argument: a handler
//! that takes [`ProviderStaff`] or [`TenantManage`] cannot run without the
//! capability, and the check itself lives in `store::authz`.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path};
use axum::http::header;
use axum::http::request::Parts;
use store::{Actor, ProviderAccess, ProviderNeed, StoreError, TenantAccess, TenantNeed};

use crate::AppState;
use crate::error::ApiError;

/// JSON body whose rejections are problem documents. Every request body of
/// the API is an object: serde would also fill a struct from an array of
/// its fields in order (`[null, null]`), which the document does not allow.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(value) =
            axum::Json::<serde_json::Value>::from_request(request, state).await?;
        if !value.is_object() {
            return Err(ApiError::Unprocessable(
                "the body must be a JSON object".to_owned(),
            ));
        }
        serde_path_to_error::deserialize(value)
            .map(ApiJson)
            .map_err(|error| ApiError::Unprocessable(format!("the body does not fit: {error}")))
    }
}

/// Path parameters whose rejections are problem documents.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Query parameters whose rejections are problem documents.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// The address of the peer that sent the request.
pub fn client_addr(parts: &Parts) -> Option<String> {
    client_addr_in(&parts.extensions)
}

/// [`client_addr`] from a request's extensions.
pub fn client_addr_in(extensions: &axum::http::Extensions) -> Option<String> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
}

fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|token| !token.is_empty())
}

/// Any logged-in caller who has no one-time password left to replace.
pub struct Authenticated(pub Actor);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let AuthenticatedWithOneTimePassword(actor) =
            AuthenticatedWithOneTimePassword::from_request_parts(parts, state).await?;
        if actor.password_change_required {
            return Err(StoreError::Forbidden(
                "you logged in with a one-time password; set your own first \
                 (`homegate password` or POST /api/v1/me/password)"
                    .to_owned(),
            )
            .into());
        }
        Ok(Authenticated(actor))
    }
}

/// Any logged-in caller, even one who must still replace a one-time password
/// (for `/me`, changing the password and logging out).
pub struct AuthenticatedWithOneTimePassword(pub Actor);

impl FromRequestParts<AppState> for AuthenticatedWithOneTimePassword {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(actor) = parts.extensions.get::<Actor>() {
            return Ok(AuthenticatedWithOneTimePassword(actor.clone()));
        }
        let token = bearer_token(parts).ok_or_else(|| {
            StoreError::Unauthenticated(
                "send 'Authorization: Bearer <token>'; get a token with `homegate login`"
                    .to_owned(),
            )
        })?;
        let actor = state.store.authenticate(token, client_addr(parts)).await?;
        parts.extensions.insert(actor.clone());
        Ok(AuthenticatedWithOneTimePassword(actor))
    }
}

/// The caller managing their own account (password, second factors, API
/// tokens) with a full-scope credential: a tenant-restricted token is
/// refused here, once for every account endpoint.
pub struct AccountOwner(pub Actor);

impl FromRequestParts<AppState> for AccountOwner {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Authenticated(actor) = Authenticated::from_request_parts(parts, state).await?;
        actor.full_scope()?;
        Ok(AccountOwner(actor))
    }
}

/// [`AccountOwner`] that may still have to replace a one-time password
/// (for changing it).
pub struct AccountOwnerWithOneTimePassword(pub Actor);

impl FromRequestParts<AppState> for AccountOwnerWithOneTimePassword {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let AuthenticatedWithOneTimePassword(actor) =
            AuthenticatedWithOneTimePassword::from_request_parts(parts, state).await?;
        actor.full_scope()?;
        Ok(AccountOwnerWithOneTimePassword(actor))
    }
}

/// The bearer secret of the request (for logout).
pub struct BearerSecret(pub String);

impl<S: Send + Sync> FromRequestParts<S> for BearerSecret {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        bearer_token(parts)
            .map(|token| BearerSecret(token.to_owned()))
            .ok_or_else(|| StoreError::Unauthenticated("no bearer token".to_owned()).into())
    }
}

macro_rules! provider_extractor {
    ($(#[$doc:meta])* $name:ident, $need:expr) => {
        $(#[$doc])*
        pub struct $name(pub Actor, pub ProviderAccess);

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, ApiError> {
                let Authenticated(actor) = Authenticated::from_request_parts(parts, state).await?;
                let access = actor.provider($need)?;
                Ok($name(actor, access))
            }
        }
    };
}

provider_extractor!(
    /// Provider admins.
    ProviderAdmin,
    ProviderNeed::Admin
);
provider_extractor!(
    /// Provider admins and operators.
    ProviderStaff,
    ProviderNeed::Staff
);

async fn tenant_from_path(
    parts: &mut Parts,
    state: &AppState,
    need: TenantNeed,
) -> Result<(Actor, TenantAccess), ApiError> {
    let Authenticated(actor) = Authenticated::from_request_parts(parts, state).await?;
    let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state).await?;
    let tenant = params
        .get("tenant")
        .ok_or_else(|| ApiError::BadRequest("the path names no tenant".to_owned()))?;
    let access = state.store.tenant_access(&actor, tenant, need).await?;
    Ok((actor, access))
}

macro_rules! tenant_extractor {
    ($(#[$doc:meta])* $name:ident, $need:expr) => {
        $(#[$doc])*
        pub struct $name(pub Actor, pub TenantAccess);

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, ApiError> {
                let (actor, access) = tenant_from_path(parts, state, $need).await?;
                Ok($name(actor, access))
            }
        }
    };
}

tenant_extractor!(
    /// May view the `{tenant}` of the path.
    TenantView,
    TenantNeed::View
);
tenant_extractor!(
    /// May manage users, groups, applications, rules and devices of `{tenant}`.
    TenantManage,
    TenantNeed::Manage
);
tenant_extractor!(
    /// May change the capacity of `{tenant}`: quota and region.
    TenantQuota,
    TenantNeed::Quota
);
tenant_extractor!(
    /// May list and revoke devices of `{tenant}`.
    TenantOperate,
    TenantNeed::Operate
);

/// An enrolled device, by its device token (`Authorization: Bearer hgd_…`).
pub struct DeviceAuth(pub store::enrollment::DeviceIdentity);

impl FromRequestParts<AppState> for DeviceAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(parts).ok_or_else(|| {
            StoreError::Unauthenticated("send the device token as a bearer token".to_owned())
        })?;
        Ok(DeviceAuth(state.store.authenticate_device(token).await?))
    }
}

/// The caller acting for themself (own devices, own codes).
pub struct Me(pub Actor, pub store::SelfAccess);

impl FromRequestParts<AppState> for Me {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Authenticated(actor) = Authenticated::from_request_parts(parts, state).await?;
        let access = state.store.self_access(&actor).await?;
        Ok(Me(actor, access))
    }
}
