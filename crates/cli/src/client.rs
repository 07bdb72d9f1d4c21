//! Signing a user in to a server from the command line.

use anyhow::Context;
use call::{CallConfig, CallManager, MediaFactory, NetConfig, Quality, Timeouts};
use clap::Args;
use nx::{NxId, RestClient, RestConfig, RestError};

/// Where to connect and as whom.
#[derive(Args, Clone, Debug)]
pub struct Account {
    /// Server base URL.
    #[arg(long, env = "SIMU_SERVER", default_value = "http://127.0.0.1:8787")]
    pub server: String,
    /// Phone number, username or NX ID.
    #[arg(long, env = "SIMU_USER")]
    pub user: String,
    /// Password: signs in (registering on first use). Without it the tenant keys mint a token.
    #[arg(long, env = "SIMU_PASSWORD")]
    pub password: Option<String>,
    #[arg(long, env = "SIMU_API_KEY", default_value = server::config::DEFAULT_API_KEY)]
    pub api_key: String,
    #[arg(long, env = "SIMU_SECRET_KEY", default_value = server::config::DEFAULT_SECRET_KEY, hide_env_values = true)]
    pub secret_key: String,
    /// Display name sent with invitations.
    #[arg(long)]
    pub name: Option<String>,
    /// Local address for media sockets (use 127.0.0.1 for loopback-only tests).
    #[arg(long, default_value = "0.0.0.0")]
    pub media_ip: String,
    /// Relay-only ICE (iceTransportPolicy: relay).
    #[arg(long)]
    pub relay: bool,
    /// Video codecs in order of preference, e.g. `vp8,h264` (default: h264,vp8).
    #[arg(long, value_delimiter = ',')]
    pub codecs: Vec<media::codec::VideoCodec>,
}

/// A signed-in user.
pub struct Session {
    pub rest: RestClient,
    pub jid: NxId,
    pub token: String,
    pub nxws: String,
}

fn username(user: &str) -> &str {
    user.split('@').next().unwrap_or(user)
}

pub async fn sign_in(a: &Account) -> anyhow::Result<Session> {
    let rest = RestClient::new(RestConfig::new(a.server.clone(), a.api_key.clone(), a.secret_key.clone()))?;
    let name = username(&a.user);
    match &a.password {
        Some(pw) => {
            let login = match rest.login(name, pw).await {
                Ok(l) => l,
                Err(RestError::Http { status: 401, .. }) => {
                    rest.register(name, pw, None).await.context("registering a new account")?;
                    rest.login(name, pw).await.context("signing in after registering")?
                }
                Err(e) => return Err(e).context("signing in"),
            };
            let jid = NxId::parse_jid(&login.nxid)?;
            Ok(Session { rest, jid, token: login.nxsm_token, nxws: login.nxws })
        }
        None => {
            let t = rest.generate_nx_token(name, None).await.context("getting an NX token")?;
            Ok(Session { jid: NxId::parse_jid(&t.jid)?, token: t.token, nxws: t.nxws, rest })
        }
    }
}

/// Starts a CallManager with synthetic media for this account.
pub async fn manager(a: &Account, quality: Quality) -> anyhow::Result<CallManager> {
    let s = sign_in(a).await?;
    let cfg = CallConfig {
        display_name: a.name.clone().unwrap_or_else(|| s.jid.local().to_string()),
        rest: s.rest,
        nxws: s.nxws,
        jid: s.jid,
        token: s.token,
        net: NetConfig { udp_addrs: vec![format!("{}:0", a.media_ip)], relay_only: a.relay, ..Default::default() },
        quality,
        media: MediaFactory { codecs: a.codecs.clone(), ..MediaFactory::synthetic() },
        // One spool per user: several headless clients may run side by side.
        analytics_dir: dirs_state().map(|d| d.join("analytics").join(username(&a.user))),
        timeouts: Timeouts::default(),
    };
    let m = CallManager::start(cfg);
    let mut online = m.signaling_online();
    let up = matches!(tokio::time::timeout(std::time::Duration::from_secs(15), online.wait_for(|o| *o)).await, Ok(Ok(_)));
    anyhow::ensure!(up, "signaling did not come online (is the server reachable?)");
    Ok(m)
}

/// Where the CLI keeps state (undelivered analytics).
fn dirs_state() -> Option<std::path::PathBuf> {
    std::env::var_os("XDG_STATE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".local/state")))
        .map(|p| p.join("simu"))
}
