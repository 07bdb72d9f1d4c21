//! The CallManager: the seed SDK's API in async Rust. A driver task owns the state machine,
//! the signaling client and the WebRTC session; the handle sends it commands and exposes
//! events, state, sinks and statistics.

use crate::analytics::AnalyticsQueue;
use crate::machine::{Action, CallEvent, CallMachine, CallState, Input, Role, Timeouts, WallClock};
use crate::media_session::{
    MediaSession, MediaSessionError, MediaSessionEvent, RemoteMedia, SendRate,
};
use crate::pipeline::{MediaControl, RecvCounters};
use crate::quality::{Preset, Quality, QualityError};
use crate::stats::{LocalCounters, StatsCollector, StatsSample};
use media::{AudioSource, FrameSink, VideoSource};
use nx::rest::{AnalyticsRecord, RestClient};
use nx::signal::Signal;
use nx::{NxId, XmppClient, XmppConfig, XmppEvent, XmppHandle};
use peer::NetConfig;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinSet;

/// Why a command failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum CallError {
    #[error("invalid address: {0}")]
    BadAddress(String),
    #[error("already in a call")]
    Busy,
    #[error("no call to act on")]
    NoCall,
    #[error("no other camera to switch to")]
    NoOtherCamera,
    #[error("no camera")]
    NoCamera,
    #[error("no camera named {0:?}")]
    UnknownCamera(String),
    #[error("media: {0}")]
    Media(String),
    #[error(transparent)]
    Quality(#[from] QualityError),
    #[error("the call manager has stopped")]
    Stopped,
    #[error("signaling did not come online within {0:?} (is the server reachable?)")]
    SignalingOffline(Duration),
}

/// Opens a camera (or the synthetic pattern) for a call or a preview.
pub type OpenVideo = Arc<dyn Fn() -> Box<dyn VideoSource> + Send + Sync>;

/// Opens a microphone by name (`None`: the system default) for a call.
pub type OpenAudio = Arc<dyn Fn(Option<&str>) -> Box<dyn AudioSource> + Send + Sync>;

/// Makes the media sources for each call: cameras and microphones, or synthetic ones.
#[derive(Clone)]
pub struct MediaFactory {
    pub video: Vec<(String, OpenVideo)>,
    /// Opens the microphone chosen with `set_microphone` (`None`: the system default).
    pub audio: OpenAudio,
    /// Opens the speaker for received audio; `None` only decodes (headless peers, bots).
    pub output: Option<crate::pipeline::OpenOutput>,
    /// Video codecs in order of preference (empty: Simu's default order).
    pub codecs: Vec<media::codec::VideoCodec>,
    /// Microphone clean-up (echo, noise, level); off for the synthetic tone, which it would alter.
    pub audio_processing: Option<media::apm::ApmSettings>,
}

impl MediaFactory {
    /// The synthetic camera (1280x720 stamped pattern) and a 440 Hz tone.
    pub fn synthetic() -> Self {
        Self {
            video: vec![(
                "Synthetic test pattern".into(),
                Arc::new(|| {
                    Box::new(media::pattern::TestPattern::new(1280, 720)) as Box<dyn VideoSource>
                }),
            )],
            audio: Arc::new(|_: Option<&str>| {
                Box::new(media::audio::Tone::new(440.0, -20.0)) as Box<dyn AudioSource>
            }),
            output: None,
            codecs: Vec::new(),
            audio_processing: None,
        }
    }

    /// A desktop's devices: the cameras present (the synthetic pattern when there are none),
    /// the microphone chosen when a call starts (opened on the media thread) and speakers for
    /// received audio.
    pub fn devices() -> Self {
        let cameras: Vec<(String, OpenVideo)> = media::camera::list_cameras()
            .into_iter()
            .map(|c| {
                let name = c.name.clone();
                let open: OpenVideo = Arc::new(move || {
                    Box::new(media::camera::CameraSource::open(c.clone(), 1280, 720, 30))
                        as Box<dyn VideoSource>
                });
                (name, open)
            })
            .collect();
        let synthetic = Self::synthetic();
        Self {
            video: if cameras.is_empty() {
                synthetic.video.clone()
            } else {
                cameras
            },
            audio: Arc::new(|name: Option<&str>| {
                Box::new(media::devices::LazyMicrophone::new(name.map(str::to_owned)))
                    as Box<dyn AudioSource>
            }),
            output: Some(Arc::new(|name: Option<&str>| {
                media::devices::Speaker::open(name)
                    .map(|s| Box::new(s) as Box<dyn media::AudioSink>)
                    .map_err(|e| e.to_string())
            })),
            audio_processing: Some(media::apm::ApmSettings::default()),
            ..synthetic
        }
    }
}

/// Everything a CallManager needs (the SDK's `createCallManager` arguments and more).
#[derive(Clone)]
pub struct CallConfig {
    /// Signed in: holds the user's NX token.
    pub rest: RestClient,
    pub nxws: String,
    pub jid: NxId,
    pub token: String,
    pub display_name: String,
    pub net: NetConfig,
    pub quality: Quality,
    pub media: MediaFactory,
    /// Keeps undelivered analytics across restarts.
    pub analytics_dir: Option<PathBuf>,
    pub timeouts: Timeouts,
}

