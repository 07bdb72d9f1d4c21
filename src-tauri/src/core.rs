//! The app's state: the profile, the signed-in CallManager, the embedded server, and the
//! forwarding of CallManager events to the window. No call logic lives here.

use crate::frames::Sinks;
use crate::profile::{embedded_data_dir, Mode, Profile, Settings};
use call::{CallConfig, CallEvent, CallManager, MediaFactory, NetConfig, Preset, Timeouts};
use nx::{NxId, RestClient, RestConfig, RestError};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_notification::NotificationExt;
use tokio::sync::watch;

/// Where the embedded server listens.
pub const EMBEDDED_ADDR: &str = "127.0.0.1:8787";

#[derive(Debug, Deserialize)]
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
}

#[derive(Debug, Clone, Serialize)]
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
    embedded: tokio::sync::Mutex<Option<server::ServerHandle>>,
    forwarders: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// The microphone the next call opens (settings change it between calls).
    pub microphone: Arc<Mutex<Option<String>>>,
}

/// A signed-in user.
pub struct Active {
    pub manager: CallManager,
    pub rest: RestClient,
    pub info: SignedIn,
}

/// User-facing text for REST failures (bad address, server down, bad credentials).
pub fn explain(e: &RestError) -> String {
    match e {
        RestError::Network { url, .. } => {
            let server = url.split("/api/").next().unwrap_or(url);
            format!("Cannot reach the server at {server}. Is it running, and is the address right?")
        }
        RestError::Timeout(_) => "The server did not answer in time.".into(),
        RestError::BadUrl(u) => format!("\"{u}\" is not a server address (try http://host:port)."),
        RestError::Http { status: 401, message } => format!("Sign-in refused: {message}"),
        other => other.to_string(),
    }
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
            microphone: Arc::new(Mutex::new(None)),
        }
    }

    /// Joins a simu-server already running on this machine, or starts one in-process.
    async fn ensure_embedded(&self) -> Result<String, String> {
        let base = format!("http://{EMBEDDED_ADDR}");
        let mut guard = self.embedded.lock().await;
        if guard.is_some() {
            return Ok(base);
        }
        let probe = reqwest::Client::new().get(format!("{base}/healthz")).timeout(Duration::from_millis(800)).send().await;
        if probe.is_ok_and(|r| r.status().is_success()) {
            return Ok(base);
        }
        let cfg = server::ServerConfig {
            listen: EMBEDDED_ADDR.parse().map_err(|e| format!("{e}"))?,
            data_dir: embedded_data_dir(),
            ..Default::default()
        };
        let handle = server::start(cfg).await.map_err(|e| format!("Cannot start the local server: {e}"))?;
        *guard = Some(handle);
        Ok(base)
    }

    pub async fn signed_in(&self) -> Option<SignedIn> {
        self.session.lock().await.as_ref().map(|a| a.info.clone())
    }

    pub async fn with_active<T>(&self, f: impl FnOnce(&Active) -> T) -> Result<T, String> {
        self.session.lock().await.as_ref().map(f).ok_or_else(|| "Not signed in.".to_string())
    }

    /// Signs in (registering on first use with a password), starts the CallManager and
    /// remembers the choice; secrets go to the keyring.
    pub async fn sign_in(&self, app: &AppHandle, req: SignInReq) -> Result<SignedIn, String> {
        let username = req.username.trim().to_string();
        if username.is_empty() {
            return Err("Enter a username or phone number.".into());
        }
        let (server, api_key, secret_key) = match req.mode {
            Mode::Embedded => (self.ensure_embedded().await?, server::config::DEFAULT_API_KEY.to_string(), server::config::DEFAULT_SECRET_KEY.to_string()),
            Mode::Remote => {
                let s = req.server.trim().trim_end_matches('/').to_string();
                if !(s.starts_with("http://") || s.starts_with("https://")) {
                    return Err(format!("\"{s}\" is not a server address (try https://calls.example.com)."));
                }
                let secret = req.secret_key.clone().or_else(|| self.profile.secret("tenant-secret")).unwrap_or_default();
                (s, req.api_key.clone().unwrap_or_default(), secret)
            }
        };
        let rest = RestClient::new(RestConfig::new(server.clone(), api_key.clone(), secret_key.clone())).map_err(|e| explain(&e))?;
        let name = username.split('@').next().unwrap_or(&username).to_string();
        let password = req.password.clone().filter(|p| !p.is_empty()).or_else(|| self.profile.secret("password"));
        let (jid, token, nxws) = match &password {
            Some(pw) => {
                let login = match rest.login(&name, pw).await {
                    Ok(l) => l,
                    Err(RestError::Http { status: 401, .. }) if req.mode == Mode::Embedded => {
                        rest.register(&name, pw, None).await.map_err(|e| explain(&e))?;
                        rest.login(&name, pw).await.map_err(|e| explain(&e))?
                    }
                    Err(e) => return Err(explain(&e)),
                };
                (login.nxid, login.nxsm_token, login.nxws)
            }
            None => {
                let t = rest.generate_nx_token(&name, None).await.map_err(|e| explain(&e))?;
                (t.jid, t.token, t.nxws)
            }
        };
        let jid = NxId::parse_jid(&jid).map_err(|e| e.to_string())?;
        self.sign_out().await;
        let kept = self.profile.load().unwrap_or_default();
        let default_quality = if kept.default_quality.is_empty() { "medium".to_string() } else { kept.default_quality };
        let settings = Settings { mode: req.mode.clone(), server: server.clone(), username: name.clone(), api_key, default_quality, microphone: kept.microphone, speaker: kept.speaker, video_codec: kept.video_codec, camera: kept.camera };
        *self.microphone.lock().unwrap_or_else(|p| p.into_inner()) = settings.microphone.clone();
        let quality = settings.default_quality.parse::<Preset>().unwrap_or_default().quality();
        // Listing cameras probes /dev/video*: off the async runtime.
        let mic = self.microphone.clone();
        let devices = tokio::task::spawn_blocking(move || MediaFactory::devices(mic)).await.map_err(|e| e.to_string())?;
        let manager = CallManager::start(CallConfig {
            rest: rest.clone(),
            nxws,
            jid: jid.clone(),
            token,
            display_name: name,
            net: NetConfig { udp_addrs: vec![if req.mode == Mode::Embedded { "127.0.0.1:0".into() } else { "0.0.0.0:0".into() }], ..Default::default() },
            quality,
            media: MediaFactory { codecs: codec_preference(settings.video_codec.as_deref()), ..devices },
            analytics_dir: Some(self.profile.analytics_dir()),
            timeouts: Timeouts::default(),
        });
        if settings.speaker.is_some() {
            let _ = manager.set_speaker(settings.speaker.clone()).await;
        }
        if let Some(cam) = &settings.camera {
            if let Err(e) = manager.select_camera(cam).await {
                tracing::info!(error = %e, "the saved camera is not here; using the first one");
            }
        }
        let mut online = manager.signaling_online();
        let up = matches!(tokio::time::timeout(Duration::from_secs(10), online.wait_for(|o| *o)).await, Ok(Ok(_)));
        if !up {
            manager.dispose().await;
            return Err("Signed in, but the signaling connection did not come up.".into());
        }
        if let Some(pw) = &password {
            self.profile.set_secret("password", pw)?;
        }
        if req.mode == Mode::Remote && !secret_key.is_empty() {
            self.profile.set_secret("tenant-secret", &secret_key)?;
        }
        self.profile.save(&settings).map_err(|e| format!("Cannot save settings: {e}"))?;
        let _ = self.sinks.send(Some(Sinks { local: manager.local_video(), remote: manager.remote_video() }));
        self.forward_events(app, &manager);
        let info = SignedIn { nxid: jid.to_string(), server, mode: req.mode, profile: self.profile.name.clone() };
        *self.session.lock().await = Some(Active { manager, rest, info: info.clone() });
        Ok(info)
    }

    /// Signs in again with what the profile remembers.
    pub async fn resume(&self, app: &AppHandle) -> Result<Option<SignedIn>, String> {
        let Some(s) = self.profile.load() else { return Ok(None) };
        let req = SignInReq { mode: s.mode, server: s.server, username: s.username, password: None, api_key: Some(s.api_key), secret_key: None };
        self.sign_in(app, req).await.map(Some)
    }

    pub async fn sign_out(&self) {
        for t in self.forwarders.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
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
            loop {
                match events.recv().await {
                    Ok(e) => {
                        if let CallEvent::IncomingCall { caller_name, caller, call_type, .. } = &e {
                            announce_incoming(&app1, caller_name, caller, call_type.as_str());
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

/// A call is coming in: if the window is not in front, notify and bring it forward.
fn announce_incoming(app: &AppHandle, name: &str, nxid: &str, kind: &str) {
    let Some(w) = app.get_webview_window("main") else { return };
    let focused = w.is_focused().unwrap_or(false);
    let visible = w.is_visible().unwrap_or(true) && !w.is_minimized().unwrap_or(false);
    if !(focused && visible) {
        let _ = app.notification().builder().title(format!("Incoming {kind} call")).body(format!("{name} ({nxid})")).show();
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

/// The codec order for a saved preference: the chosen one first, then the others.
pub fn codec_preference(chosen: Option<&str>) -> Vec<media::codec::VideoCodec> {
    let Some(first) = chosen.and_then(|c| c.parse::<media::codec::VideoCodec>().ok()) else { return Vec::new() };
    std::iter::once(first).chain(media::codec::VideoCodec::ALL.into_iter().filter(|c| *c != first)).collect()
}
