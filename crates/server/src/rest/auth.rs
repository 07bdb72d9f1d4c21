//! Accounts and tokens: register, login, sign-out, password change, JWT refresh, NX token
//! issue and refresh. A token is only ever issued to a user who proved who they are (a
//! password, a device secret, or a token of their own); minting for any username with the
//! tenant secret is a server-to-server feature (`trusted_backend`), off by default.

use super::extract::{token_user, verify_user_token, ApiError, AuthUser, Body, ClientAddr, Tenant};
use crate::passwords::HashError;
use crate::store::RefreshUse;
use crate::tokens::{Grant, TokenKind};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use nx::NxId;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Instant;

const ACCESS_TTL: u64 = 15 * 60;
const REFRESH_TTL: u64 = 7 * 86400;
const NX_REFRESH_TTL: u64 = 30 * 86400;
const MIN_PASSWORD: usize = 8;
const MAX_PASSWORD: usize = 1024;
const MAX_EMAIL: usize = 254;
/// Names the server owns: nobody may register them or have tokens minted for them.
pub const RESERVED: &[&str] = &[
    "echo",
    "admin",
    "administrator",
    "root",
    "server",
    "simu",
    "system",
    "support",
    "postmaster",
    "guest",
];

/// Normalises a username to this server's NX ID.
pub fn user_id(state: &AppState, username: &str) -> Result<NxId, ApiError> {
    let id = NxId::normalize(username, Some(&state.cfg.domain))
        .map_err(|e| ApiError::bad_request(format!("username: {e}")))?;
    if id.domain() != state.cfg.domain {
        return Err(ApiError::bad_request(format!(
            "username: users of {} cannot sign in here",
            id.domain()
        )));
    }
    if id.local().len() > 64 {
        return Err(ApiError::bad_request("username: at most 64 characters"));
    }
    Ok(id)
}

fn is_reserved(id: &NxId) -> bool {
    RESERVED.iter().any(|r| id.local().eq_ignore_ascii_case(r))
        || crate::links::is_guest(id.local())
}

impl From<HashError> for ApiError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
            HashError::Failed => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    }
}

/// Refuses an address that failed too often lately.
fn address_allowed(st: &AppState, ip: &ClientAddr) -> Result<(), ApiError> {
    st.address_failures
        .check(&ip.0.to_string(), Instant::now())
        .map_err(|wait| {
            ApiError::too_many(
                wait,
                "Too many failed attempts from this address; try again later.",
            )
        })
}

