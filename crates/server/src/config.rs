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
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct TurnConfig {
    /// e.g. `turn:127.0.0.1:3478?transport=udp`; empty disables TURN.
    pub urls: Vec<String>,
    pub shared_secret: String,
    pub ttl_seconds: u64,
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
    /// Sessions one user may have at once.
    pub sessions_per_user: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_stanza_bytes: 64 * 1024,
            stanzas_per_second: 200,
            stanza_burst: 1000,
            offline_per_user: 500,
            sessions_per_user: 10,
        }
    }
}

/// Everything the server needs to run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// XMPP domain of NX IDs.
    pub domain: String,
    /// Tenant (app) credentials required on every REST call.
    pub api_key: String,
    pub secret_key: String,
    /// HS256 key for access, refresh and NX tokens; ejabberd's `jwt_key` must hold the same.
    pub jwt_secret: String,
    /// `nxws` handed to clients; empty means this server's own `/nx-websocket/`.
    pub nxws_url: String,
    /// Public base URL for call links; empty means `http://<listen>`.
    pub public_url: String,
    pub stun_urls: Vec<String>,
    pub turn: TurnConfig,
    pub limits: Limits,
    /// Runs the echo contact `echo@<domain>`.
    pub echo: bool,
    /// Lifetime of NX tokens, seconds.
    pub nx_token_ttl: u64,
    /// Lets `/nexacon-auth/nxm-token/` create unknown users (the tenant backend vouches for them).
    pub auto_register: bool,
}

/// Tenant credentials of a default local install; real deployments set their own.
pub const DEFAULT_API_KEY: &str = "simu-local-key";
pub const DEFAULT_SECRET_KEY: &str = "simu-local-secret";

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8787)),
            data_dir: default_data_dir(),
            domain: "simu.local".into(),
            api_key: DEFAULT_API_KEY.into(),
            secret_key: DEFAULT_SECRET_KEY.into(),
            jwt_secret: String::new(),
            nxws_url: String::new(),
            public_url: String::new(),
            stun_urls: Vec::new(),
            turn: TurnConfig { ttl_seconds: 86400, ..Default::default() },
            limits: Limits::default(),
            echo: true,
            nx_token_ttl: 86400,
            auto_register: true,
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
                let text = std::fs::read_to_string(p).map_err(|e| ConfigError::Read(p.to_path_buf(), e))?;
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
            self.listen = v.parse().map_err(|e| ConfigError::Env("SIMU_LISTEN", format!("{e}")))?;
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
        assert_eq!(c.limits.max_stanza_bytes, Limits::default().max_stanza_bytes);
        assert!(c.echo);
        std::fs::write(&path, "listen = 12").expect("write");
        assert!(matches!(ServerConfig::load(Some(&path)), Err(ConfigError::Parse(..))));
        assert!(matches!(ServerConfig::load(Some(&dir.join("missing.toml"))), Err(ConfigError::Read(..))));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
