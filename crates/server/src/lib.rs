//! simu-server: the NX REST API, the XMPP-over-WebSocket signaling endpoint, call history in
//! SQLite, TURN credential minting and the echo contact, in one process.

pub mod clock;
pub mod config;
pub mod rest;
pub mod store;
pub mod tokens;
pub mod turn;
pub mod xmpp;

pub use config::ServerConfig;

use axum::extract::{State, WebSocketUpgrade};
use axum::response::IntoResponse;
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("invalid domain {0:?}: {1}")]
    Domain(String, String),
    #[error("cannot keep the signing key in {0}: {1}")]
    Secret(String, std::io::Error),
}

/// Shared by every request handler.
#[derive(Clone)]
pub struct AppState {
    pub cfg: Arc<ServerConfig>,
    pub store: store::Store,
    pub tokens: tokens::Tokens,
    pub router: Arc<xmpp::Router>,
    /// `nxws` handed to clients.
    pub nxws: String,
    /// Base of links this server makes.
    pub public_url: String,
}

impl AppState {
    pub fn echo_local(&self) -> &'static str {
        "echo"
    }
    pub fn echo_jid(&self) -> String {
        format!("echo@{}", self.cfg.domain)
    }
}

/// A running server.
pub struct ServerHandle {
    pub addr: SocketAddr,
    pub state: AppState,
    echo: Option<call::echo::EchoBot>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
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
        self.state.tokens.issue(jid, tokens::TokenKind::Nx, self.state.cfg.nx_token_ttl)
    }

    /// Stops accepting, lets requests in flight finish, and waits.
    pub async fn stop(mut self) {
        if let Some(echo) = self.echo.take() {
            echo.stop().await;
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), &mut self.task).await;
        self.task.abort();
    }
}

/// Reads the signing key from config, else from `<data>/jwt.secret`, creating it once.
fn signing_secret(cfg: &ServerConfig) -> Result<Vec<u8>, ServerError> {
    if !cfg.jwt_secret.is_empty() {
        return Ok(cfg.jwt_secret.as_bytes().to_vec());
    }
    let path = cfg.data_dir.join("jwt.secret");
    let err = |e| ServerError::Secret(path.display().to_string(), e);
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= 32 => return Ok(s.trim().as_bytes().to_vec()),
        Ok(_) | Err(_) => {}
    }
    std::fs::create_dir_all(&cfg.data_dir).map_err(err)?;
    let secret: String = (0..48).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
    write_private(&path, &secret).map_err(err)?;
    Ok(secret.into_bytes())
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

async fn websocket(State(st): State<AppState>, ws: WebSocketUpgrade) -> impl IntoResponse {
    let ctx = xmpp::session::SessionCtx {
        router: st.router.clone(),
        tokens: st.tokens.clone(),
        max_stanza: st.cfg.limits.max_stanza_bytes,
        rate: st.cfg.limits.stanzas_per_second,
        burst: st.cfg.limits.stanza_burst,
        store: st.store.clone(),
    };
    let max = st.cfg.limits.max_stanza_bytes;
    ws.protocols(["xmpp"])
        .max_message_size(2 * max + 1024)
        .max_frame_size(2 * max + 1024)
        .on_upgrade(move |socket| xmpp::session::serve(socket, ctx))
}

/// Signs the echo contact in to the signaling service clients are told to use.
fn start_echo(state: &AppState, addr: SocketAddr, jid: nx::NxId) -> call::echo::EchoBot {
    let udp = if addr.ip().is_loopback() { format!("{}:0", addr.ip()) } else { "0.0.0.0:0".to_string() };
    let cfg = call::echo::EchoConfig {
        nxws: state.nxws.clone(),
        token: state.tokens.issue(&jid.to_string(), tokens::TokenKind::Nx, 10 * 365 * 86400),
        jid,
        net: call::NetConfig { udp_addrs: vec![udp], ..Default::default() },
    };
    call::echo::EchoBot::start(cfg)
}

/// Binds, migrates the database and starts serving.
pub async fn start(mut cfg: ServerConfig) -> Result<ServerHandle, ServerError> {
    let echo_id = nx::NxId::new("echo", cfg.domain.clone()).map_err(|e| ServerError::Domain(cfg.domain.clone(), e.to_string()))?;
    let store = store::Store::open(&cfg.data_dir).await?;
    let secret = signing_secret(&cfg)?;
    if cfg.jwt_secret.is_empty() {
        cfg.jwt_secret = String::from_utf8_lossy(&secret).into_owned();
    }
    let listener = tokio::net::TcpListener::bind(cfg.listen).await.map_err(|e| ServerError::Bind(cfg.listen, e))?;
    let addr = listener.local_addr().map_err(|e| ServerError::Bind(cfg.listen, e))?;
    let nxws = if cfg.nxws_url.is_empty() { format!("ws://{addr}/nx-websocket/") } else { cfg.nxws_url.clone() };
    let public_url = if cfg.public_url.is_empty() { format!("http://{addr}") } else { cfg.public_url.trim_end_matches('/').to_string() };
    let router = xmpp::Router::new(store.clone(), cfg.domain.clone(), cfg.limits.sessions_per_user, cfg.limits.offline_per_user);
    if cfg.echo {
        store.create_user("echo", None, None).await?;
    }
    let state = AppState { cfg: Arc::new(cfg), store, tokens: tokens::Tokens::new(&secret), router, nxws, public_url };
    let app = axum::Router::new()
        .nest("/api/v1.0", rest::routes())
        .route("/nx-websocket/", get(websocket))
        .route("/nx-websocket", get(websocket))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(state.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        // Signaling is many small messages: Nagle's algorithm would add tens of ms to each.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set");
            }
        });
        let serve = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = rx.await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "server stopped with an error");
        }
    });
    tracing::info!(%addr, "simu-server listening");
    let echo = state.cfg.echo.then(|| start_echo(&state, addr, echo_id));
    Ok(ServerHandle { addr, state, echo, shutdown: Some(tx), task })
}
