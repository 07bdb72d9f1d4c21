//! The CallManager: the seed SDK's API in async Rust. A driver task owns the state machine,
//! the signaling client and the WebRTC session; the handle sends it commands and exposes
//! events, state, sinks and statistics.

mod driver;

pub use driver::ParticipantMedia;

use crate::media_factory::MediaFactory;

use driver::Driver;

use crate::machine::{CallEvent, CallState, Timeouts};
use crate::pipeline::RecvCounters;
use crate::quality::{Preset, Quality, QualityError};
use crate::stats::StatsSample;
use media::FrameSink;
use nx::rest::RestClient;
use nx::NxId;
use peer::NetConfig;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

/// Why a command failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum CallError {
    #[error("invalid address: {0}")]
    BadAddress(String),
    #[error("already in a call")]
    Busy,
    #[error("no call to act on")]
    NoCall,
    /// A conference call (SFU) is a group call: 1:1 calls never go through the SFU.
    #[error("a conference call needs two or more people to call")]
    ConferenceTooSmall,
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
        to: Vec<String>,
        audio: bool,
        video: bool,
        /// Through the conference server even where mesh would do.
        conference: bool,
        reply: oneshot::Sender<Result<String, CallError>>,
    },
    Accept {
        audio: bool,
        video: bool,
    },
    Invite(String, oneshot::Sender<Result<(), CallError>>),
    /// Admit (`true`) or turn away a guest knocking through a call link.
    Knock(NxId, bool),
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
    counters: watch::Receiver<Arc<RecvCounters>>,
    participants: watch::Receiver<Vec<ParticipantMedia>>,
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
        let (counters_tx, counters) = watch::channel(Arc::new(RecvCounters::default()));
        let (participants_tx, participants) = watch::channel(Vec::new());
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
            counters_tx,
            participants_tx,
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
            participants,
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
        self.initiate_group_call(&[to], audio, video).await
    }

    /// Calls several people at once (a group call; one person makes a 1:1 call); returns the
    /// room.
    pub async fn initiate_group_call(
        &self,
        participants: &[&str],
        audio: bool,
        video: bool,
    ) -> Result<String, CallError> {
        self.dial(participants, audio, video, false).await
    }

    /// Calls several (two or more) people through the server's conference server (SFU,
    /// protocol.md §4.3) even where mesh would do; the server refuses when it has none.
    pub async fn initiate_conference_call(
        &self,
        participants: &[&str],
        audio: bool,
        video: bool,
    ) -> Result<String, CallError> {
        if participants.len() < 2 {
            return Err(CallError::ConferenceTooSmall);
        }
        self.dial(participants, audio, video, true).await
    }

    async fn dial(
        &self,
        participants: &[&str],
        audio: bool,
        video: bool,
        conference: bool,
    ) -> Result<String, CallError> {
        let (tx, rx) = oneshot::channel();
        self.send(Cmd::Dial {
            to: participants.iter().map(|p| p.to_string()).collect(),
            audio,
            video,
            conference,
            reply: tx,
        })
        .await?;
        rx.await.map_err(|_| CallError::Stopped)?
    }

    /// Invites one more person into the call under way (it becomes a group call).
    pub async fn invite(&self, to: &str) -> Result<(), CallError> {
        let (tx, rx) = oneshot::channel();
        self.send(Cmd::Invite(to.to_string(), tx)).await?;
        rx.await.map_err(|_| CallError::Stopped)?
    }

    /// Lets a guest who knocks through a call link (`CallEvent::Knock`) into the call under
    /// way, or turns it away.
    pub async fn answer_knock(&self, guest: &str, admit: bool) -> Result<(), CallError> {
        let id = NxId::parse_jid(guest)
            .ok()
            .filter(NxId::is_guest)
            .ok_or_else(|| CallError::BadAddress(format!("{guest} is not a guest's address")))?;
        self.send(Cmd::Knock(id, admit)).await
    }

    /// Each member's media in the call (a 1:1 call has one): pictures and receive counters.
    pub fn participants(&self) -> Vec<ParticipantMedia> {
        self.participants.borrow().clone()
    }

    /// Changes whenever a member's media comes or goes.
    pub fn participants_watch(&self) -> watch::Receiver<Vec<ParticipantMedia>> {
        self.participants.clone()
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

    /// The latest media leg's receive-side counters (decoded frames, audio frames,
    /// glass-to-glass delays); a new leg brings new counters, so read them again after a call
    /// starts.
    pub fn receive_counters(&self) -> Arc<RecvCounters> {
        self.counters.borrow().clone()
    }

    pub fn jid(&self) -> &NxId {
        &self.jid
    }
}
