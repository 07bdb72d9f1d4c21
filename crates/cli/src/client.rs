//! Signing a user in to a server from the command line.

use anyhow::Context;
use call::{CallConfig, CallManager, MediaFactory, NetConfig, Quality, Timeouts};
use clap::Args;
use nx::{Registration, RestClient, RestConfig, SignInError, SignedIn};

/// Where to connect and as whom.
#[derive(Args, Clone, Debug)]
pub struct Account {
    /// Server base URL.
    #[arg(long, env = "SIMU_SERVER", default_value = "http://127.0.0.1:8787")]
    pub server: String,
    /// Phone number, username or NX ID.
    #[arg(long, env = "SIMU_USER")]
    pub user: String,
    /// Password: signs in (registering on first use). Without it, a secret kept for this user
    /// and server in a 0600 file (`$XDG_STATE_HOME/simu/devices/`) is the password.
    #[arg(long, env = "SIMU_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Tenant API key. For a server on this machine it is read from the server's data
    /// directory when not given.
    #[arg(long, env = "SIMU_API_KEY")]
    pub api_key: Option<String>,
    #[arg(long, env = "SIMU_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Data directory of a server on this machine (its `tenant.json` holds the tenant keys).
    #[arg(long, env = "SIMU_DATA_DIR")]
    pub server_data: Option<std::path::PathBuf>,
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

/// A signed-in account: its REST client (holding the user's tokens) and its identity.
pub struct SignedInAccount {
    pub rest: RestClient,
    pub who: SignedIn,
}

fn username(user: &str) -> &str {
    user.split('@').next().unwrap_or(user)
}

/// Whether `server` is an address on this machine.
fn is_local(server: &str) -> bool {
    url::Url::parse(server)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
        .is_some_and(|h| match h {
            url::Host::Domain(d) => d == "localhost",
            url::Host::Ipv4(ip) => ip.is_loopback(),
            url::Host::Ipv6(ip) => ip.is_loopback(),
        })
}

/// The tenant keys: given, or read from a server on this machine.
fn tenant_keys(a: &Account) -> anyhow::Result<(String, String)> {
    if let (Some(k), Some(s)) = (&a.api_key, &a.secret_key) {
        return Ok((k.clone(), s.clone()));
    }
    let dir = a
        .server_data
        .clone()
        .unwrap_or_else(|| server::ServerConfig::default().data_dir);
    if !is_local(&a.server) && a.server_data.is_none() {
        anyhow::bail!("give the server's tenant keys with --api-key and --secret-key (or SIMU_API_KEY / SIMU_SECRET_KEY)");
    }
    let keys = server::secrets::TenantKeys::read(&dir)
        .with_context(|| format!("no tenant keys in {} (start `simu server` there first, or give --api-key and --secret-key)", dir.display()))?;
    Ok((keys.api_key, keys.secret_key))
}

/// The per-device secret this CLI uses as the password of `user` on `server`, made once.
/// Two `simu` processes signing in as a new user at once must end up with the same secret,
/// so the file is published with a hard link, which fails if it exists (then theirs wins);
/// a file that is there but unreadable or short is an error, never silently replaced (the
/// account would be lost).
fn device_secret(server: &str, user: &str) -> anyhow::Result<String> {
    let safe = |s: &str| {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+') {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>()
    };
    let dir = dirs_state()
        .context("no home directory for the device secret")?
        .join("devices")
        .join(safe(server));
    server::secrets::private_dir(&dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(safe(user));
    let read = |p: &std::path::Path| -> anyhow::Result<String> {
        let s =
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
        anyhow::ensure!(s.trim().len() >= 32, "{} does not hold a device secret; move it away to make a new one (the account then needs its password)", p.display());
        Ok(s.trim().to_string())
    };
    if path.exists() {
        return read(&path);
    }
    let secret = server::secrets::random_hex(32);
    let tmp = dir.join(format!(".{}.{}", safe(user), std::process::id()));
    server::secrets::write_private(&tmp, &secret)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    let linked = std::fs::hard_link(&tmp, &path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(secret),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(&path),
        Err(e) => Err(e).with_context(|| format!("cannot keep {}", path.display())),
    }
}

pub async fn sign_in(a: &Account) -> anyhow::Result<SignedInAccount> {
    let (api_key, secret_key) = tenant_keys(a)?;
    let rest = RestClient::new(RestConfig::new(a.server.clone(), api_key, secret_key))?;
    let name = username(&a.user);
    let (pw, device) = match &a.password {
        Some(pw) => (pw.clone(), false),
        None => (device_secret(&a.server, name)?, true),
    };
    let who = match rest.sign_in(name, &pw, Registration::FirstUse).await {
        Ok(who) => who,
        Err(SignInError::Refused(why)) if device => {
            anyhow::bail!("{name} is taken on this server by another device or a password: sign in with --password ({why})")
        }
        Err(e) => return Err(e).context("signing in"),
    };
    Ok(SignedInAccount { rest, who })
}

/// Starts a CallManager with synthetic media for this account.
/// A signed-in CallManager; `timeouts` as the caller wants them (how long a call rings).
pub async fn manager(
    a: &Account,
    quality: Quality,
    timeouts: Timeouts,
    talk: Option<crate::talk::TalkWindow>,
) -> anyhow::Result<CallManager> {
    let mut media = MediaFactory {
        codecs: a.codecs.clone(),
        ..MediaFactory::synthetic()
    };
    if let Some(window) = talk {
        media.audio = std::sync::Arc::new(move |_: Option<&str>| {
            Box::new(crate::talk::Talking::new(
                media::audio::Tone::new(440.0, -20.0),
                window,
            )) as Box<dyn media::AudioSource>
        });
    }
    let SignedInAccount { rest, who } = sign_in(a).await?;
    let cfg = CallConfig {
        display_name: a
            .name
            .clone()
            .unwrap_or_else(|| who.jid.local().to_string()),
        rest,
        nxws: who.nxws,
        jid: who.jid,
        token: who.token,
        net: NetConfig {
            udp_addrs: vec![format!("{}:0", a.media_ip)],
            relay_only: a.relay,
            ..Default::default()
        },
        quality,
        media,
        // One spool per user: several headless clients may run side by side.
        analytics_dir: dirs_state().map(|d| d.join("analytics").join(username(&a.user))),
        timeouts,
    };
    let m = CallManager::start(cfg);
    m.wait_online(std::time::Duration::from_secs(15)).await?;
    Ok(m)
}

/// Where the CLI keeps state (undelivered analytics).
fn dirs_state() -> Option<std::path::PathBuf> {
    std::env::var_os("XDG_STATE_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".local/state"))
        })
        .map(|p| p.join("simu"))
}
