//! Server settings: defaults that work on 127.0.0.1, overridden by a TOML file and then by
//! `SIMU_*` environment variables.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("bad config file {0}: {1}")]
    Parse(PathBuf, toml::de::Error),
    #[error("bad value for {0}: {1}")]
    Env(&'static str, String),
}

/// TURN relay settings (TURN REST API credentials, coturn `use-auth-secret`).
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TurnConfig {
    /// e.g. `turn:127.0.0.1:3478?transport=udp`; empty disables TURN.
    pub urls: Vec<String>,
    pub shared_secret: String,
    /// Lifetime of relay credentials: long enough for a call, short enough that a leaked one
    /// soon stops working (clients fetch fresh ones before each call).
    pub ttl_seconds: u64,
}

impl Default for TurnConfig {
    fn default() -> Self {
        Self {
            urls: Vec::new(),
            shared_secret: String::new(),
            ttl_seconds: DEFAULT_TURN_TTL,
        }
    }
}

/// Default lifetime of TURN credentials (4 h; the protocol's reference uses 24 h).
pub const DEFAULT_TURN_TTL: u64 = 4 * 3600;

impl std::fmt::Debug for TurnConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnConfig")
            .field("urls", &self.urls)
            .field("shared_secret", &redact(&self.shared_secret))
            .field("ttl_seconds", &self.ttl_seconds)
            .finish()
    }
}

/// The conference server (SFU) for group calls over the mesh limit: a Janus instance with
/// token auth (`token_auth_secret`) and a VideoRoom `admin_key` (protocol.md §4.3).
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SfuConfig {
    /// Janus's WebSocket API, e.g. `ws://127.0.0.1:8188`; empty: no SFU.
    pub janus_url: String,
    /// The URL handed to clients; empty means `janus_url`.
    pub public_url: String,
    /// Janus's `token_auth_secret`: signs the tokens this server mints.
    pub token_secret: String,
    /// The VideoRoom plugin's `admin_key`: only this server creates rooms.
    pub admin_key: String,
    /// Lifetime of the tokens handed to members (clients fetch fresh ones for a longer call).
    pub token_ttl_seconds: u64,
    /// Cap on each publisher's video bitrate, bit/s (Janus enforces it by REMB).
    pub bitrate: u32,
    /// A room nobody has been in for this long is destroyed.
    pub empty_room_seconds: u64,
}

impl Default for SfuConfig {
    fn default() -> Self {
        Self {
            janus_url: String::new(),
            public_url: String::new(),
            token_secret: String::new(),
            admin_key: String::new(),
            token_ttl_seconds: DEFAULT_TURN_TTL,
            bitrate: 1_000_000,
            empty_room_seconds: 120,
        }
    }
}

impl SfuConfig {
    /// A Janus named by `SIMU_JANUS_URL`, `SIMU_JANUS_SECRET` and `SIMU_JANUS_ADMIN_KEY`, when
    /// all three are set (the server's settings, and the tests and benches run beside a Janus).
    pub fn from_env() -> Option<SfuConfig> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Some(SfuConfig {
            janus_url: var("SIMU_JANUS_URL")?,
            token_secret: var("SIMU_JANUS_SECRET")?,
            admin_key: var("SIMU_JANUS_ADMIN_KEY")?,
            ..Default::default()
        })
    }
}

impl std::fmt::Debug for SfuConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SfuConfig")
            .field("janus_url", &self.janus_url)
            .field("public_url", &self.public_url)
            .field("token_secret", &redact(&self.token_secret))
            .field("admin_key", &redact(&self.admin_key))
            .field("token_ttl_seconds", &self.token_ttl_seconds)
            .field("bitrate", &self.bitrate)
            .field("empty_room_seconds", &self.empty_room_seconds)
            .finish()
    }
}

/// How a secret appears in logs and `Debug` output.
pub fn redact(secret: &str) -> &'static str {
    if secret.is_empty() {
        "<unset>"
    } else {
        "<redacted>"
    }
}