enum Cmd {
    Dial {
        to: String,
        audio: bool,
        video: bool,
        reply: oneshot::Sender<Result<String, CallError>>,
    },
    Accept {
        audio: bool,
        video: bool,
    },
    Reject,
    End,
    AudioEnabled(bool),
    VideoEnabled(bool),
    StartVideo,
    Speaker(Option<String>),
    Microphone(Option<String>),
    Filter(crate::CallFilter),
    VideoCodecs(Vec<media::codec::VideoCodec>),
    SwitchCamera(oneshot::Sender<Result<String, CallError>>),
    SelectCamera(String, oneshot::Sender<Result<String, CallError>>),
    Preview(bool, oneshot::Sender<Result<String, CallError>>),
    Quality(
        Box<dyn FnOnce(Quality) -> Result<Quality, QualityError> + Send>,
        oneshot::Sender<Result<Quality, CallError>>,
    ),
    Stats(Option<Duration>),
    DropSignaling,
    RestartIce,
    Dispose(oneshot::Sender<()>),
}

/// Handle to a running CallManager. Clones share it.
#[derive(Clone)]
pub struct CallManager {
    cmd: mpsc::Sender<Cmd>,
    events: broadcast::Sender<CallEvent>,
    state: watch::Receiver<CallState>,
    signaling: watch::Receiver<bool>,
    latest_stats: watch::Receiver<Option<StatsSample>>,
    stats_stream: broadcast::Sender<StatsSample>,
    local_video: Arc<FrameSink>,
    remote_video: Arc<FrameSink>,
    counters: Arc<RecvCounters>,
    jid: NxId,
    camera_names: Vec<String>,
}

impl CallManager {
    /// Starts signaling and the driver.
    pub fn start(cfg: CallConfig) -> Self {
        let (cmd_tx, cmd_rx) = mpsc::channel(64);
        let (events, _) = broadcast::channel(512);
        let (state_tx, state_rx) = watch::channel(CallState::Idle);
        let (sig_tx, sig_rx) = watch::channel(false);
        let (stats_tx, stats_rx) = watch::channel(None);
        let (stats_stream, _) = broadcast::channel(64);
        let local_video = FrameSink::new();
        let remote_video = FrameSink::new();
        let counters = Arc::new(RecvCounters::default());
        let jid = cfg.jid.clone();
        let camera_names = cfg.media.video.iter().map(|(n, _)| n.clone()).collect();
        let driver = Driver::new(
            cfg,
            events.clone(),
            state_tx,
            sig_tx,
            stats_tx,
            stats_stream.clone(),
            local_video.clone(),
            remote_video.clone(),
            counters.clone(),
        );
        tokio::spawn(driver.run(cmd_rx));
        Self {
            cmd: cmd_tx,
            events,
            state: state_rx,
            signaling: sig_rx,
            latest_stats: stats_rx,
            stats_stream,
            local_video,
            remote_video,
            counters,
            jid,
            camera_names,
        }
    }

    async fn send(&self, c: Cmd) -> Result<(), CallError> {
        self.cmd.send(c).await.map_err(|_| CallError::Stopped)
    }

    /// Calls `to` (a number, username or NX ID); returns the room.
    pub async fn initiate_call(
        &self,
        to: &str,
        audio: bool,
        video: bool,
    ) -> Result<String, CallError> {
        let (tx, rx) = oneshot::channel();
        self.send(Cmd::Dial {
            to: to.to_string(),
            audio,
            video,
            reply: tx,
        })
        .await?;
        rx.await.map_err(|_| CallError::Stopped)?
    }

    pub async fn accept_call(&self, audio: bool, video: bool) -> Result<(), CallError> {
        self.send(Cmd::Accept { audio, video }).await
    }

    pub async fn reject_call(&self) -> Result<(), CallError> {
        self.send(Cmd::Reject).await
    }

    pub async fn end_call(&self) -> Result<(), CallError> {
        self.send(Cmd::End).await
    }