fn check_password(pw: &str) -> Result<(), ApiError> {
    let n = pw.chars().count();
    if n < MIN_PASSWORD {
        return Err(ApiError::bad_request(format!(
            "password: at least {MIN_PASSWORD} characters"
        )));
    }
    if pw.len() > MAX_PASSWORD {
        return Err(ApiError::bad_request(format!(
            "password: at most {MAX_PASSWORD} bytes"
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
pub struct RegisterReq {
    username: String,
    password: String,
    #[serde(default)]
    email: Option<String>,
}

/// First come, first served: a name belongs to whoever registers it with a password or a
/// device secret. Proof of a phone number (SMS) is not checked here (docs/SECURITY.md).
pub async fn register(
    State(st): State<AppState>,
    _t: Tenant,
    ip: ClientAddr,
    Body(req): Body<RegisterReq>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    address_allowed(&st, &ip)?;
    let address = ip.0.to_string();
    st.registrations
        .check(&address, Instant::now())
        .map_err(|wait| {
            ApiError::too_many(
                wait,
                "Too many new accounts from this address; try again later.",
            )
        })?;
    let id = user_id(&st, &req.username)?;
    check_password(&req.password)?;
    if is_reserved(&id) {
        return Err(ApiError::bad_request("username: reserved"));
    }
    if req.email.as_ref().is_some_and(|e| e.len() > MAX_EMAIL) {
        return Err(ApiError::bad_request(format!(
            "email: at most {MAX_EMAIL} characters"
        )));
    }
    if st.store.user(id.local()).await?.is_some() {
        return Err(ApiError::bad_request(
            "username: A user with that username already exists.",
        ));
    }
    let hash = st.passwords.hash(&req.password).await?;
    if !st
        .store
        .create_user(id.local(), Some(&hash), req.email.as_deref())
        .await?
    {
        return Err(ApiError::bad_request(
            "username: A user with that username already exists.",
        ));
    }
    st.registrations.fail(&address, Instant::now());
    Ok((
        StatusCode::CREATED,
        Json(json!({ "username": id.local(), "email": req.email, "nxid": id.to_string() })),
    ))
}

/// Issues and remembers a refresh token of `kind` in `family`.
async fn refresh_token(
    st: &AppState,
    jid: &NxId,
    kind: TokenKind,
    ttl: u64,
    ver: i64,
    family: &str,
) -> Result<String, ApiError> {
    let jti = crate::secrets::random_hex(16);
    let kind_name = if kind == TokenKind::Refresh {
        "refresh"
    } else {
        "nx_refresh"
    };
    st.store
        .save_refresh(
            &jti,
            jid.local(),
            family,
            kind_name,
            crate::clock::unix_now() + ttl,
        )
        .await?;
    Ok(st.tokens.issue_with(
        &jid.to_string(),
        kind,
        ttl,
        &Grant {
            ver,
            jti: Some(jti),
            fam: Some(family.to_string()),
        },
    ))
}

async fn version(st: &AppState, jid: &NxId) -> Result<i64, ApiError> {
    st.store
        .token_version(jid.local())
        .await?
        .ok_or_else(|| ApiError::unauthorized("No active account found with the given credentials"))
}

/// Everything a signed-in client needs, including an NX refresh token so it can renew its
/// signaling token for weeks without the password.
async fn session_answer(st: &AppState, jid: &NxId) -> Result<Value, ApiError> {
    let ver = version(st, jid).await?;
    let grant = Grant {
        ver,
        ..Default::default()
    };
    let family = crate::secrets::random_hex(12);
    let me = jid.to_string();
    Ok(json!({
        "access": st.tokens.issue_with(&me, TokenKind::Access, ACCESS_TTL, &grant),
        "refresh": refresh_token(st, jid, TokenKind::Refresh, REFRESH_TTL, ver, &family).await?,
        "nxsm_token": st.tokens.issue_with(&me, TokenKind::Nx, st.cfg.nx_token_ttl, &grant),
        "refresh_token": refresh_token(st, jid, TokenKind::NxRefresh, NX_REFRESH_TTL, ver, &family).await?,
        "nxid": me,
        "nxws": st.nxws,
        "expires_in_seconds": st.cfg.nx_token_ttl,
        "refresh_expires_in_seconds": NX_REFRESH_TTL,
    }))
}

#[derive(Deserialize)]
pub struct LoginReq {
    username: String,
    password: String,
}

/// Checks a password with throttling per account and per address; the same answer and about
/// the same time whether or not the account exists.
async fn check_login(
    st: &AppState,
    ip: &ClientAddr,
    username: &str,
    password: &str,
) -> Result<NxId, ApiError> {
    address_allowed(st, ip)?;
    let id = user_id(st, username)?;
    let account_key = id.to_string();
    let now = Instant::now();
    st.account_failures
        .check(&account_key, now)
        .map_err(|wait| {
            ApiError::too_many(
                wait,
                "Too many failed sign-ins for this account; try again later.",
            )
        })?;
    let denied = || ApiError::unauthorized("No active account found with the given credentials");
    if password.len() > MAX_PASSWORD {
        return Err(denied());
    }
    // Every attempt counts as a failure until it succeeds, so a burst of concurrent guesses is
    // throttled as much as the same guesses one after another.
    let address = ip.0.to_string();
    st.account_failures.fail(&account_key, now);
    st.address_failures.fail(&address, now);
    let hash = st
        .store
        .user(id.local())
        .await?
        .and_then(|u| u.password_hash);
    if st.passwords.verify(password, hash.as_deref()).await? {
        st.account_failures.succeed(&account_key);
        st.address_failures.forgive(&address);
        return Ok(id);
    }
    Err(denied())
}

pub async fn login(
    State(st): State<AppState>,
    _t: Tenant,
    ip: ClientAddr,
    Body(req): Body<LoginReq>,
) -> Result<Json<Value>, ApiError> {
    let id = check_login(&st, &ip, &req.username, &req.password).await?;
    Ok(Json(session_answer(&st, &id).await?))
}

/// Signs out everywhere (Simu extension): every token issued so far stops working and live
/// signaling sessions are closed.
pub async fn logout(State(st): State<AppState>, user: AuthUser) -> Result<Json<Value>, ApiError> {
    st.store.revoke_tokens(user.jid.local()).await?;
    st.router.kick(&user.jid.to_string());
    Ok(Json(json!({ "status": "signed_out" })))
}

#[derive(Deserialize)]
pub struct PasswordReq {
    old_password: String,
    new_password: String,
}

/// Changes the password (Simu extension): revokes every earlier token, answers with a new
/// session for the caller.
pub async fn change_password(
    State(st): State<AppState>,
    user: AuthUser,
    ip: ClientAddr,
    Body(req): Body<PasswordReq>,
) -> Result<Json<Value>, ApiError> {
    check_password(&req.new_password)?;
    let id = check_login(&st, &ip, user.jid.local(), &req.old_password).await?;
    let hash = st.passwords.hash(&req.new_password).await?;
    st.store.set_password(id.local(), &hash).await?;
    st.store.revoke_tokens(id.local()).await?;
    st.router.kick(&id.to_string());
    Ok(Json(session_answer(&st, &id).await?))
}

/// Spends a refresh token of `kind` and returns its user, version and family.
async fn spend(
    st: &AppState,
    token: &str,
    kind: TokenKind,
) -> Result<(NxId, i64, String), ApiError> {
    let (jid, claims) = verify_user_token(st, token, kind).await.map_err(|e| {
        ApiError::unauthorized(format!("Token is invalid or expired ({})", e.detail))
    })?;
    let (Some(jti), Some(family)) = (claims.jti, claims.fam) else {
        return Err(ApiError::unauthorized(
            "Token is invalid or expired (not issued by this server)",
        ));
    };
    match st.store.spend_refresh(&jti).await? {
        RefreshUse::Fresh => Ok((jid, claims.ver.unwrap_or(0), family)),
        RefreshUse::Reused => {
            tracing::warn!(user = %jid, "a refresh token was used twice; its sign-in is revoked");
            Err(ApiError::unauthorized(
                "Token is invalid or expired (already used; sign in again)",
            ))
        }
        RefreshUse::Unknown => Err(ApiError::unauthorized(
            "Token is invalid or expired (revoked)",
        )),
    }
}

#[derive(Deserialize)]
pub struct RefreshReq {
    refresh: String,
}

/// A new access token, and a new refresh token (rotation: the old one is spent).
pub async fn refresh_access(
    State(st): State<AppState>,
    _t: Tenant,
    Body(req): Body<RefreshReq>,
) -> Result<Json<Value>, ApiError> {
    let (jid, ver, family) = spend(&st, &req.refresh, TokenKind::Refresh).await?;
    let grant = Grant {
        ver,
        ..Default::default()
    };
    Ok(Json(json!({
        "access": st.tokens.issue_with(&jid.to_string(), TokenKind::Access, ACCESS_TTL, &grant),
        "refresh": refresh_token(&st, &jid, TokenKind::Refresh, REFRESH_TTL, ver, &family).await?,
    })))
}

#[derive(Deserialize)]
pub struct NxTokenReq {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    host: Option<String>,
    /// An NX refresh token proves the user as well as an access token does.
    #[serde(default)]
    refresh_token: Option<String>,
}

/// The seed's `generateXMPPToken`: an NX token for the user the request proves (their access
/// token, NX token or NX refresh token); for any username only on a trusted backend.
pub async fn nx_token(
    State(st): State<AppState>,
    _t: Tenant,
    headers: HeaderMap,
    Body(req): Body<NxTokenReq>,
) -> Result<Json<Value>, ApiError> {
    if let Some(h) = req.host.as_deref().filter(|h| !h.is_empty()) {
        if !h.eq_ignore_ascii_case(&st.cfg.domain) {
            return Err(ApiError::bad_request(format!(
                "host: this server serves {}",
                st.cfg.domain
            )));
        }
    }
    let asked = match req.username.as_deref().filter(|u| !u.trim().is_empty()) {
        Some(u) => Some(user_id(&st, u)?),
        None => None,
    };
    let (id, ver, family) = if let Some(proven) = token_user(&headers, &st).await? {
        (
            proven.clone(),
            version(&st, &proven).await?,
            crate::secrets::random_hex(12),
        )
    } else if let Some(r) = req.refresh_token.as_deref() {
        spend(&st, r, TokenKind::NxRefresh).await?
    } else if st.cfg.trusted_backend {
        let id = asked
            .clone()
            .ok_or_else(|| ApiError::bad_request("username: required"))?;
        if is_reserved(&id) {
            return Err(ApiError::forbidden("username: reserved"));
        }
        if st.store.user(id.local()).await?.is_none() {
            st.store.create_user(id.local(), None, None).await?;
        }
        let ver = version(&st, &id).await?;
        (id, ver, crate::secrets::random_hex(12))
    } else {
        return Err(ApiError::unauthorized(
            "Sign in first: NX tokens are issued to a signed-in user (password or device key); minting for any user is a server-to-server feature that is off.",
        ));
    };
    if asked.as_ref().is_some_and(|a| *a != id) {
        return Err(ApiError::forbidden(format!(
            "username: you are signed in as {id}"
        )));
    }
    let jid = id.to_string();
    let grant = Grant {
        ver,
        ..Default::default()
    };
    Ok(Json(json!({
        "token": st.tokens.issue_with(&jid, TokenKind::Nx, st.cfg.nx_token_ttl, &grant),
        "refresh_token": refresh_token(&st, &id, TokenKind::NxRefresh, NX_REFRESH_TTL, ver, &family).await?,
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

pub async fn nx_token_refresh(
    State(st): State<AppState>,
    _t: Tenant,
    Body(req): Body<NxRefreshReq>,
) -> Result<Json<Value>, ApiError> {
    let (jid, ver, family) = spend(&st, &req.refresh_token, TokenKind::NxRefresh).await?;
    let grant = Grant {
        ver,
        ..Default::default()
    };
    Ok(Json(json!({
        "token": st.tokens.issue_with(&jid.to_string(), TokenKind::Nx, st.cfg.nx_token_ttl, &grant),
        "refresh_token": refresh_token(&st, &jid, TokenKind::NxRefresh, NX_REFRESH_TTL, ver, &family).await?,
        "jid": jid.to_string(),
        "nxws": st.nxws,
        "expires_in_seconds": st.cfg.nx_token_ttl,
    })))
}
