//! REST client for the NX API (protocol.md §2): tenant headers on every call, the user's NX token
//! or bearer JWT where a call is on a user's behalf, one token refresh on 401, and errors that
//! carry the server's own message.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::RwLock;

use crate::NxId;

/// Failure of a REST call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RestError {
    #[error("{message} (HTTP {status})")]
    Http { status: u16, message: String },
    #[error("cannot reach {url}: {reason}")]
    Network { url: String, reason: String },
    #[error("request to {0} timed out")]
    Timeout(String),
    #[error("unexpected answer from server: {0}")]
    Decode(String),
    #[error("not signed in")]
    NotSignedIn,
    #[error("invalid server address {0:?}")]
    BadUrl(String),
}

impl RestError {
    pub fn status(&self) -> Option<u16> {
        match self {
            RestError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Whether signing in may make the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    /// The name is registered on first use (first come, first served).
    FirstUse,
    /// Only an existing account signs in.
    Never,
}

/// A signed-in user: who the server says we are and where its signaling is.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub jid: NxId,
    /// The NX (signaling) token.
    pub token: String,
    pub nxws: String,
}

/// Why signing in failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SignInError {
    /// The server refused the name and secret (HTTP 401): a wrong password, or a name that
    /// belongs to someone else.
    #[error("sign-in refused: {0}")]
    Refused(String),
    #[error(transparent)]
    Rest(RestError),
}

/// Where the API is and the tenant (app) credentials.
#[derive(Clone)]
pub struct RestConfig {
    /// Server root, e.g. `http://127.0.0.1:8787` (the client appends `/api/v1.0`).
    pub server: String,
    pub api_key: String,
    pub secret_key: String,
    pub timeout: Duration,
}

impl RestConfig {
    pub fn new(
        server: impl Into<String>,
        api_key: impl Into<String>,
        secret_key: impl Into<String>,
    ) -> Self {
        Self {
            server: server.into().trim_end_matches('/').to_string(),
            api_key: api_key.into(),
            secret_key: secret_key.into(),
            timeout: Duration::from_secs(15),
        }
    }
}

impl std::fmt::Debug for RestConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestConfig")
            .field("server", &self.server)
            .field("api_key", &self.api_key)
            .field("secret_key", &"<redacted>")
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[derive(Default, Clone, PartialEq)]
struct Tokens {
    nx_token: Option<String>,
    nx_refresh: Option<String>,
    access: Option<String>,
    refresh: Option<String>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let has = |t: &Option<String>| if t.is_some() { "<redacted>" } else { "<none>" };
        f.debug_struct("Tokens")
            .field("nx_token", &has(&self.nx_token))
            .field("nx_refresh", &has(&self.nx_refresh))
            .field("access", &has(&self.access))
            .field("refresh", &has(&self.refresh))
            .finish()
    }
}

mod links;
mod types;

pub use links::CallLinkInfo;
pub use types::*;

/// The NX REST client. Cheap to clone; clones share tokens.
#[derive(Clone, Debug)]
pub struct RestClient {
    http: reqwest::Client,
    cfg: Arc<RestConfig>,
    tokens: Arc<RwLock<Tokens>>,
    /// One refresh at a time: refresh tokens rotate and the server revokes a sign-in whose
    /// refresh token is used twice, so two concurrent refreshes would sign the user out.
    refreshing: Arc<tokio::sync::Mutex<()>>,
}

