//! Request guards: tenant credentials, the signed-in user, JSON bodies with clear errors.

use crate::tokens::{Claims, TokenError, TokenKind};
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use nx::NxId;
use serde::de::DeserializeOwned;

/// An error answer in DRF style: `{"detail": "..."}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: String,
    /// Seconds to wait, sent as `Retry-After`.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
            retry_after: None,
        }
    }
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, detail)
    }
    /// 429 with a `Retry-After` in whole seconds.
    pub fn too_many(wait: std::time::Duration, detail: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, detail);
        e.retry_after = Some(wait.as_secs().max(1));
        e
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            Json(serde_json::json!({ "detail": self.detail })),
        )
            .into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        r
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "storage failure");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "storage failure; try again",
        )
    }
}

/// Checks `X-API-Key` / `X-Secret-Key` against the tenant configuration.
pub fn check_tenant(parts: &Parts, state: &AppState) -> Result<(), ApiError> {
    let h = |k: &str| {
        parts
            .headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let key_ok = constant_time_eq(h("X-API-Key").as_bytes(), state.cfg.api_key.as_bytes());
    let secret_ok = constant_time_eq(
        h("X-Secret-Key").as_bytes(),
        state.cfg.secret_key.as_bytes(),
    );
    if key_ok && secret_ok {
        Ok(())
    } else {
        Err(ApiError::unauthorized("Invalid API key or secret."))
    }
}

/// Compares secrets without an early exit on the first differing byte.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A request carrying valid tenant credentials.
pub struct Tenant;

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        check_tenant(parts, state)?;
        Ok(Tenant)
    }
}

/// The user a request is made for, from `X-NX-Token` or `Authorization: Bearer`.
pub struct AuthUser {
    pub jid: NxId,
}

/// Checks a user token: signature, expiry, kind, this server's domain, and that it was not
/// revoked (its version is the user's current one, and the user still exists).
pub async fn verify_user_token(
    state: &AppState,
    token: &str,
    kind: TokenKind,
) -> Result<(NxId, Claims), ApiError> {
    let claims = state
        .tokens
        .verify(token, kind)
        .map_err(|e| ApiError::unauthorized(format!("Given token not valid: {e}.")))?;
    let jid = NxId::parse_jid(claims.user())
        .map_err(|_| ApiError::unauthorized("Given token not valid."))?;
    if jid.domain() != state.cfg.domain {
        return Err(ApiError::unauthorized("Token is for another domain."));
    }
    match state.store.token_version(jid.local()).await? {
        Some(v) if v == claims.ver.unwrap_or(0) => Ok((jid, claims)),
        // Minted with the key for a user the store does not hold yet: nothing to revoke.
        None if claims.ver.unwrap_or(0) == 0 && kind == TokenKind::Nx => Ok((jid, claims)),
        _ => Err(ApiError::unauthorized(format!(
            "Given token not valid: {}.",
            TokenError::Revoked
        ))),
    }
}

/// The user proven by the request's token, if it carries one.
pub async fn token_user(parts: &HeaderMap, state: &AppState) -> Result<Option<NxId>, ApiError> {
    let header = |k: &str| parts.get(k).and_then(|v| v.to_str().ok()).map(str::trim);
    let (token, kind) = if let Some(nx) = header("X-NX-Token").filter(|t| !t.is_empty()) {
        (nx, TokenKind::Nx)
    } else if let Some(b) = header("Authorization").and_then(|a| a.strip_prefix("Bearer ")) {
        (b.trim(), TokenKind::Access)
    } else {
        return Ok(None);
    };
    Ok(Some(verify_user_token(state, token, kind).await?.0))
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        check_tenant(parts, state)?;
        match token_user(&parts.headers, state).await? {
            Some(jid) => Ok(AuthUser { jid }),
            None => Err(ApiError::unauthorized(
                "Authentication credentials were not provided.",
            )),
        }
    }
}

/// The client's address (the TCP peer; a reverse proxy in front makes it the proxy's).
pub struct ClientAddr(pub std::net::IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let ip = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        Ok(ClientAddr(ip))
    }
}

/// A JSON body whose errors are reported as `{"detail": ...}` with status 400.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(e) => Err(match e {
                JsonRejection::MissingJsonContentType(_) => ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "Expected a JSON body with Content-Type: application/json.",
                ),
                other => ApiError::bad_request(format!("Invalid JSON: {}", other.body_text())),
            }),
        }
    }
}