/// Limits of the signaling endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Largest stanza accepted, in bytes.
    pub max_stanza_bytes: usize,
    /// Sustained stanzas per second per connection.
    pub stanzas_per_second: u32,
    /// Burst above the sustained rate.
    pub stanza_burst: u32,
    /// Offline messages kept per user (oldest dropped first).
    pub offline_per_user: i64,
    /// Offline messages one sender may leave for one recipient.
    pub offline_per_sender: i64,
    /// Sessions one user may have at once (counted from authentication, not only bound ones).
    pub sessions_per_user: usize,
    /// Bytes a connection may buffer before it has authenticated.
    pub pre_auth_bytes: usize,
    /// Sustained WebSocket bytes per second per connection (frames and bytes are limited, not
    /// only whole stanzas).
    pub bytes_per_second: u32,
    /// Sustained WebSocket frames per second per connection.
    pub frames_per_second: u32,
    /// Seconds without traffic before the server pings a session; a session that does not
    /// answer within the same time is closed.
    pub idle_ping_seconds: u64,
    /// Argon2 hashes computed at once (each takes ~19 MiB); more requests wait their turn.
    pub concurrent_hashes: usize,
    /// Failed logins per account before it is locked out for a while (doubling each time).
    pub login_failures_per_account: u32,
    /// Failed logins per client address per minute before it is refused for a while.
    pub login_failures_per_address: u32,
    /// Accounts one client address may register per hour.
    pub registrations_per_address: u32,
    /// Guest joins through call links one client address may make per hour.
    pub guest_joins_per_address: u32,
    /// Call links (per-call and room) one user may have live at once.
    pub links_per_user: usize,
    /// Seconds a client may take to send a request's headers (slowloris guard).
    pub header_timeout_seconds: u64,
    /// Seconds a connection may stay open without a request or a WebSocket frame.
    pub idle_timeout_seconds: u64,
    /// Open TCP connections in all.
    pub max_connections: usize,
    /// Open TCP connections from one address.
    pub connections_per_address: usize,
    /// Contacts one user may keep.
    pub contacts_per_user: i64,
    /// Analytics records one user may send for one call.
    pub analytics_per_call: i64,
    /// Members a group call may have while its media goes peer to peer (mesh); more need a
    /// conference server (SFU).
    pub mesh_members: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_stanza_bytes: 64 * 1024,
            stanzas_per_second: 200,
            stanza_burst: 1000,
            offline_per_user: 500,
            offline_per_sender: 50,
            sessions_per_user: 10,
            pre_auth_bytes: 16 * 1024,
            bytes_per_second: 256 * 1024,
            frames_per_second: 400,
            idle_ping_seconds: 60,
            concurrent_hashes: 2,
            login_failures_per_account: 5,
            login_failures_per_address: 20,
            registrations_per_address: 60,
            guest_joins_per_address: 30,
            links_per_user: 50,
            header_timeout_seconds: 10,
            idle_timeout_seconds: 120,
            max_connections: 4096,
            connections_per_address: 128,
            contacts_per_user: 2000,
            analytics_per_call: 20,
            mesh_members: 4,
        }
    }
}

/// Everything the server needs to run.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// XMPP domain of NX IDs.
    pub domain: String,
    /// Tenant (app) credentials required on every REST call. Empty: random per install, kept
    /// in `<data_dir>/tenant.json` for local clients.
    pub api_key: String,
    pub secret_key: String,
    /// HS256 key for access, refresh and NX tokens; ejabberd's `jwt_key` must hold the same.
    /// Empty: random per install (`<data_dir>/jwt.secret`). At least 32 bytes.
    pub jwt_secret: String,
    /// `nxws` handed to clients; empty means this server's own `/nx-websocket/`.
    pub nxws_url: String,
    /// Public base URL for call links; empty means `http://<listen>`.
    pub public_url: String,
    pub stun_urls: Vec<String>,
    pub turn: TurnConfig,
    pub sfu: SfuConfig,
    pub limits: Limits,
    /// Runs the echo contact `echo@<domain>`.
    pub echo: bool,
    /// Lifetime of NX tokens, seconds.
    pub nx_token_ttl: u64,
    /// Server-to-server minting: `/nexacon-auth/nxm-token/` issues a token for *any* username
    /// to whoever holds the tenant secret, creating unknown users (the seed's
    /// `generateXMPPToken` run by a tenant backend). Whoever holds the secret can then act as
    /// any user: turn it on only when the secret lives in a backend, never in end-user apps.
    pub trusted_backend: bool,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("domain", &self.domain)
            .field("api_key", &self.api_key)
            .field("secret_key", &redact(&self.secret_key))
            .field("jwt_secret", &redact(&self.jwt_secret))
            .field("nxws_url", &self.nxws_url)
            .field("public_url", &self.public_url)
            .field("stun_urls", &self.stun_urls)
            .field("turn", &self.turn)
            .field("sfu", &self.sfu)
            .field("limits", &self.limits)
            .field("echo", &self.echo)
            .field("nx_token_ttl", &self.nx_token_ttl)
            .field("trusted_backend", &self.trusted_backend)
            .finish()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            data_dir: default_data_dir(),
            domain: "simu.local".into(),
            api_key: String::new(),
            secret_key: String::new(),
            jwt_secret: String::new(),
            nxws_url: String::new(),
            public_url: String::new(),
            stun_urls: Vec::new(),
            turn: TurnConfig::default(),
            sfu: SfuConfig::default(),
            limits: Limits::default(),
            echo: true,
            nx_token_ttl: 86400,
            trusted_backend: false,
        }
    }
}

