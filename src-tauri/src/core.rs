//! The app's state: the profile, the signed-in CallManager, the embedded server, and the
//! forwarding of CallManager events to the window. No call logic lives here.

use crate::error::{AppError, ErrorKind};
use crate::frames::Sinks;
use crate::notices::Notices;
use crate::profile::{embedded_data_dir, Mode, Profile, Settings};
use call::{CallConfig, CallEvent, CallManager, MediaFactory, NetConfig, Timeouts};
use nx::{Registration, RestClient, RestConfig, SignInError};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_notification::NotificationExt;
use tokio::sync::watch;

/// Where the embedded server listens.
pub const EMBEDDED_ADDR: &str = "127.0.0.1:8787";

#[derive(Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS), ts(optional_fields))]
pub struct SignInReq {
    pub mode: Mode,
    #[serde(default)]
    pub server: String,
    pub username: String,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub api_key: Option<String>,
    #[serde(default)]
    pub secret_key: Option<String>,
    /// The user chose to connect to a server on another machine without TLS.
    #[serde(default)]
    pub allow_insecure: bool,
}

impl std::fmt::Debug for SignInReq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |s: &Option<String>| if s.is_some() { "<redacted>" } else { "<none>" };
        f.debug_struct("SignInReq")
            .field("mode", &self.mode)
            .field("server", &self.server)
            .field("username", &self.username)
            .field("password", &hidden(&self.password))
            .field("api_key", &self.api_key)
            .field("secret_key", &hidden(&self.secret_key))
            .field("allow_insecure", &self.allow_insecure)
            .finish()
    }
}

/// Whether `url` names this machine (plain http is fine there).
fn is_loopback_url(url: &str) -> bool {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
        .is_some_and(|h| match h {
            url::Host::Domain(d) => d == "localhost",
            url::Host::Ipv4(ip) => ip.is_loopback(),
            url::Host::Ipv6(ip) => ip.is_loopback(),
        })
}

/// Asks the server on `base` to prove it holds this install's tenant secret, before any
/// secret is sent to it: another user of this machine could be listening on the port.
async fn verify_embedded(base: &str, keys: &server::secrets::TenantKeys) -> Result<(), AppError> {
    let nonce = server::secrets::random_hex(16);
    let url = format!("{base}/api/v1.0/simu/identity/?nonce={nonce}");
    let reply = reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(3))
        .send()
        .await
        .map_err(|e| {
            AppError::new(
                ErrorKind::Unreachable,
                format!("Cannot check the local server: {e}"),
            )
        })?;
    let text = reply.text().await.unwrap_or_default();
    let proof = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("proof").and_then(|p| p.as_str()).map(str::to_string))
        .unwrap_or_default();
    let expected = server::rest::identity_proof(&keys.secret_key, &nonce);
    if server::rest::constant_time_eq(proof.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(port_taken())
    }
}