    /// Ends any call, flushes analytics and closes signaling.
    pub async fn dispose(&self) {
        let (tx, rx) = oneshot::channel();
        if self.send(Cmd::Dispose(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Mute (false) or unmute the microphone.
    pub async fn set_audio_enabled(&self, on: bool) -> Result<(), CallError> {
        self.send(Cmd::AudioEnabled(on)).await
    }

    /// Turns the camera on in a call that sends no video (an audio call becomes a video call,
    /// renegotiated with the peer). Does nothing when video is already sent.
    pub async fn start_video(&self) -> Result<(), CallError> {
        self.send(Cmd::StartVideo).await
    }

    /// Camera off (false; a black picture is sent) or on.
    pub async fn set_video_enabled(&self, on: bool) -> Result<(), CallError> {
        self.send(Cmd::VideoEnabled(on)).await
    }

    /// The video codecs to offer, most preferred first (empty: Simu's default); from the next call.
    pub async fn set_video_codecs(
        &self,
        codecs: Vec<media::codec::VideoCodec>,
    ) -> Result<(), CallError> {
        self.send(Cmd::VideoCodecs(codecs)).await
    }

    /// Chooses the audio output device by name (`None`: system default).
    pub async fn set_speaker(&self, device: Option<String>) -> Result<(), CallError> {
        self.send(Cmd::Speaker(device)).await
    }

    /// Chooses the microphone by name (`None`: system default) for the calls that start from
    /// now on.
    pub async fn set_microphone(&self, device: Option<String>) -> Result<(), CallError> {
        self.send(Cmd::Microphone(device)).await
    }

    /// Do not disturb and blocked callers, for the invitations that come from now on.
    pub async fn set_call_filter(&self, filter: crate::CallFilter) -> Result<(), CallError> {
        self.send(Cmd::Filter(filter)).await
    }

    /// Shows the current camera in the local video sink outside calls (a settings preview);
    /// returns the camera's name. A call's media takes the sink over and ends the preview.
    pub async fn preview_camera(&self, on: bool) -> Result<String, CallError> {
        let (tx, rx) = oneshot::channel();
        self.send(Cmd::Preview(on, tx)).await?;
        rx.await.map_err(|_| CallError::Stopped)?
    }

    /// Moves to the next camera; returns its name.
    pub async fn switch_camera(&self) -> Result<String, CallError> {
        let (tx, rx) = oneshot::channel();
        self.send(Cmd::SwitchCamera(tx)).await?;
        rx.await.map_err(|_| CallError::Stopped)?
    }

    /// Uses the camera called `name` from now on (the live call too, without renegotiating).
    pub async fn select_camera(&self, name: &str) -> Result<String, CallError> {
        let (tx, rx) = oneshot::channel();
        self.send(Cmd::SelectCamera(name.to_string(), tx)).await?;
        rx.await.map_err(|_| CallError::Stopped)?
    }

    /// The cameras calls can use, in the order `switch_camera` cycles them.
    pub fn camera_names(&self) -> Vec<String> {
        self.camera_names.clone()
    }

    async fn change_quality(
        &self,
        f: impl FnOnce(Quality) -> Result<Quality, QualityError> + Send + 'static,
    ) -> Result<Quality, CallError> {
        let (tx, rx) = oneshot::channel();
        self.send(Cmd::Quality(Box::new(f), tx)).await?;
        rx.await.map_err(|_| CallError::Stopped)?
    }

    /// Resolution and frame rate, applied to the live call.
    pub async fn set_video_quality(
        &self,
        width: u32,
        height: u32,
        fps: u32,
    ) -> Result<Quality, CallError> {
        self.change_quality(move |q| q.with_video(width, height, fps))
            .await
    }

    pub async fn set_audio_bitrate(&self, kbps: u32) -> Result<Quality, CallError> {
        self.change_quality(move |q| q.with_audio_kbps(kbps)).await
    }

    pub async fn set_video_bitrate(&self, kbps: u32) -> Result<Quality, CallError> {
        self.change_quality(move |q| q.with_video_kbps(kbps)).await
    }

    /// One of the three presets of protocol.md §6.
    pub async fn set_quality_preset(&self, p: Preset) -> Result<Quality, CallError> {
        self.change_quality(move |_| Ok(p.quality())).await
    }

    /// Samples statistics every `interval` (the SDK uses 2 s).
    pub async fn start_stats_collection(&self, interval: Duration) -> Result<(), CallError> {
        self.send(Cmd::Stats(Some(interval.max(Duration::from_millis(100)))))
            .await
    }

    pub async fn stop_stats_collection(&self) -> Result<(), CallError> {
        self.send(Cmd::Stats(None)).await
    }

    /// Restarts ICE on the live call (the caller sends a new offer), as after a network change.
    pub async fn restart_ice(&self) -> Result<(), CallError> {
        self.send(Cmd::RestartIce).await
    }

    /// Drops the signaling socket as a network failure would (diagnostics and tests).
    pub async fn drop_signaling(&self) -> Result<(), CallError> {
        self.send(Cmd::DropSignaling).await
    }

    pub fn subscribe(&self) -> broadcast::Receiver<CallEvent> {
        self.events.subscribe()
    }

    pub fn state(&self) -> CallState {
        *self.state.borrow()
    }

    pub fn state_watch(&self) -> watch::Receiver<CallState> {
        self.state.clone()
    }

    /// Whether signaling is online.
    pub fn signaling_online(&self) -> watch::Receiver<bool> {
        self.signaling.clone()
    }

    /// Waits until signaling is online: after `start`, a client is reachable from then on.
    pub async fn wait_online(&self, within: Duration) -> Result<(), CallError> {
        let mut online = self.signaling.clone();
        let waited = tokio::time::timeout(within, online.wait_for(|o| *o))
            .await
            .map(|r| r.map(|_| ()));
        match waited {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(CallError::Stopped),
            Err(_) => Err(CallError::SignalingOffline(within)),
        }
    }

    pub fn latest_stats(&self) -> Option<StatsSample> {
        self.latest_stats.borrow().clone()
    }

    pub fn stats_stream(&self) -> broadcast::Receiver<StatsSample> {
        self.stats_stream.subscribe()
    }

    pub fn local_video(&self) -> Arc<FrameSink> {
        self.local_video.clone()
    }

    pub fn remote_video(&self) -> Arc<FrameSink> {
        self.remote_video.clone()
    }

    /// Receive-side counters (decoded frames, audio frames, glass-to-glass delays).
    pub fn receive_counters(&self) -> Arc<RecvCounters> {
        self.counters.clone()
    }

    pub fn jid(&self) -> &NxId {
        &self.jid
    }
}

struct Driver {
    cfg: CallConfig,
    machine: CallMachine,
    events: broadcast::Sender<CallEvent>,
    state_tx: watch::Sender<CallState>,
    sig_tx: watch::Sender<bool>,
    stats_tx: watch::Sender<Option<StatsSample>>,
    stats_stream: broadcast::Sender<StatsSample>,
    local_video: Arc<FrameSink>,
    remote_video: Arc<FrameSink>,
    counters: Arc<RecvCounters>,
    xmpp: XmppHandle,
    xmpp_rx: mpsc::Receiver<XmppEvent>,
    xmpp_task: tokio::task::JoinHandle<()>,
    session: Option<MediaSession>,
    session_rx: Option<mpsc::Receiver<MediaSessionEvent>>,
    role: Option<Role>,
    quality: Quality,
    audio_on: bool,
    video_on: bool,
    camera: usize,
    speaker: Option<String>,
    /// The microphone the next call opens (`set_microphone`).
    microphone: Option<String>,
    /// The send-rate controller of the live call.
    rate: Option<peer::bwe::RateController>,
    /// The last send-rate estimate (bps) and which controller made it.
    estimate: Option<(u64, &'static str)>,
    /// How the current media was started (role, audio, video), to start it again alike.
    media_flags: Option<(Role, bool, bool)>,
    /// Set to stop the settings preview's capture thread.
    preview_stop: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// The live call's playback (follows `set_speaker`).
    output: Option<Arc<crate::pipeline::AudioOutput>>,
    stats_every: Option<Duration>,
    collector: StatsCollector,
    latency_seen: u64,
    analytics: AnalyticsQueue,
    analytics_task: tokio::task::JoinHandle<()>,
    chores: JoinSet<()>,
    last_token_refresh: Option<Instant>,
    /// A signaling restart waiting for its turn, and whether it refreshes the token.
    restart_at: Option<(Instant, bool)>,
    /// Keeps the parked event channel open while signaling waits to restart.
    parked_tx: Option<mpsc::Sender<XmppEvent>>,
}

/// Least time between two signaling restarts after final failures.
const SIGNALING_RESTART_GAP: Duration = Duration::from_secs(60);

impl Driver {
    #[allow(clippy::too_many_arguments)]
    fn new(
        cfg: CallConfig,
        events: broadcast::Sender<CallEvent>,
        state_tx: watch::Sender<CallState>,
        sig_tx: watch::Sender<bool>,
        stats_tx: watch::Sender<Option<StatsSample>>,
        stats_stream: broadcast::Sender<StatsSample>,
        local_video: Arc<FrameSink>,
        remote_video: Arc<FrameSink>,
        counters: Arc<RecvCounters>,
    ) -> Self {
        let (xmpp, xmpp_rx, xmpp_task) = XmppClient::start(XmppConfig::new(
            cfg.nxws.clone(),
            cfg.jid.clone(),
            cfg.token.clone(),
        ));
        let (analytics, analytics_task) =
            AnalyticsQueue::start(cfg.rest.clone(), cfg.analytics_dir.clone());
        Self {
            machine: CallMachine::with_timeouts(
                cfg.jid.clone(),
                cfg.display_name.clone(),
                cfg.timeouts,
            ),
            quality: cfg.quality,
            cfg,
            events,
            state_tx,
            sig_tx,
            stats_tx,
            stats_stream,
            local_video,
            remote_video,
            counters,
            xmpp,
            xmpp_rx,
            xmpp_task,
            session: None,
            session_rx: None,
            role: None,
            audio_on: true,
            video_on: true,
            camera: 0,
            speaker: None,
            microphone: None,
            preview_stop: None,
            rate: None,
            output: None,
            stats_every: None,
            collector: StatsCollector::default(),
            latency_seen: 0,
            estimate: None,
            media_flags: None,
            analytics,
            analytics_task,
            chores: JoinSet::new(),
            last_token_refresh: None,
            restart_at: None,
            parked_tx: None,
        }
    }

    fn emit(&self, e: CallEvent) {
        if let CallEvent::StateChanged { state } = &e {
            let _ = self.state_tx.send(*state);
        }
        let _ = self.events.send(e);
    }

    async fn run(mut self, mut cmds: mpsc::Receiver<Cmd>) {
        let mut stats_timer: Option<tokio::time::Interval> = None;
        // The encoder follows the send-rate controller (bwe.rs), stepped once a second.
        let mut bwe_timer = tokio::time::interval(Duration::from_secs(1));
        bwe_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deadline = self.machine.next_deadline();
            // The machine's wall time is read here, at the I/O edge, once per event: the
            // monotonic clock stops while the computer sleeps, so a clock read once would drift.
            self.machine.set_wall_clock(WallClock::system());
            tokio::select! {
                cmd = cmds.recv() => {
                    let Some(cmd) = cmd else { break };
                    match cmd {
                        Cmd::Dispose(done) => {
                            self.shutdown().await;
                            let _ = done.send(());
                            return;
                        }
                        Cmd::Stats(every) => {
                            self.stats_every = every;
                            stats_timer = every.map(|d| {
                                let mut i = tokio::time::interval(d);
                                i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                                i
                            });
                        }
                        other => self.command(other).await,
                    }
                }
                ev = self.xmpp_rx.recv() => match ev {
                    Some(ev) => self.signaling_event(ev).await,
                    None => {
                        let _ = self.sig_tx.send(false);
                        self.restart_signaling(false).await;
                    }
                },
                ev = async { match self.session_rx.as_mut() { Some(rx) => rx.recv().await, None => std::future::pending().await } } => match ev {
                    Some(ev) => self.session_event(ev).await,
                    None => self.session_rx = None,
                },
                _ = async { match deadline { Some(d) => tokio::time::sleep_until(d.into()).await, None => std::future::pending().await } } => {
                    let actions = self.machine.on_timeout(Instant::now());
                    self.execute(actions).await;
                }
                _ = async { match stats_timer.as_mut() { Some(t) => { t.tick().await; } None => std::future::pending().await } } => {
                    self.sample_stats().await;
                }
                _ = bwe_timer.tick(), if self.session.is_some() => {
                    if let (Some(s), Some(rate)) = (&self.session, self.rate.as_mut()) {
                        let (sent, encoded) = s.send_report().await;
                        let by_resends = rate.update(sent, encoded);
                        let (bps, estimator) = match s.delay_estimate() {
                            Some(bps) => (bps, "delay"),
                            None => (by_resends, "loss"),
                        };
                        tracing::debug!(bps, estimator, by_resends, sent, encoded, "send rate estimate");
                        self.estimate = Some((bps, estimator));
                        s.control().set_estimate(peer::bwe::media_budget(bps));
                    }
                }
                Some(_) = self.chores.join_next(), if !self.chores.is_empty() => {}
                _ = async { match self.restart_at { Some((t, _)) => tokio::time::sleep_until(t.into()).await, None => std::future::pending().await } } => {
                    let refresh = self.restart_at.take().is_some_and(|(_, r)| r);
                    self.last_token_refresh = None;
                    self.restart_signaling(refresh).await;
                }
            }
        }
        self.shutdown().await;
    }

    fn stop_preview(&mut self) {
        if let Some(stop) = self.preview_stop.take() {
            stop.store(true, Ordering::Relaxed);
        }
    }

    async fn shutdown(&mut self) {
        self.stop_preview();
        if self.machine.state() != CallState::Idle {
            let actions = self.machine.handle(Input::Hangup, Instant::now());
            self.execute(actions).await;
        }
        if let Some(s) = self.session.take() {
            s.close().await;
        }
        let left = self.analytics.flush(Duration::from_secs(5)).await;
        if left > 0 {
            tracing::warn!(left, "analytics not yet delivered at shutdown");
        }
        self.xmpp.close().await;
        self.xmpp_task.abort();
        self.analytics_task.abort();
        self.chores.shutdown().await;
    }

    async fn command(&mut self, cmd: Cmd) {
        let now = Instant::now();
        match cmd {
            Cmd::Dial {
                to,
                audio,
                video,
                reply,
            } => {
                let to = match NxId::normalize(&to, Some(self.cfg.jid.domain())) {
                    Ok(id) => id,
                    Err(e) => {
                        let _ = reply.send(Err(CallError::BadAddress(e.to_string())));
                        return;
                    }
                };
                if self.machine.state() != CallState::Idle {
                    let _ = reply.send(Err(CallError::Busy));
                    return;
                }
                let room = format!("call_{}", nx::signal::now_ms());
                self.audio_on = audio;
                self.video_on = video;
                let actions = self.machine.handle(
                    Input::Dial {
                        to,
                        room: room.clone(),
                        audio,
                        video,
                    },
                    now,
                );
                let _ = reply.send(Ok(room));
                self.execute(actions).await;
            }
            Cmd::Accept { audio, video } => {
                self.audio_on = audio;
                self.video_on = video;
                let actions = self.machine.handle(Input::Accept { audio, video }, now);
                self.execute(actions).await;
            }
            Cmd::Reject => {
                let actions = self.machine.handle(Input::Reject, now);
                self.execute(actions).await;
            }
            Cmd::End => {
                let actions = self.machine.handle(Input::Hangup, now);
                self.execute(actions).await;
            }
            Cmd::AudioEnabled(on) => {
                self.audio_on = on;
                if let Some(s) = &self.session {
                    s.control().audio_enabled.store(on, Ordering::Relaxed);
                }
            }
            Cmd::StartVideo => {
                self.video_on = true;
                let actions = self.machine.handle(Input::StartVideo, Instant::now());
                self.execute(actions).await;
            }
            Cmd::VideoEnabled(on) => {
                self.video_on = on;
                if let Some(s) = &self.session {
                    s.control().video_enabled.store(on, Ordering::Relaxed);
                    s.control().request_keyframe();
                }
            }
            Cmd::VideoCodecs(c) => {
                tracing::info!(codecs = ?c, "video codec preference");
                self.cfg.media.codecs = c;
            }
            Cmd::Speaker(dev) => {
                tracing::info!(device = ?dev, "audio output selected");
                if let Some(out) = &self.output {
                    out.select(dev.clone());
                }
                self.speaker = dev;
            }
            Cmd::Microphone(dev) => {
                tracing::info!(device = ?dev, "microphone selected");
                self.microphone = dev;
            }
            Cmd::Filter(filter) => {
                tracing::info!(dnd = filter.do_not_disturb, "incoming call filter set");
                self.machine.set_filter(filter);
            }
            Cmd::Preview(on, reply) => {
                self.stop_preview();
                let Some((name, make)) = self.cfg.media.video.get(self.camera) else {
                    let _ = reply.send(if on {
                        Err(CallError::NoCamera)
                    } else {
                        Ok(String::new())
                    });
                    return;
                };
                if on && self.session.is_none() {
                    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
                    if let Err(e) = crate::pipeline::spawn_preview(
                        make(),
                        self.local_video.clone(),
                        stop.clone(),
                    ) {
                        let _ = reply.send(Err(CallError::Media(e.to_string())));
                        return;
                    }
                    self.preview_stop = Some(stop);
                }
                let _ = reply.send(Ok(name.clone()));
            }
            Cmd::SelectCamera(name, reply) => {
                let found = self.cfg.media.video.iter().position(|(n, _)| *n == name);
                let _ = reply.send(match found {
                    Some(i) if i == self.camera => Ok(name),
                    Some(i) => self.use_camera(i).ok_or(CallError::NoCamera),
                    None => Err(CallError::UnknownCamera(name)),
                });
            }
            Cmd::SwitchCamera(reply) => {
                let n = self.cfg.media.video.len();
                if n < 2 {
                    let _ = reply.send(Err(CallError::NoOtherCamera));
                    return;
                }
                let name = self.use_camera((self.camera + 1) % n).unwrap_or_default();
                let _ = reply.send(Ok(name));
            }
            Cmd::Quality(f, reply) => match f(self.quality) {
                Ok(q) => {
                    self.quality = q;
                    if let Some(s) = &self.session {
                        s.control().set_quality(q);
                    }
                    let _ = reply.send(Ok(q));
                }
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Cmd::DropSignaling => {
                let _ = self.xmpp.drop_connection().await;
            }
            Cmd::RestartIce => {
                if self.role == Some(Role::Caller) {
                    self.execute(vec![Action::RestartIce]).await;
                }
            }
            Cmd::Stats(_) | Cmd::Dispose(_) => {}
        }
    }

    async fn signaling_event(&mut self, ev: XmppEvent) {
        match ev {
            XmppEvent::Online { jid } => {
                tracing::debug!(%jid, "signaling online");
                let _ = self.sig_tx.send(true);
            }
            XmppEvent::Message {
                from,
                body,
                delayed,
                ..
            } => {
                let signal = match Signal::parse(&body) {
                    Ok(Signal::Unknown) => {
                        tracing::debug!(%from, "ignoring unknown signaling message type");
                        return;
                    }
                    Ok(s) => s,
                    Err(e) => {
                        if let Some(link) = nx::signal::parse_call_link(&body) {
                            tracing::info!(room = %link.room, caller = %link.caller, "call link received as text");
                        } else {
                            tracing::debug!(%from, error = %e, "ignoring non-signaling message");
                        }
                        return;
                    }
                };
                let actions = self.machine.handle(
                    Input::Signal {
                        from,
                        signal,
                        delayed,
                    },
                    Instant::now(),
                );
                self.execute(actions).await;
            }
            XmppEvent::Bounce {
                from, condition, ..
            } => {
                tracing::info!(%from, %condition, "signaling message bounced");
            }
            XmppEvent::Offline { reason, retry_in } => {
                let _ = self.sig_tx.send(false);
                tracing::info!(%reason, ?retry_in, "signaling offline");
            }
            XmppEvent::Failed(reason) => {
                let _ = self.sig_tx.send(false);
                self.emit(CallEvent::Error {
                    message: format!("signaling: {reason}"),
                });
                self.restart_signaling(reason.token_refused()).await;
            }
            XmppEvent::Closed => {}
        }
    }

    /// Restarts signaling after a final failure, refreshing the NX token, at most once a
    /// minute; a restart asked for sooner is scheduled for when the minute is up.
    async fn restart_signaling(&mut self, refresh: bool) {
        if let Some(t) = self
            .last_token_refresh
            .filter(|t| t.elapsed() < SIGNALING_RESTART_GAP)
        {
            let (parked_tx, parked_rx) = mpsc::channel(1);
            self.xmpp_rx = parked_rx;
            self.parked_tx = Some(parked_tx);
            self.restart_at = Some((t + SIGNALING_RESTART_GAP, refresh));
            return;
        }
        self.restart_at = None;
        self.parked_tx = None;
        self.last_token_refresh = Some(Instant::now());
        let mut token = self.cfg.token.clone();
        if refresh {
            match self.cfg.rest.refresh_nx_token().await {
                Ok(r) => token = r.token,
                Err(e) => {
                    self.emit(CallEvent::Error {
                        message: format!("cannot refresh the signaling token: {e}"),
                    });
                    return;
                }
            }
        }
        self.cfg.token = token.clone();
        self.xmpp_task.abort();
        let (h, rx, task) = XmppClient::start(XmppConfig::new(
            self.cfg.nxws.clone(),
            self.cfg.jid.clone(),
            token,
        ));
        self.xmpp = h;
        self.xmpp_rx = rx;
        self.xmpp_task = task;
    }

    async fn session_event(&mut self, ev: MediaSessionEvent) {
        let now = Instant::now();
        match ev {
            MediaSessionEvent::LocalCandidate(c) => {
                let (Some(room), Some(peer)) = (
                    self.machine.room().map(str::to_string),
                    self.machine.peer().cloned(),
                ) else {
                    return;
                };
                let signal = Signal::IceCandidate {
                    room_id: room,
                    candidate: c.candidate,
                    sdp_mid: c.sdp_mid,
                    sdp_mline_index: c.sdp_mline_index,
                };
                self.send_signal(&peer, &signal).await;
            }
            MediaSessionEvent::MediaFlowing => {
                let actions = self.machine.handle(Input::MediaConnected, now);
                self.execute(actions).await;
            }
            MediaSessionEvent::Failed(reason) => {
                let actions = self.machine.handle(Input::MediaFailed { reason }, now);
                self.execute(actions).await;
            }
            MediaSessionEvent::Disconnected => {
                if let Some(room) = self.machine.room() {
                    self.emit(CallEvent::Reconnecting {
                        room: room.to_string(),
                    });
                }
            }
            MediaSessionEvent::RemoteTrack(kind) => self.emit(CallEvent::RemoteMediaAvailable {
                kind: kind.to_string(),
            }),
            MediaSessionEvent::MediaError(message) => self.emit(CallEvent::Error { message }),
            MediaSessionEvent::CameraLost(message) => {
                let lost = self
                    .cfg
                    .media
                    .video
                    .get(self.camera)
                    .map(|(n, _)| n.clone())
                    .unwrap_or_default();
                let now_using = if self.cfg.media.video.len() > 1 {
                    self.use_camera((self.camera + 1) % self.cfg.media.video.len())
                } else {
                    None
                };
                self.emit(CallEvent::CameraLost {
                    camera: lost,
                    now_using,
                    message,
                });
            }
        }
    }

    /// Makes camera `i` current and, in a call with video, switches the live track to it.
    fn use_camera(&mut self, i: usize) -> Option<String> {
        let (name, make) = self.cfg.media.video.get(i)?.clone();
        self.camera = i;
        if let Some(s) = &self.session {
            if s.has_video() {
                s.control().replace_camera(make());
            }
        }
        Some(name)
    }

    async fn send_signal(&self, to: &NxId, s: &Signal) {
        if let Err(e) = self.xmpp.send_body(to, s.to_json()).await {
            tracing::warn!(error = %e, kind = s.kind(), "signal not sent");
        }
    }

    async fn execute(&mut self, actions: Vec<Action>) {
        let mut queue = std::collections::VecDeque::from(actions);
        while let Some(a) = queue.pop_front() {
            match a {
                Action::Send { to, signal } => self.send_signal(&to, &signal).await,
                Action::RegisterCall {
                    to,
                    room,
                    call_type,
                } => {
                    let res = self
                        .cfg
                        .rest
                        .start_p2p_call(&to.to_string(), Some(&room), Some(call_type.as_str()))
                        .await;
                    if let Err(e) = res {
                        tracing::info!(error = %e, "call registration failed");
                        queue.clear();
                        queue.extend(self.machine.handle(
                            Input::DialFailed {
                                message: e.to_string(),
                            },
                            Instant::now(),
                        ));
                    }
                }
                Action::DeclineOverRest { room } => {
                    let rest = self.cfg.rest.clone();
                    self.chores.spawn(async move {
                        if let Err(e) = rest.decline_call(&room).await {
                            tracing::info!(error = %e, "decline not recorded");
                        }
                    });
                }
                Action::StartMedia {
                    role,
                    room,
                    peer,
                    audio,
                    video,
                } => {
                    if let Err(e) = self.start_media(role, audio, video).await {
                        tracing::warn!(error = %e, "media start failed");
                        queue.extend(self.machine.handle(
                            Input::MediaError {
                                message: format!("cannot start media: {e}"),
                            },
                            Instant::now(),
                        ));
                        continue;
                    }
                    self.emit(CallEvent::LocalMediaAvailable { audio, video });
                    if role == Role::Caller {
                        self.offer(&room, &peer, false, &mut queue).await;
                    }
                }
                Action::AddVideo { room, peer } => {
                    if let Err(message) = self.add_video().await {
                        self.emit(CallEvent::Error { message });
                        continue;
                    }
                    self.offer(&room, &peer, false, &mut queue).await;
                }
                Action::ApplyRemote { signal } => self.apply_remote(signal, &mut queue).await,
                Action::RestartIce => {
                    if let (Some(room), Some(peer)) = (
                        self.machine.room().map(str::to_string),
                        self.machine.peer().cloned(),
                    ) {
                        self.offer(&room, &peer, true, &mut queue).await;
                    }
                }
                Action::StopMedia => {
                    if let Some(s) = self.session.take() {
                        self.chores.spawn(s.close());
                    }
                    self.session_rx = None;
                    self.role = None;
                    self.media_flags = None;
                }
                Action::Emit(e) => self.emit(e),
                Action::RecordAnalytics {
                    room,
                    call_type,
                    status,
                    duration_seconds,
                    metadata,
                } => {
                    let metadata = match metadata {
                        serde_json::Value::Object(m) => m,
                        _ => serde_json::Map::new(),
                    };
                    self.analytics
                        .record(AnalyticsRecord {
                            room,
                            call_type: call_type.as_str().into(),
                            status: status.into(),
                            duration_seconds,
                            metadata,
                            record_id: None,
                        })
                        .await;
                }
            }
        }
    }

    async fn offer(
        &mut self,
        room: &str,
        peer: &NxId,
        restart: bool,
        queue: &mut std::collections::VecDeque<Action>,
    ) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        match s.create_offer(restart).await {
            Ok(sdp) => {
                let signal = Signal::Offer {
                    room_id: room.to_string(),
                    sdp,
                    sdp_type: "offer".into(),
                };
                self.send_signal(peer, &signal).await;
            }
            Err(e) => queue.extend(self.machine.handle(
                Input::MediaError {
                    message: e.to_string(),
                },
                Instant::now(),
            )),
        }
    }

    async fn apply_remote(
        &mut self,
        signal: Signal,
        queue: &mut std::collections::VecDeque<Action>,
    ) {
        let (Some(room), Some(peer)) = (
            self.machine.room().map(str::to_string),
            self.machine.peer().cloned(),
        ) else {
            return;
        };
        if let (Signal::Offer { sdp, .. }, Some(s), Some((role, audio, video))) =
            (&signal, &self.session, self.media_flags)
        {
            if s.is_from_new_peer_connection(sdp) {
                tracing::info!(%room, "the peer set the call up again; new media to match");
                if let Err(e) = self.start_media(role, audio, video).await {
                    tracing::warn!(error = %e, "media restart failed");
                }
            }
        }
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let res: Result<(), MediaSessionError> = match signal {
            Signal::Offer { sdp, .. } => match s.apply_offer(sdp).await {
                Ok(answer) => {
                    let signal = Signal::Answer {
                        room_id: room,
                        sdp: answer,
                        sdp_type: "answer".into(),
                    };
                    self.send_signal(&peer, &signal).await;
                    Ok(())
                }
                Err(e) => Err(e),
            },
            Signal::Answer { sdp, .. } => s.apply_answer(sdp).await,
            Signal::IceCandidate {
                candidate,
                sdp_mid,
                sdp_mline_index,
                ..
            } => {
                let init = rtc::peer_connection::transport::RTCIceCandidateInit {
                    candidate,
                    sdp_mid,
                    sdp_mline_index,
                    ..Default::default()
                };
                if let Err(e) = s.add_candidate(init).await {
                    tracing::debug!(error = %e, "remote candidate refused");
                }
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(e) = res {
            tracing::warn!(error = %e, "remote description refused");
            queue.extend(self.machine.handle(
                Input::MediaError {
                    message: e.to_string(),
                },
                Instant::now(),
            ));
        }
    }

    /// Opens the current camera and adds it to the call's media (an audio call turning video on).
    async fn add_video(&mut self) -> Result<(), String> {
        let src = self
            .cfg
            .media
            .video
            .get(self.camera)
            .map(|(_, make)| make())
            .ok_or_else(|| "No camera to turn on.".to_string())?;
        self.stop_preview();
        let session = self
            .session
            .as_mut()
            .ok_or_else(|| "No call.".to_string())?;
        session
            .control()
            .video_enabled
            .store(true, Ordering::Relaxed);
        session
            .add_video(src)
            .await
            .map_err(|e| format!("Cannot turn the camera on: {e}"))?;
        if let Some((role, audio, _)) = self.media_flags {
            self.media_flags = Some((role, audio, true));
        }
        Ok(())
    }

    async fn start_media(
        &mut self,
        role: Role,
        audio: bool,
        video: bool,
    ) -> Result<(), MediaSessionError> {
        if let Some(old) = self.session.take() {
            old.close().await;
        }
        self.media_flags = Some((role, audio, video));
        // Each call's receive metrics start from zero (the old call's threads are joined).
        self.counters.reset();
        self.latency_seen = 0;
        self.estimate = None;
        let mut net = self.cfg.net.clone();
        match tokio::time::timeout(Duration::from_secs(5), self.cfg.rest.webrtc_credentials()).await
        {
            Ok(Ok(c)) => net.ice_servers = c.ice_servers,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "no ICE servers from the server; using host candidates only")
            }
            Err(_) => tracing::warn!("ICE server request timed out; using host candidates only"),
        }
        self.stop_preview();
        let control = MediaControl::new(self.quality, self.audio_on, self.video_on);
        let video_src = if video {
            self.cfg
                .media
                .video
                .get(self.camera)
                .map(|(_, make)| make())
        } else {
            None
        };
        let local = crate::media_session::LocalMedia {
            audio: if audio {
                Some((self.cfg.media.audio)(self.microphone.as_deref()))
            } else {
                None
            },
            codecs: self.cfg.media.codecs.clone(),
            apm: self
                .cfg
                .media
                .audio_processing
                .filter(|_| audio)
                .map(media::apm::AudioProcessor::new),
            video: video_src,
            control,
            preview: self.local_video.clone(),
        };
        self.output = self
            .cfg
            .media
            .output
            .clone()
            .map(|open| crate::pipeline::AudioOutput::new(open, self.speaker.clone()));
        let remote = RemoteMedia {
            video: self.remote_video.clone(),
            counters: self.counters.clone(),
            output: self.output.clone(),
        };
        // Start at the user's full rate: the controllers back off when the path says so.
        let start = u64::from(self.quality.video_kbps + self.quality.audio_kbps) * 1000;
        let rate = SendRate {
            start_bps: start,
            min_bps: 60_000,
            max_bps: start.max(60_000) * 5 / 2,
            // What we take in: twice the user's video rate to start (libwebrtc picks its first
            // resolution from the start rate: 720p wants about 1.5 Mbit/s), up to 2.5x it (its
            // own ceiling for 720p is 2.5 Mbit/s); the peer's estimator still rules beyond that.
            receive_start_kbps: self.quality.video_kbps.saturating_mul(2),
            receive_max_kbps: self.quality.video_kbps.saturating_mul(5) / 2,
        };
        let (session, rx) = MediaSession::start(&net, local, remote, rate).await?;
        self.session = Some(session);
        self.session_rx = Some(rx);
        self.rate = Some(peer::bwe::RateController::new(
            rate.start_bps,
            rate.min_bps,
            rate.max_bps,
        ));
        self.role = Some(role);
        self.collector = StatsCollector::default();
        Ok(())
    }

    async fn sample_stats(&mut self) {
        let Some(s) = &self.session else { return };
        let raw = s.raw_stats().await;
        let sc = &s.send_counters;
        let (w, h) = self.remote_video.size();
        let enc = sc.encoded_size.load(Ordering::Relaxed);
        let q = s.control().effective_quality();
        let local = LocalCounters {
            frames_decoded: self.counters.video_frames.load(Ordering::Relaxed),
            decode_errors: self.counters.video_decode_errors.load(Ordering::Relaxed),
            frame_size: (w, h),
            audio_frames: self.counters.audio_frames.load(Ordering::Relaxed),
            audio_level: self.counters.audio_level_dbfs(),
            audio_concealed: self.counters.audio_concealed.load(Ordering::Relaxed),
            audio_fec: self.counters.audio_fec_recovered.load(Ordering::Relaxed),
            audio_jitter_target_ms: self.counters.audio_jitter_target_ms.load(Ordering::Relaxed),
            frames_encoded: sc.video_frames.load(Ordering::Relaxed),
            keyframes: sc.keyframes.load(Ordering::Relaxed),
            encoded_size: (enc >> 16, enc & 0xffff),
            encoded_fps: sc.encoded_fps.load(Ordering::Relaxed),
            target_video_bps: u64::from(q.video_kbps) * 1000,
            target_audio_bps: u64::from(q.audio_kbps) * 1000,
            video_codec: s.control().video_codec(),
            plis_sent: self.counters.plis_sent.load(Ordering::Relaxed),
            available_bps: self.estimate.map_or(0, |e| e.0),
            estimator: self.estimate.map(|e| e.1),
        };
        let (fresh, seen) = self.counters.latencies_since(self.latency_seen);
        self.latency_seen = seen;
        let g2g = median_ms(fresh);
        let sample = self.collector.sample(Instant::now(), raw, local, g2g);
        let _ = self.stats_tx.send(Some(sample.clone()));
        let _ = self.stats_stream.send(sample);
    }
}

fn median_ms(mut v: Vec<u64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    Some(v[v.len() / 2] as f64 / 1000.0)
}
