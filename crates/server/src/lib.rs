//! simu-server: the NX REST API, the XMPP-over-WebSocket signaling endpoint, call history in
//! SQLite and TURN credential minting, in one process. The echo contact's account lives here;
//! the contact itself (`echo` crate, which needs WebRTC) is started beside the server by
//! whoever composes them (`simu server`, the desktop app, the tests), so the server links no
//! media stack.

mod call_page;
mod clock;
pub mod config;
mod http;
pub mod links;
mod passwords;
pub mod rest;
pub mod secrets;
pub mod sfu;
pub mod store;
mod throttle;
pub mod tokens;
pub mod turn;
mod xmpp;

pub use config::ServerConfig;

use axum::extract::{State, WebSocketUpgrade};
use axum::response::IntoResponse;
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("invalid domain {0:?}: {1}")]
    Domain(String, String),
    #[error(transparent)]
    Secret(#[from] secrets::SecretError),
    #[error(transparent)]
    Sfu(#[from] sfu::SfuError),
}

/// Shared by every request handler.
#[derive(Clone)]
pub struct AppState {
    pub cfg: Arc<ServerConfig>,
    pub store: store::Store,
    pub tokens: tokens::Tokens,
    pub(crate) router: Arc<xmpp::Router>,
    /// `nxws` handed to clients.
    pub nxws: String,
    /// Base of links this server makes.
    pub public_url: String,
    /// Signs call links (a key of its own, not the token key).
    pub link_key: Arc<[u8]>,
    /// Argon2 under a concurrency bound.
    pub(crate) passwords: passwords::Passwords,
    /// Failed sign-ins per account.
    pub(crate) account_failures: Arc<throttle::Throttle>,
    /// Failed sign-ins per client address.
    pub(crate) address_failures: Arc<throttle::Throttle>,
    /// Registrations per client address.
    pub(crate) registrations: Arc<throttle::Throttle>,
    /// Guest joins through call links per client address.
    pub(crate) guest_joins: Arc<throttle::Throttle>,
    /// The conference server for group calls over the mesh limit, if one is configured.
    pub sfu: Option<Arc<sfu::Sfu>>,
}

impl AppState {
    pub fn echo_local(&self) -> &'static str {
        "echo"
    }
    pub fn echo_jid(&self) -> String {
        format!("echo@{}", self.cfg.domain)
    }
}

/// The echo contact's token lifetime (ten years): it is minted in-process, never sent to a
/// client, and ends with the server.
const ECHO_TOKEN_TTL_SECONDS: u64 = 10 * 365 * 86_400;

/// A running server.
pub struct ServerHandle {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: Option<watch::Sender<bool>>,
    task: JoinHandle<()>,
    /// Destroys SFU rooms left empty.
    reaper: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// `http://<addr>`: what clients use as the server URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The signaling URL of this server's own endpoint.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/nx-websocket/", self.addr)
    }

    /// Mints an NX token (tests, tools, the echo contact).
    pub fn mint_nx_token(&self, jid: &str) -> String {
        self.state
            .tokens
            .issue(jid, tokens::TokenKind::Nx, self.state.cfg.nx_token_ttl)
    }

    /// Disconnects every stream of a user (administration; tests of reconnection); returns how
    /// many there were.
    pub fn kick(&self, bare_jid: &str) -> usize {
        self.state.router.kick(bare_jid)
    }

    /// A user's presence as the REST API reports it (`online`, `connected`, `offline`).
    pub fn presence_status(&self, bare_jid: &str) -> &'static str {
        self.state.router.presence_status(bare_jid)
    }

    /// The echo contact's sign-in, when this server has one: a long-lived token, since the
    /// contact runs as long as the server.
    pub fn echo_account(&self) -> Option<nx::SignedIn> {
        if !self.state.cfg.echo {
            return None;
        }
        let jid = nx::NxId::new(self.state.echo_local(), self.state.cfg.domain.clone()).ok()?;
        let token = self.state.tokens.issue(
            &jid.to_string(),
            tokens::TokenKind::Nx,
            ECHO_TOKEN_TTL_SECONDS,
        );
        Some(nx::SignedIn {
            nxws: self.state.nxws.clone(),
            jid,
            token,
        })
    }

    /// Stops accepting, lets requests in flight finish, and waits.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(true);
        }
        self.state.router.kick_all();
        if let Some(r) = self.reaper.take() {
            r.abort();
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut self.task).await;
        self.task.abort();
    }
}

