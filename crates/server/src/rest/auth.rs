//! Accounts and tokens: register, login, JWT refresh, NX token minting and refresh.

use super::extract::{ApiError, Body, Tenant};
use crate::tokens::TokenKind;
use crate::AppState;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use nx::NxId;
use serde::Deserialize;
use serde_json::{json, Value};

const ACCESS_TTL: u64 = 15 * 60;
const REFRESH_TTL: u64 = 7 * 86400;
const NX_REFRESH_TTL: u64 = 30 * 86400;
const MIN_PASSWORD: usize = 8;

/// Normalises a username to this server's NX ID.
pub fn user_id(state: &AppState, username: &str) -> Result<NxId, ApiError> {
    let id = NxId::normalize(username, Some(&state.cfg.domain)).map_err(|e| ApiError::bad_request(format!("username: {e}")))?;
    if id.domain() != state.cfg.domain {
        return Err(ApiError::bad_request(format!("username: users of {} cannot sign in here", id.domain())));
    }
    if id.local().len() > 64 {
        return Err(ApiError::bad_request("username: at most 64 characters"));
    }
    Ok(id)
}

#[derive(Deserialize)]
pub struct RegisterReq {
    username: String,
    password: String,
    #[serde(default)]
    email: Option<String>,
}

pub async fn register(State(st): State<AppState>, _t: Tenant, Body(req): Body<RegisterReq>) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = user_id(&st, &req.username)?;
    if req.password.chars().count() < MIN_PASSWORD {
        return Err(ApiError::bad_request(format!("password: at least {MIN_PASSWORD} characters")));
    }
    if id.local() == st.echo_local() {
        return Err(ApiError::bad_request("username: reserved"));
    }
    let pw = req.password.clone();
    let hash = tokio::task::spawn_blocking(move || {
        Argon2::default().hash_password(pw.as_bytes(), &SaltString::generate(&mut OsRng)).map(|h| h.to_string())
    })
    .await
    .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "hashing failed"))?
    .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "hashing failed"))?;
    if !st.store.create_user(id.local(), Some(&hash), req.email.as_deref()).await? {
        return Err(ApiError::bad_request("username: A user with that username already exists."));
    }
    Ok((StatusCode::CREATED, Json(json!({ "username": id.local(), "email": req.email, "nxid": id.to_string() }))))
}

#[derive(Deserialize)]
pub struct LoginReq {
    username: String,
    password: String,
}

pub async fn login(State(st): State<AppState>, _t: Tenant, Body(req): Body<LoginReq>) -> Result<Json<Value>, ApiError> {
    let id = user_id(&st, &req.username)?;
    let denied = || ApiError::unauthorized("No active account found with the given credentials");
    let user = st.store.user(id.local()).await?.ok_or_else(denied)?;
    let hash = user.password_hash.ok_or_else(denied)?;
    let pw = req.password;
    let ok = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).map(|h| Argon2::default().verify_password(pw.as_bytes(), &h).is_ok()).unwrap_or(false)
    })
    .await
    .unwrap_or(false);
    if !ok {
        return Err(denied());
    }
    let jid = id.to_string();
    Ok(Json(json!({
        "access": st.tokens.issue(&jid, TokenKind::Access, ACCESS_TTL),
        "refresh": st.tokens.issue(&jid, TokenKind::Refresh, REFRESH_TTL),
        "nxsm_token": st.tokens.issue(&jid, TokenKind::Nx, st.cfg.nx_token_ttl),
        "nxid": jid,
        "nxws": st.nxws,
    })))
}

#[derive(Deserialize)]
pub struct RefreshReq {
    refresh: String,
}

pub async fn refresh_access(State(st): State<AppState>, _t: Tenant, Body(req): Body<RefreshReq>) -> Result<Json<Value>, ApiError> {
    let c = st.tokens.verify(&req.refresh, TokenKind::Refresh).map_err(|e| ApiError::unauthorized(format!("Token is invalid or expired ({e})")))?;
    Ok(Json(json!({ "access": st.tokens.issue(&c.jid, TokenKind::Access, ACCESS_TTL) })))
}

#[derive(Deserialize)]
pub struct NxTokenReq {
    username: String,
    #[serde(default)]
    host: Option<String>,
}

pub async fn nx_token(State(st): State<AppState>, _t: Tenant, Body(req): Body<NxTokenReq>) -> Result<Json<Value>, ApiError> {
    if let Some(h) = req.host.as_deref().filter(|h| !h.is_empty()) {
        if !h.eq_ignore_ascii_case(&st.cfg.domain) {
            return Err(ApiError::bad_request(format!("host: this server serves {}", st.cfg.domain)));
        }
    }
    let id = user_id(&st, &req.username)?;
    if st.store.user(id.local()).await?.is_none() {
        if !st.cfg.auto_register {
            return Err(ApiError::not_found("User not found."));
        }
        st.store.create_user(id.local(), None, None).await?;
    }
    let jid = id.to_string();
    Ok(Json(json!({
        "token": st.tokens.issue(&jid, TokenKind::Nx, st.cfg.nx_token_ttl),
        "refresh_token": st.tokens.issue(&jid, TokenKind::NxRefresh, NX_REFRESH_TTL),
        "jid": jid,
        "nxid": jid,
        "username": id.local(),
        "host": id.domain(),
        "nxws": st.nxws,
        "expires_in_seconds": st.cfg.nx_token_ttl,
        "refresh_expires_in_seconds": NX_REFRESH_TTL,
    })))
}

#[derive(Deserialize)]
pub struct NxRefreshReq {
    refresh_token: String,
}

pub async fn nx_token_refresh(State(st): State<AppState>, _t: Tenant, Body(req): Body<NxRefreshReq>) -> Result<Json<Value>, ApiError> {
    let c = st
        .tokens
        .verify(&req.refresh_token, TokenKind::NxRefresh)
        .map_err(|e| ApiError::unauthorized(format!("Refresh token is invalid or expired ({e})")))?;
    Ok(Json(json!({
        "token": st.tokens.issue(&c.jid, TokenKind::Nx, st.cfg.nx_token_ttl),
        "refresh_token": st.tokens.issue(&c.jid, TokenKind::NxRefresh, NX_REFRESH_TTL),
        "jid": c.jid,
        "nxws": st.nxws,
        "expires_in_seconds": st.cfg.nx_token_ttl,
    })))
}
