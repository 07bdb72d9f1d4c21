//! Request guards: tenant credentials, the signed-in user, JSON bodies with clear errors.

use crate::tokens::TokenKind;
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
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
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self { status, detail: detail.into() }
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
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(serde_json::json!({ "detail": self.detail }))).into_response()
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "storage failure");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "storage failure; try again")
    }
}

/// Checks `X-API-Key` / `X-Secret-Key` against the tenant configuration.
pub fn check_tenant(parts: &Parts, state: &AppState) -> Result<(), ApiError> {
    let h = |k: &str| parts.headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let key_ok = constant_time_eq(h("X-API-Key").as_bytes(), state.cfg.api_key.as_bytes());
    let secret_ok = constant_time_eq(h("X-Secret-Key").as_bytes(), state.cfg.secret_key.as_bytes());
    if key_ok && secret_ok {
        Ok(())
    } else {
        Err(ApiError::unauthorized("Invalid API key or secret."))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
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

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        check_tenant(parts, state)?;
        let header = |k: &str| parts.headers.get(k).and_then(|v| v.to_str().ok()).map(str::trim);
        let claims = if let Some(nx) = header("X-NX-Token").filter(|t| !t.is_empty()) {
            state.tokens.verify(nx, TokenKind::Nx)
        } else if let Some(b) = header("Authorization").and_then(|a| a.strip_prefix("Bearer ")) {
            state.tokens.verify(b.trim(), TokenKind::Access)
        } else {
            return Err(ApiError::unauthorized("Authentication credentials were not provided."));
        };
        let claims = claims.map_err(|e| ApiError::unauthorized(format!("Given token not valid: {e}.")))?;
        let jid = NxId::parse_jid(&claims.jid).map_err(|_| ApiError::unauthorized("Given token not valid."))?;
        if jid.domain() != state.cfg.domain {
            return Err(ApiError::unauthorized("Token is for another domain."));
        }
        Ok(AuthUser { jid })
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