/// Another program holds the embedded server's port.
fn port_taken() -> AppError {
    AppError::local(format!(
        "Another program is using {EMBEDDED_ADDR} and it is not your Simu server. Close it and try again."
    ))
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SignedIn {
    pub nxid: String,
    pub server: String,
    pub mode: Mode,
    pub profile: String,
}

pub struct Core {
    pub profile: Profile,
    pub frames_url: String,
    sinks: watch::Sender<Option<Sinks>>,
    session: tokio::sync::Mutex<Option<Active>>,
    embedded: tokio::sync::Mutex<Option<Embedded>>,
    forwarders: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// The in-process server and its echo contact, kept for as long as the app runs.
struct Embedded {
    server: server::ServerHandle,
    _echo: Option<echo::EchoBot>,
}

/// A signed-in user.
pub struct Active {
    pub manager: CallManager,
    pub rest: RestClient,
    pub info: SignedIn,
}

impl Core {
    pub fn new(profile: Profile, frames_url: String, sinks: watch::Sender<Option<Sinks>>) -> Self {
        Self {
            profile,
            frames_url,
            sinks,
            session: tokio::sync::Mutex::new(None),
            embedded: tokio::sync::Mutex::new(None),
            forwarders: Mutex::new(Vec::new()),
        }
    }

    /// Joins this user's simu-server already running on this machine (after it proved who it
    /// is), or starts one in-process; returns its address and tenant keys.
    async fn ensure_embedded(&self) -> Result<(String, server::secrets::TenantKeys), AppError> {
        let base = format!("http://{EMBEDDED_ADDR}");
        let mut guard = self.embedded.lock().await;
        if let Some(h) = guard.as_ref() {
            let c = &h.server.state.cfg;
            return Ok((
                base,
                server::secrets::TenantKeys {
                    api_key: c.api_key.clone(),
                    secret_key: c.secret_key.clone(),
                },
            ));
        }
        let probe = reqwest::Client::new()
            .get(format!("{base}/healthz"))
            .timeout(Duration::from_millis(800))
            .send()
            .await;
        if probe.is_ok_and(|r| r.status().is_success()) {
            let keys =
                server::secrets::TenantKeys::read(&embedded_data_dir()).ok_or_else(port_taken)?;
            verify_embedded(&base, &keys).await?;
            return Ok((base, keys));
        }
        let cfg = server::ServerConfig {
            listen: EMBEDDED_ADDR
                .parse()
                .map_err(|e| AppError::local(format!("{e}")))?,
            data_dir: embedded_data_dir(),
            ..Default::default()
        };
        let handle = server::start(cfg)
            .await
            .map_err(|e| AppError::local(format!("Cannot start the local server: {e}")))?;
        let c = &handle.state.cfg;
        let keys = server::secrets::TenantKeys {
            api_key: c.api_key.clone(),
            secret_key: c.secret_key.clone(),
        };
        let echo = handle
            .echo_account()
            .map(|a| echo::EchoBot::start(echo::EchoConfig::beside(handle.addr.ip(), a)));
        *guard = Some(Embedded {
            server: handle,
            _echo: echo,
        });
        Ok((base, keys))
    }

    pub async fn signed_in(&self) -> Option<SignedIn> {
        self.session.lock().await.as_ref().map(|a| a.info.clone())
    }

    pub async fn with_active<T>(&self, f: impl FnOnce(&Active) -> T) -> Result<T, AppError> {
        self.session
            .lock()
            .await
            .as_ref()
            .map(f)
            .ok_or_else(AppError::not_signed_in)
    }

    /// Signs in (registering on first use with a password), starts the CallManager and
    /// remembers the choice; secrets go to the keyring.
    pub async fn sign_in(&self, app: &AppHandle, req: SignInReq) -> Result<SignedIn, AppError> {
        let username = req.username.trim().to_string();
        if username.is_empty() {
            return Err(AppError::invalid("Enter a username or phone number."));
        }
        let (server, api_key, secret_key) = match req.mode {
            Mode::Embedded => {
                let (base, keys) = self.ensure_embedded().await?;
                (base, keys.api_key, keys.secret_key)
            }
            Mode::Remote => {
                let s = req.server.trim().trim_end_matches('/').to_string();
                if !(s.starts_with("http://") || s.starts_with("https://")) {
                    return Err(AppError::invalid(format!(
                        "\"{s}\" is not a server address (try https://calls.example.com)."
                    )));
                }
                if s.starts_with("http://") && !is_loopback_url(&s) && !req.allow_insecure {
                    return Err(AppError::invalid(format!("{s} is not encrypted (http): your password and calls' signaling could be read on the way. Use https, or tick \"Allow an unencrypted connection\".")));
                }
                let secret = req
                    .secret_key
                    .clone()
                    .or_else(|| self.profile.secret("tenant-secret"))
                    .unwrap_or_default();
                (s, req.api_key.clone().unwrap_or_default(), secret)
            }
        };
        let rest = RestClient::new(RestConfig::new(
            server.clone(),
            api_key.clone(),
            secret_key.clone(),
        ))?;
        let name = username.split('@').next().unwrap_or(&username).to_string();
        let password = req
            .password
            .clone()
            .filter(|p| !p.is_empty())
            .or_else(|| self.profile.secret("password"));
        // Without a password the profile's device secret proves who we are (registering the
        // name on first use: first come, first served).
        let (secret, typed) = match &password {
            Some(pw) => (pw.clone(), true),
            None => (self.profile.device_secret()?, false),
        };
        // The account may be made here on the embedded server, or with the device secret.
        let register = if req.mode == Mode::Embedded || !typed {
            Registration::FirstUse
        } else {
            Registration::Never
        };
        let who = match rest.sign_in(&name, &secret, register).await {
            Ok(who) => who,
            Err(SignInError::Refused(_)) if !typed => {
                return Err(AppError::new(ErrorKind::Refused, format!("The name {name} is already taken on this server. If it is yours, sign in with its password.")))
            }
            Err(e) => return Err(e.into()),
        };
        self.sign_out().await;
        let kept = self.profile.load().unwrap_or_default();
        let settings = Settings {
            mode: req.mode.clone(),
            server: server.clone(),
            username: name.clone(),
            api_key,
            ..kept
        };
        let quality = settings.choices.default_quality.quality();
        // Listing cameras probes /dev/video*: off the async runtime.
        let devices = tokio::task::spawn_blocking(MediaFactory::devices).await?;
        let manager = CallManager::start(CallConfig {
            rest: rest.clone(),
            nxws: who.nxws,
            jid: who.jid.clone(),
            token: who.token,
            display_name: name,
            net: NetConfig {
                udp_addrs: vec![if req.mode == Mode::Embedded {
                    "127.0.0.1:0".into()
                } else {
                    "0.0.0.0:0".into()
                }],
                ..Default::default()
            },
            quality,
            media: MediaFactory {
                codecs: settings.choices.codec_preference(),
                ..devices
            },
            analytics_dir: Some(self.profile.analytics_dir()),
            timeouts: Timeouts::default(),
        });
        if let Err(e) = manager.set_call_filter(settings.rules.filter()).await {
            tracing::warn!(error = %e, "the call rules could not be applied");
        }
        let choices = &settings.choices;
        if choices.speaker.is_some() {
            let _ = manager.set_speaker(choices.speaker.clone()).await;
        }
        if choices.microphone.is_some() {
            let _ = manager.set_microphone(choices.microphone.clone()).await;
        }
        if let Some(cam) = &choices.camera {
            if let Err(e) = manager.select_camera(cam).await {
                tracing::info!(error = %e, "the saved camera is not here; using the first one");
            }
        }
        if let Err(e) = manager.wait_online(Duration::from_secs(10)).await {
            manager.dispose().await;
            return Err(AppError::new(
                ErrorKind::Unreachable,
                format!("Signed in, but the signaling connection did not come up ({e})."),
            ));
        }
        if let Some(pw) = &password {
            self.profile.set_secret("password", pw)?;
        }
        if req.mode == Mode::Remote && !secret_key.is_empty() {
            self.profile.set_secret("tenant-secret", &secret_key)?;
        }
        self.profile
            .save(&settings)
            .map_err(|e| AppError::local(format!("Cannot save settings: {e}")))?;
        let _ = self.sinks.send(Some(Sinks {
            local: manager.local_video(),
            remote: manager.remote_video(),
            participants: manager.participants_watch(),
        }));
        self.forward_events(app, &manager);
        let info = SignedIn {
            nxid: who.jid.to_string(),
            server,
            mode: req.mode,
            profile: self.profile.name.clone(),
        };
        *self.session.lock().await = Some(Active {
            manager,
            rest,
            info: info.clone(),
        });
        Ok(info)
    }

    /// Signs in again with what the profile remembers.
    pub async fn resume(&self, app: &AppHandle) -> Result<Option<SignedIn>, AppError> {
        let Some(s) = self.profile.account() else {
            return Ok(None);
        };
        let allow_insecure = s.server.starts_with("http://");
        let req = SignInReq {
            mode: s.mode,
            server: s.server,
            username: s.username,
            password: None,
            api_key: Some(s.api_key),
            secret_key: None,
            allow_insecure,
        };
        self.sign_in(app, req).await.map(Some)
    }

    pub async fn sign_out(&self) {
        for t in self
            .forwarders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            t.abort();
        }
        if let Some(a) = self.session.lock().await.take() {
            a.manager.dispose().await;
        }
        let _ = self.sinks.send(None);
    }

    /// Forgets the account: settings and keyring secrets.
    pub async fn forget(&self) {
        self.sign_out().await;
        self.profile.forget();
        self.profile.delete_secret("password");
        self.profile.delete_secret("tenant-secret");
    }

    fn forward_events(&self, app: &AppHandle, m: &CallManager) {
        let mut events = m.subscribe();
        let app1 = app.clone();
        let t1 = tokio::spawn(async move {
            // Who rang last, so a call they gave up on can be announced as missed by name.
            let mut last_caller = String::new();
            loop {
                match events.recv().await {
                    Ok(e) => {
                        match &e {
                            CallEvent::IncomingCall {
                                caller_name,
                                caller,
                                call_type,
                                ..
                            } => {
                                last_caller = if caller_name.is_empty() {
                                    caller.clone()
                                } else {
                                    caller_name.clone()
                                };
                                announce_incoming(
                                    &app1,
                                    caller_name,
                                    caller,
                                    call_type.has_video(),
                                );
                            }
                            CallEvent::IncomingWithdrawn { .. } => {
                                announce_missed(&app1, &last_caller);
                            }
                            CallEvent::IncomingFiltered {
                                caller_name,
                                filtered: call::Filtered::DoNotDisturb,
                                ..
                            } => announce_missed(&app1, caller_name),
                            _ => {}
                        }
                        let _ = app1.emit("call-event", &e);
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => break,
                }
            }
        });
        let mut stats = m.stats_stream();
        let app2 = app.clone();
        let t2 = tokio::spawn(async move {
            loop {
                match stats.recv().await {
                    Ok(s) => {
                        let _ = app2.emit("call-stats", &s);
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => break,
                }
            }
        });
        let mut g = self.forwarders.lock().unwrap_or_else(|p| p.into_inner());
        g.push(t1);
        g.push(t2);
    }
}

/// A call rang here unanswered: for the person called it is a missed call, said once.
fn announce_missed(app: &AppHandle, name: &str) {
    let texts = app.state::<Notices>().texts();
    if let Err(e) = app
        .notification()
        .builder()
        .title(texts.missed_title)
        .body(format!("{} {name}", texts.missed_from))
        .show()
    {
        tracing::debug!(error = %e, "no missed-call notification");
    }
}

/// A call is coming in: if the window is not in front, notify and bring it forward.
fn announce_incoming(app: &AppHandle, name: &str, nxid: &str, video: bool) {
    let Some(w) = app.get_webview_window("main") else {
        return;
    };
    let focused = w.is_focused().unwrap_or(false);
    let visible = w.is_visible().unwrap_or(true) && !w.is_minimized().unwrap_or(false);
    if !(focused && visible) {
        let texts = app.state::<Notices>().texts();
        let title = if video {
            texts.incoming_video
        } else {
            texts.incoming_audio
        };
        let _ = app
            .notification()
            .builder()
            .title(title)
            .body(format!("{name} ({nxid})"))
            .show();
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}