/// Extracts a human message from an error body (DRF `detail`, or field errors).
pub fn error_message(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        let t = body.trim();
        return if t.is_empty() {
            "no details".into()
        } else {
            t.chars().take(300).collect()
        };
    };
    for key in ["detail", "error", "message"] {
        if let Some(s) = v.get(key).and_then(|m| m.as_str()) {
            return s.to_string();
        }
    }
    if let Some(obj) = v.as_object() {
        let parts: Vec<String> = obj
            .iter()
            .map(|(k, val)| match val {
                serde_json::Value::Array(a) => {
                    format!(
                        "{k}: {}",
                        a.iter()
                            .filter_map(|x| x.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    )
                }
                serde_json::Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect();
        if !parts.is_empty() {
            return parts.join("; ");
        }
    }
    v.to_string()
}

enum Auth {
    Tenant,
    User,
    /// The user's token when signed in, else tenant headers only.
    UserIfAny,
}

impl RestClient {
    pub fn new(cfg: RestConfig) -> Result<Self, RestError> {
        url::Url::parse(&cfg.server).map_err(|_| RestError::BadUrl(cfg.server.clone()))?;
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| RestError::Network {
                url: cfg.server.clone(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            http,
            cfg: Arc::new(cfg),
            tokens: Arc::new(RwLock::new(Tokens::default())),
            refreshing: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    pub fn config(&self) -> &RestConfig {
        &self.cfg
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1.0{}", self.cfg.server, path)
    }

    /// Uses an NX token obtained elsewhere (the SDK's `createCallManager(nxtoken: ...)`).
    pub async fn set_nx_token(&self, token: String, refresh: Option<String>) {
        let mut t = self.tokens.write().await;
        t.nx_token = Some(token);
        t.nx_refresh = refresh;
    }

    /// The current NX token, if signed in.
    pub async fn nx_token(&self) -> Option<String> {
        self.tokens.read().await.nx_token.clone()
    }

    async fn send<B: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
        query: Option<&HistoryQuery>,
        auth: Auth,
    ) -> Result<R, RestError> {
        let seen = self.tokens.read().await.clone();
        let mut reply = self
            .send_once(method.clone(), path, body, query, &auth)
            .await?;
        if reply.0 == 401 && matches!(auth, Auth::User) && self.try_refresh(&seen).await {
            reply = self.send_once(method, path, body, query, &auth).await?;
        }
        decode(path, reply)
    }

    /// One HTTP exchange; returns the status and body text.
    async fn send_once<B: Serialize + ?Sized>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
        query: Option<&HistoryQuery>,
        auth: &Auth,
    ) -> Result<(u16, String), RestError> {
        let url = self.url(path);
        let mut req = self
            .http
            .request(method, &url)
            .header("X-API-Key", &self.cfg.api_key)
            .header("X-Secret-Key", &self.cfg.secret_key)
            .header("Accept", "application/json");
        if matches!(auth, Auth::User | Auth::UserIfAny) {
            let t = self.tokens.read().await.clone();
            if t.nx_token.is_none() && t.access.is_none() && matches!(auth, Auth::User) {
                return Err(RestError::NotSignedIn);
            }
            if let Some(nx) = &t.nx_token {
                req = req.header("X-NX-Token", nx);
            }
            if let Some(a) = &t.access {
                req = req.bearer_auth(a);
            }
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        if let Some(q) = query {
            req = req.query(q);
        }
        let resp = req.send().await.map_err(|e| {
            if e.is_timeout() {
                RestError::Timeout(url.clone())
            } else {
                RestError::Network {
                    url: url.clone(),
                    reason: root_cause(&e),
                }
            }
        })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| RestError::Network {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        Ok((status, text))
    }

    /// Refreshes whichever token can be refreshed; true if one was (by this call, or by
    /// another since `seen` was read).
    async fn try_refresh(&self, seen: &Tokens) -> bool {
        let _one_at_a_time = self.refreshing.lock().await;
        let t = self.tokens.read().await.clone();
        if t != *seen {
            return true;
        }
        if let Some(r) = t.nx_refresh {
            let body = serde_json::json!({ "refresh_token": r });
            let reply = self
                .send_once(
                    reqwest::Method::POST,
                    NX_REFRESH,
                    Some(&body),
                    None,
                    &Auth::Tenant,
                )
                .await;
            if let Ok(resp) = reply.and_then(|r| decode::<NxRefreshResponse>(NX_REFRESH, r)) {
                let mut w = self.tokens.write().await;
                w.nx_token = Some(resp.token);
                if let Some(nr) = resp.refresh_token {
                    w.nx_refresh = Some(nr);
                }
                tracing::debug!("NX token refreshed after 401");
                return true;
            }
        }
        if let Some(r) = t.refresh {
            #[derive(Deserialize)]
            struct Access {
                access: String,
                #[serde(default)]
                refresh: Option<String>,
            }
            let body = serde_json::json!({ "refresh": r });
            let path = "/nexacon-auth/token/refresh/";
            let reply = self
                .send_once(
                    reqwest::Method::POST,
                    path,
                    Some(&body),
                    None,
                    &Auth::Tenant,
                )
                .await;
            if let Ok(a) = reply.and_then(|r| decode::<Access>(path, r)) {
                let mut w = self.tokens.write().await;
                w.access = Some(a.access);
                if let Some(r) = a.refresh {
                    w.refresh = Some(r);
                }
                return true;
            }
        }
        false
    }

    pub async fn register(
        &self,
        username: &str,
        password: &str,
        email: Option<&str>,
    ) -> Result<UserInfo, RestError> {
        let body =
            serde_json::json!({ "username": username, "password": password, "email": email });
        self.send(
            reqwest::Method::POST,
            "/nexacon-auth/register/",
            Some(&body),
            None,
            Auth::Tenant,
        )
        .await
    }

    /// Password login; keeps the JWTs and the NX token for later calls.
    pub async fn login(&self, username: &str, password: &str) -> Result<LoginResponse, RestError> {
        let body = serde_json::json!({ "username": username, "password": password });
        let r: LoginResponse = self
            .send(
                reqwest::Method::POST,
                "/nexacon-auth/login/",
                Some(&body),
                None,
                Auth::Tenant,
            )
            .await?;
        let mut t = self.tokens.write().await;
        t.access = Some(r.access.clone());
        t.refresh = Some(r.refresh.clone());
        t.nx_token = Some(r.nxsm_token.clone());
        t.nx_refresh = r.refresh_token.clone();
        Ok(r)
    }

    /// Signs in, registering the account first if there is none (first come, first served).
    pub async fn login_or_register(
        &self,
        username: &str,
        password: &str,
    ) -> Result<LoginResponse, RestError> {
        self.register_if_new(username, password).await?;
        self.login(username, password).await
    }

    /// Registers `username` unless it exists (HTTP 400). Sign-ins register first: a login
    /// attempt for a name that does not exist yet would count as a failed login against this
    /// address.
    async fn register_if_new(&self, username: &str, password: &str) -> Result<(), RestError> {
        match self.register(username, password, None).await {
            Ok(_) | Err(RestError::Http { status: 400, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Signs `username` in with `secret` (a password or a device secret), registering the name
    /// first when `register` says the account may be made here; the one way every client signs
    /// in. Returns who the server says we are.
    pub async fn sign_in(
        &self,
        username: &str,
        secret: &str,
        register: Registration,
    ) -> Result<SignedIn, SignInError> {
        if register == Registration::FirstUse {
            self.register_if_new(username, secret)
                .await
                .map_err(SignInError::Rest)?;
        }
        let login = self.login(username, secret).await.map_err(|e| match e {
            RestError::Http {
                status: 401,
                message,
            } => SignInError::Refused(message),
            other => SignInError::Rest(other),
        })?;
        let jid = NxId::parse_jid(&login.nxid)
            .map_err(|e| SignInError::Rest(RestError::Decode(format!("nxid: {e}"))))?;
        Ok(SignedIn {
            jid,
            token: login.nxsm_token,
            nxws: login.nxws,
        })
    }

    /// Signs out everywhere (Simu extension): the server revokes every token of the user.
    pub async fn logout(&self) -> Result<StatusResponse, RestError> {
        let r = self
            .send::<(), _>(
                reqwest::Method::POST,
                "/nexacon-auth/logout/",
                None,
                None,
                Auth::User,
            )
            .await;
        *self.tokens.write().await = Tokens::default();
        r
    }

    /// An NX token (the SDK's `generateXMPPToken`): for the signed-in user, or, from a tenant
    /// backend the server trusts, for any user.
    pub async fn generate_nx_token(
        &self,
        username: &str,
        host: Option<&str>,
    ) -> Result<NxTokenResponse, RestError> {
        let body = serde_json::json!({ "username": username, "host": host });
        let r: NxTokenResponse = self
            .send(
                reqwest::Method::POST,
                "/nexacon-auth/nxm-token/",
                Some(&body),
                None,
                Auth::UserIfAny,
            )
            .await?;
        let mut t = self.tokens.write().await;
        t.nx_token = Some(r.token.clone());
        t.nx_refresh = r.refresh_token.clone();
        Ok(r)
    }

    /// Exchanges the stored NX refresh token for a new NX token.
    pub async fn refresh_nx_token(&self) -> Result<NxRefreshResponse, RestError> {
        let _one_at_a_time = self.refreshing.lock().await;
        let refresh = self
            .tokens
            .read()
            .await
            .nx_refresh
            .clone()
            .ok_or(RestError::NotSignedIn)?;
        let body = serde_json::json!({ "refresh_token": refresh });
        let r: NxRefreshResponse = self
            .send(
                reqwest::Method::POST,
                NX_REFRESH,
                Some(&body),
                None,
                Auth::Tenant,
            )
            .await?;
        let mut t = self.tokens.write().await;
        t.nx_token = Some(r.token.clone());
        if let Some(nr) = &r.refresh_token {
            t.nx_refresh = Some(nr.clone());
        }
        Ok(r)
    }

    pub async fn start_call(
        &self,
        to: &str,
        call_type: &str,
        room: Option<&str>,
    ) -> Result<CallStarted, RestError> {
        let body = serde_json::json!({ "to": to, "type": call_type, "room": room });
        self.send(
            reqwest::Method::POST,
            "/nx/call/",
            Some(&body),
            None,
            Auth::User,
        )
        .await
    }

    /// POST `/nx/group-call/`; `sfu` asks for the conference server even where mesh would do.
    pub async fn start_group_call(
        &self,
        participants: &[String],
        call_type: &str,
        room: Option<&str>,
        sfu: bool,
    ) -> Result<CallStarted, RestError> {
        let body = serde_json::json!({ "participants": participants, "type": call_type,
                                       "room": room, "sfu": sfu });
        self.send(
            reqwest::Method::POST,
            "/nx/group-call/",
            Some(&body),
            None,
            Auth::User,
        )
        .await
    }

    /// POST `/nx/group-call/{room}/members/`: people invited into the call under way
    /// (protocol.md §4.2).
    pub async fn add_group_members(
        &self,
        room: &str,
        participants: &[String],
    ) -> Result<MembersAdded, RestError> {
        let body = serde_json::json!({ "participants": participants });
        let path = format!("/nx/group-call/{}/members/", urlencode(room));
        self.send(reqwest::Method::POST, &path, Some(&body), None, Auth::User)
            .await
    }

    /// GET `/nx/group-call/{room}/sfu/`: this member's tokens for the call's conference room.
    pub async fn sfu_grant(&self, room: &str) -> Result<SfuGrant, RestError> {
        let path = format!("/nx/group-call/{}/sfu/", urlencode(room));
        self.send::<(), _>(reqwest::Method::GET, &path, None, None, Auth::User)
            .await
    }

    /// POST `/nx/webrtc/call/`: registers the call; the server invites the callee over NX.
    pub async fn start_p2p_call(
        &self,
        to: &str,
        room: Option<&str>,
        media: Option<&str>,
    ) -> Result<CallStarted, RestError> {
        let body = serde_json::json!({ "to": to, "type": "p2p", "room": room, "media": media });
        self.send(
            reqwest::Method::POST,
            "/nx/webrtc/call/",
            Some(&body),
            None,
            Auth::User,
        )
        .await
    }

    /// A signed per-call link for `to` (`expires_in` seconds: Simu extension, default 1 h).
    pub async fn call_url(
        &self,
        to: &str,
        call_type: &str,
        room: Option<&str>,
        expires_in: Option<u64>,
    ) -> Result<CallUrl, RestError> {
        let body = serde_json::json!({ "to": to, "type": call_type, "room": room, "expires_in": expires_in });
        self.send(
            reqwest::Method::POST,
            "/nx/call-url/",
            Some(&body),
            None,
            Auth::User,
        )
        .await
    }

    pub async fn decline_call(&self, room: &str) -> Result<StatusResponse, RestError> {
        let body = serde_json::json!({ "room": room });
        self.send(
            reqwest::Method::POST,
            "/nx/call/decline/",
            Some(&body),
            None,
            Auth::User,
        )
        .await
    }

    pub async fn webrtc_credentials(&self) -> Result<WebrtcCredentials, RestError> {
        self.send::<(), _>(
            reqwest::Method::GET,
            "/nx/webrtc/credentials/",
            None,
            None,
            Auth::User,
        )
        .await
    }

    pub async fn record_analytics(
        &self,
        rec: &AnalyticsRecord,
    ) -> Result<StatusResponse, RestError> {
        self.send(
            reqwest::Method::POST,
            "/nx/call-analytics/",
            Some(rec),
            None,
            Auth::User,
        )
        .await
    }

    pub async fn call_history(&self, q: &HistoryQuery) -> Result<HistoryPage, RestError> {
        self.send::<(), _>(
            reqwest::Method::GET,
            "/nx/call-history/",
            None,
            Some(q),
            Auth::User,
        )
        .await
    }

    pub async fn contacts(&self) -> Result<ContactList, RestError> {
        self.send::<(), _>(
            reqwest::Method::GET,
            "/nx/contacts/",
            None,
            None,
            Auth::User,
        )
        .await
    }

    pub async fn add_contact(&self, nxid: &str, name: &str) -> Result<ContactList, RestError> {
        let body = serde_json::json!({ "nxid": nxid, "name": name });
        self.send(
            reqwest::Method::POST,
            "/nx/contacts/",
            Some(&body),
            None,
            Auth::User,
        )
        .await
    }

    pub async fn delete_contact(&self, nxid: &str) -> Result<ContactList, RestError> {
        let path = format!("/nx/contacts/{}/", urlencode(nxid));
        self.send::<(), _>(reqwest::Method::DELETE, &path, None, None, Auth::User)
            .await
    }

    pub async fn presence(&self, user: &str) -> Result<Presence, RestError> {
        let path = format!("/nx/presence/?user={}", urlencode(user));
        self.send::<(), _>(reqwest::Method::GET, &path, None, None, Auth::User)
            .await
    }
}

const NX_REFRESH: &str = "/nexacon-auth/nxm-token/refresh/";

/// Turns a status and body into the typed answer or the server's error message.
fn decode<R: DeserializeOwned>(path: &str, (status, text): (u16, String)) -> Result<R, RestError> {
    if !(200..300).contains(&status) {
        return Err(RestError::Http {
            status,
            message: error_message(&text),
        });
    }
    serde_json::from_str(&text).map_err(|e| RestError::Decode(format!("{e} in {path}")))
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests;