async fn websocket(State(st): State<AppState>, ws: WebSocketUpgrade) -> impl IntoResponse {
    let ctx = xmpp::stream::StreamCtx {
        router: st.router.clone(),
        tokens: st.tokens.clone(),
        max_stanza: st.cfg.limits.max_stanza_bytes,
        rate: st.cfg.limits.stanzas_per_second,
        burst: st.cfg.limits.stanza_burst,
        store: st.store.clone(),
        pre_auth_bytes: st.cfg.limits.pre_auth_bytes,
        bytes_per_second: st.cfg.limits.bytes_per_second,
        frames_per_second: st.cfg.limits.frames_per_second,
        idle_ping: Duration::from_secs(st.cfg.limits.idle_ping_seconds.max(1)),
    };
    let max = st.cfg.limits.max_stanza_bytes;
    ws.protocols(["xmpp"])
        .max_message_size(2 * max + 1024)
        .max_frame_size(2 * max + 1024)
        .on_upgrade(move |socket| xmpp::stream::serve(socket, ctx))
}

/// Binds, migrates the database and starts serving.
pub async fn start(mut cfg: ServerConfig) -> Result<ServerHandle, ServerError> {
    // The domain must make valid NX IDs (the echo contact's is the first).
    nx::NxId::new("echo", cfg.domain.clone())
        .map_err(|e| ServerError::Domain(cfg.domain.clone(), e.to_string()))?;
    let install = secrets::load(&cfg)?;
    let sfu = sfu::Sfu::new(&cfg.sfu)?.map(Arc::new);
    let store = store::Store::open(&cfg.data_dir).await?;
    let secret = install.jwt;
    if cfg.jwt_secret.is_empty() {
        cfg.jwt_secret = String::from_utf8_lossy(&secret).into_owned();
    }
    cfg.api_key = install.tenant.api_key;
    cfg.secret_key = install.tenant.secret_key;
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| ServerError::Bind(cfg.listen, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServerError::Bind(cfg.listen, e))?;
    let nxws = if cfg.nxws_url.is_empty() {
        format!("ws://{addr}/nx-websocket/")
    } else {
        cfg.nxws_url.clone()
    };
    let public_url = if cfg.public_url.is_empty() {
        format!("http://{addr}")
    } else {
        cfg.public_url.trim_end_matches('/').to_string()
    };
    let router = xmpp::Router::new(
        store.clone(),
        cfg.domain.clone(),
        cfg.limits.sessions_per_user,
        cfg.limits.offline_per_user,
        cfg.limits.offline_per_sender,
    );
    if cfg.echo {
        store.create_user("echo", None, None).await?;
    }
    let l = &cfg.limits;
    let passwords = passwords::Passwords::new(l.concurrent_hashes);
    let account_failures = Arc::new(throttle::Throttle::new(
        l.login_failures_per_account,
        Duration::from_secs(15 * 60),
        Duration::from_secs(30),
        Duration::from_secs(3600),
    ));
    let address_failures = Arc::new(throttle::Throttle::new(
        l.login_failures_per_address,
        Duration::from_secs(60),
        Duration::from_secs(60),
        Duration::from_secs(3600),
    ));
    let registrations = Arc::new(throttle::Throttle::new(
        l.registrations_per_address,
        Duration::from_secs(3600),
        Duration::from_secs(3600),
        Duration::from_secs(3600),
    ));
    let guest_joins = Arc::new(throttle::Throttle::new(
        l.guest_joins_per_address,
        Duration::from_secs(3600),
        Duration::from_secs(3600),
        Duration::from_secs(3600),
    ));
    let front = http::FrontLimits {
        max_connections: l.max_connections,
        per_address: l.connections_per_address,
        header_timeout: Duration::from_secs(l.header_timeout_seconds.max(1)),
        idle_timeout: Duration::from_secs(l.idle_timeout_seconds.max(1)),
    };
    let state = AppState {
        cfg: Arc::new(cfg),
        store,
        tokens: tokens::Tokens::new(&secret),
        router,
        nxws,
        public_url,
        link_key: Arc::from(install.link),
        passwords,
        account_failures,
        address_failures,
        registrations,
        guest_joins,
        sfu: sfu.clone(),
    };
    let app = axum::Router::new()
        .nest("/api/v1.0", rest::routes())
        .route("/nx-websocket/", get(websocket))
        .route("/nx-websocket", get(websocket))
        .route("/healthz", get(|| async { "ok" }))
        .route("/call", get(call_page::page))
        .route("/nexacon-call.html", get(call_page::page))
        .route("/call-assets/{name}", get(call_page::asset))
        .with_state(state.clone());
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(http::serve(listener, app, front, rx));
    let reaper = sfu.map(|s| sfu::spawn_reaper(s, state.store.clone()));
    tracing::info!(%addr, sfu = reaper.is_some(), "simu-server listening");
    Ok(ServerHandle {
        addr,
        state,
        shutdown: Some(tx),
        task,
        reaper,
    })
}