fn default_data_dir() -> PathBuf {
    std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."))
        .join("simu/server")
}

impl ServerConfig {
    /// Defaults, then the file (if given), then the environment.
    pub fn load(file: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        let mut cfg = match file {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| ConfigError::Read(p.to_path_buf(), e))?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse(p.to_path_buf(), e))?
            }
            None => ServerConfig::default(),
        };
        cfg.apply_env()?;
        Ok(cfg)
    }

    fn apply_env(&mut self) -> Result<(), ConfigError> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(v) = var("SIMU_LISTEN") {
            self.listen = v
                .parse()
                .map_err(|e| ConfigError::Env("SIMU_LISTEN", format!("{e}")))?;
        }
        if let Some(v) = var("SIMU_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = var("SIMU_DOMAIN") {
            self.domain = v;
        }
        if let Some(v) = var("SIMU_API_KEY") {
            self.api_key = v;
        }
        if let Some(v) = var("SIMU_SECRET_KEY") {
            self.secret_key = v;
        }
        if let Some(v) = var("SIMU_JWT_SECRET") {
            self.jwt_secret = v;
        }
        if let Some(v) = var("SIMU_NXWS_URL") {
            self.nxws_url = v;
        }
        if let Some(v) = var("SIMU_TURN_URLS") {
            self.turn.urls = v.split(',').map(str::to_string).collect();
        }
        if let Some(v) = var("SIMU_TURN_SECRET") {
            self.turn.shared_secret = v;
        }
        if let Some(v) = var("SIMU_JANUS_URL") {
            self.sfu.janus_url = v;
        }
        if let Some(v) = var("SIMU_JANUS_SECRET") {
            self.sfu.token_secret = v;
        }
        if let Some(v) = var("SIMU_JANUS_ADMIN_KEY") {
            self.sfu.admin_key = v;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_settings_override_defaults_and_the_rest_stay_sane() {
        let dir = std::env::temp_dir().join(format!("simu-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("server.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9999\"\ndomain = \"calls.example\"\n[turn]\nurls = [\"turn:127.0.0.1:3478\"]\nshared_secret = \"x\"\n[limits]\noffline_per_user = 7\n").expect("write");
        let c = ServerConfig::load(Some(&path)).expect("load");
        assert_eq!(c.listen.port(), 9999);
        assert_eq!(c.domain, "calls.example");
        assert_eq!(c.turn.urls.len(), 1);
        assert_eq!(c.limits.offline_per_user, 7);
        assert_eq!(
            c.limits.max_stanza_bytes,
            Limits::default().max_stanza_bytes
        );
        assert!(c.echo);
        assert!(
            !c.trusted_backend,
            "minting for any user is off unless configured"
        );
        std::fs::write(&path, "listen = 12").expect("write");
        assert!(matches!(
            ServerConfig::load(Some(&path)),
            Err(ConfigError::Parse(..))
        ));
        assert!(matches!(
            ServerConfig::load(Some(&dir.join("missing.toml"))),
            Err(ConfigError::Read(..))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[cfg(test)]
mod redaction_tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_secrets() {
        let c = ServerConfig {
            secret_key: "tenant-secret-value".into(),
            jwt_secret: "jwt-secret-value-jwt-secret-value".into(),
            turn: TurnConfig {
                shared_secret: "turn-secret-value".into(),
                ..Default::default()
            },
            sfu: SfuConfig {
                token_secret: "janus-secret-value".into(),
                admin_key: "janus-admin-value".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        let text = format!("{c:?}");
        for s in [
            "tenant-secret-value",
            "jwt-secret-value",
            "turn-secret-value",
            "janus-secret-value",
            "janus-admin-value",
        ] {
            assert!(!text.contains(s), "{s} leaked: {text}");
        }
        assert!(text.contains("<redacted>"));
    }
}
