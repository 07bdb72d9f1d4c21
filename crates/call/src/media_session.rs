//! One WebRTC peer connection with Simu's media: local tracks fed by the encoder threads,
//! remote tracks feeding the decoder threads, trickle ICE with early-candidate buffering,
//! ICE restart, and raw statistics.

use crate::assembler::{AnyDepacketizer, FrameAssembler};
use crate::pipeline::{self, Encoded, MediaControl, MediaTrouble, RecvCounters, SendCounters};
use bytes::Bytes;
use media::codec::VideoCodec;
use media::{AudioSource, FrameSink, VideoSource};
use peer::bwe::{DelayEstimator, EstimateReadout};
use peer::{build_peer, codecs, media_track, prefer_codecs, Negotiation, NetConfig, PeerError};
use rtc::media::Sample;
use rtc::peer_connection::transport::RTCIceCandidateInit;
use rtc::rtp::packetizer::Packetizer;
use rtc::rtp::sequence::Sequencer;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtc::statistics::StatsSelector;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::RTCPeerConnectionIceEvent;
use webrtc::peer_connection::{PeerConnectionEventHandler, RTCPeerConnectionState};

#[derive(Debug, thiserror::Error)]
pub enum MediaSessionError {
    #[error(transparent)]
    Peer(#[from] PeerError),
    #[error("media thread: {0}")]
    Thread(#[from] std::io::Error),
}

fn rtc_err(e: impl std::fmt::Display) -> MediaSessionError {
    MediaSessionError::Peer(PeerError::WebRtc(e.to_string()))
}

/// What the session reports to its owner.
#[derive(Debug, Clone)]
pub enum MediaSessionEvent {
    LocalCandidate(RTCIceCandidateInit),
    /// The connection is up and remote media has arrived.
    MediaFlowing,
    Disconnected,
    Failed(String),
    RemoteTrack(&'static str),
    /// A device or codec failed (the call may go on).
    MediaError(String),
    /// The camera stopped delivering (unplugged, taken by another app); a black picture is sent.
    CameraLost(String),
}

/// Bytes of RTP payload per packet (the crate's sample track uses the same).
const RTP_MTU: usize = 1200;

/// Local media for a session.
pub struct LocalMedia {
    pub audio: Option<Box<dyn AudioSource>>,
    /// Video codecs in the user's order of preference (empty: Simu's default order).
    pub codecs: Vec<VideoCodec>,
    /// Echo cancellation, noise suppression and gain control for a real microphone.
    pub apm: Option<media::apm::AudioProcessor>,
    pub video: Option<Box<dyn VideoSource>>,
    pub control: Arc<MediaControl>,
    pub preview: Arc<FrameSink>,
}

/// Sinks and counters for what arrives.
#[derive(Clone)]
pub struct RemoteMedia {
    pub video: Arc<FrameSink>,
    pub counters: Arc<RecvCounters>,
    /// Where to play received audio; `None` decodes and counts only (headless).
    pub output: Option<Arc<pipeline::AudioOutput>>,
}

struct Flow {
    connected: AtomicBool,
    got_media: AtomicBool,
    reported: AtomicBool,
}

impl Flow {
    async fn maybe_report(&self, events: &mpsc::Sender<MediaSessionEvent>) {
        if self.connected.load(Ordering::Acquire)
            && self.got_media.load(Ordering::Acquire)
            && !self.reported.swap(true, Ordering::AcqRel)
        {
            let _ = events.send(MediaSessionEvent::MediaFlowing).await;
        }
    }
}

/// Peer connection callbacks; `ctx` is handed (cloned) to each remote track's task.
struct Handler {
    ctx: RemoteTrackCtx,
    tasks: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    /// Asked for a keyframe on connecting: frames encoded before that were never sent.
    control: Arc<MediaControl>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        match event.candidate.to_json() {
            Ok(init) => {
                let _ = self
                    .ctx
                    .events
                    .send(MediaSessionEvent::LocalCandidate(init))
                    .await;
            }
            Err(e) => tracing::warn!(error = %e, "unusable local candidate"),
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        tracing::debug!(%state, "peer connection state");
        match state {
            RTCPeerConnectionState::Connected => {
                self.ctx.flow.connected.store(true, Ordering::Release);
                self.control.request_keyframe_now();
                self.ctx.flow.reported.store(false, Ordering::Release);
                self.ctx.flow.maybe_report(&self.ctx.events).await;
            }
            RTCPeerConnectionState::Disconnected => {
                self.ctx.flow.connected.store(false, Ordering::Release);
                let _ = self.ctx.events.send(MediaSessionEvent::Disconnected).await;
            }
            RTCPeerConnectionState::Failed => {
                self.ctx.flow.connected.store(false, Ordering::Release);
                let _ = self
                    .ctx
                    .events
                    .send(MediaSessionEvent::Failed("ICE connection failed".into()))
                    .await;
            }
            _ => {}
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let kind = track.kind().await;
        let label = if kind == RtpCodecKind::Video {
            "video"
        } else {
            "audio"
        };
        let _ = self
            .ctx
            .events
            .send(MediaSessionEvent::RemoteTrack(label))
            .await;
        let task = tokio::spawn(run_remote_track(track, kind, self.ctx.clone()));
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(task);
    }
}

#[derive(Clone)]
struct RemoteTrackCtx {
    events: mpsc::Sender<MediaSessionEvent>,
    flow: Arc<Flow>,
    video_tx: std::sync::mpsc::SyncSender<(VideoCodec, Bytes)>,
    audio_jb: Arc<std::sync::Mutex<media::jitter::JitterBuffer>>,
    need_keyframe: Arc<Notify>,
    counters: Arc<RecvCounters>,
}

async fn send_pli(track: &Arc<dyn TrackRemote>, ssrc: u32, counters: &RecvCounters) {
    match peer::request_keyframe(track, ssrc).await {
        Ok(()) => {
            counters.plis_sent.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => tracing::debug!(error = %e, "PLI not sent"),
    }
}

/// Reassembles and forwards one remote track's media until it ends.
async fn run_remote_track(track: Arc<dyn TrackRemote>, kind: RtpCodecKind, ctx: RemoteTrackCtx) {
    let ssrc = track.ssrcs().await.first().copied().unwrap_or(0);
    let codec = track
        .codec(ssrc)
        .await
        .and_then(|c| codecs::video_codec_of(&c.mime_type))
        .unwrap_or(VideoCodec::H264);
    if kind == RtpCodecKind::Video {
        tracing::debug!(%codec, "receiving video");
    }
    let mut builder = FrameAssembler::new(
        AnyDepacketizer::for_codec(codec),
        Duration::from_millis(500),
    );
    let mut freeze_check = tokio::time::interval(Duration::from_millis(500));
    let mut last_frames = 0u64;
    let mut last_pli = Instant::now() - Duration::from_secs(1);
    loop {
        tokio::select! {
            ev = track.poll() => match ev {
                Some(TrackRemoteEvent::OnRtpPacket(pkt)) => {
                    if !ctx.flow.got_media.swap(true, Ordering::AcqRel) {
                        ctx.flow.maybe_report(&ctx.events).await;
                    }
                    if kind == RtpCodecKind::Video {
                        builder.push(Instant::now(), pkt);
                        while let Some(frame) = builder.pop(Instant::now()) {
                            if (frame.after_loss || frame.data.is_empty()) && last_pli.elapsed() > Duration::from_millis(300) {
                                last_pli = Instant::now();
                                send_pli(&track, ssrc, &ctx.counters).await;
                            }
                            if frame.data.is_empty() {
                                continue;
                            }
                            if ctx.video_tx.try_send((codec, frame.data)).is_err() {
                                tracing::debug!("video decoder behind; frame dropped");
                            }
                        }
                    } else {
                        // Opus RTP time runs at 48 kHz: 48 ticks per millisecond.
                        let media_ms = f64::from(pkt.header.timestamp) / 48.0;
                        ctx.audio_jb.lock().unwrap_or_else(|p| p.into_inner()).push(pkt.header.sequence_number, media_ms, pkt.payload, Instant::now());
                    }
                }
                Some(TrackRemoteEvent::OnEnded) | None => break,
                Some(_) => {}
            },
            _ = ctx.need_keyframe.notified(), if kind == RtpCodecKind::Video => {
                if last_pli.elapsed() > Duration::from_millis(300) {
                    last_pli = Instant::now();
                    send_pli(&track, ssrc, &ctx.counters).await;
                }
            }
            _ = freeze_check.tick(), if kind == RtpCodecKind::Video => {
                let frames = ctx.counters.video_frames.load(Ordering::Relaxed);
                if frames == last_frames && ctx.flow.got_media.load(Ordering::Relaxed) && last_pli.elapsed() > Duration::from_secs(1) {
                    last_pli = Instant::now();
                    send_pli(&track, ssrc, &ctx.counters).await;
                }
                last_frames = frames;
            }
        }
    }
    tracing::debug!(?kind, "remote track ended");
}

/// Writes encoded media into a local track once negotiation has fixed the payload type.
fn spawn_writer(
    track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
    pt: Arc<AtomicU8>,
    flow: Arc<Flow>,
    mut rx: mpsc::Receiver<Encoded>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(e) = rx.recv().await {
            let p = pt.load(Ordering::Acquire);
            if p == 0 || !flow.connected.load(Ordering::Acquire) {
                continue;
            }
            let sample = Sample {
                data: e.data,
                duration: e.duration,
                ..Sample::new(Instant::now())
            };
            if let Err(err) = track.sample_writer(ssrc, p).write_sample(&sample).await {
                tracing::trace!(error = %err, "sample not written");
            }
        }
    })
}

/// Packetizes encoded video with the negotiated codec's payloader and writes it to the track
/// (the crate's sample track fixes one codec when it is created, before negotiation).
fn spawn_video_writer(
    track: Arc<TrackLocalStaticRTP>,
    ssrc: u32,
    pt: Arc<AtomicU8>,
    ctl: Arc<MediaControl>,
    flow: Arc<Flow>,
    mut rx: mpsc::Receiver<Encoded>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let sequencer: Box<dyn Sequencer> = Box::new(rtc::rtp::sequence::new_random_sequencer());
        let mut packetizers: HashMap<VideoCodec, Box<dyn Packetizer + Send>> = HashMap::new();
        // Nothing the peer cannot decode: after (re)connecting, video starts at a keyframe.
        let mut started = false;
        while let Some(e) = rx.recv().await {
            let p = pt.load(Ordering::Acquire);
            let Some(codec) = e.codec.filter(|c| Some(*c) == ctl.video_codec()) else {
                continue;
            };
            if p == 0 || !flow.connected.load(Ordering::Acquire) {
                started = false;
                continue;
            }
            if !started && !e.key {
                ctl.request_keyframe_now();
                continue;
            }
            started = true;
            let packetizer = match packetizers.entry(codec) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    match codecs::video(codec).rtp_codec.payloader() {
                        Ok(payloader) => v.insert(Box::new(rtc::rtp::packetizer::new_packetizer(
                            Instant::now(),
                            RTP_MTU,
                            0,
                            ssrc,
                            payloader,
                            sequencer.clone(),
                            90_000,
                        ))),
                        Err(err) => {
                            tracing::warn!(error = %err, %codec, "no RTP payloader");
                            continue;
                        }
                    }
                }
            };
            let samples = (e.duration.as_secs_f64() * 90_000.0) as u32;
            let packets = match packetizer.packetize(Instant::now(), &e.data, samples) {
                Ok(p) => p,
                Err(err) => {
                    tracing::debug!(error = %err, "frame not packetized");
                    continue;
                }
            };
            for mut pkt in packets {
                pkt.header.payload_type = p;
                if let Err(err) = track.write_rtp_with_extensions(pkt, &[]).await {
                    tracing::trace!(error = %err, "video packet not written");
                }
            }
        }
    })
}

/// Turns inbound PLI/FIR on the local video track into encoder keyframes.
fn spawn_keyframe_listener(
    track: Arc<dyn TrackLocal>,
    ctl: Arc<MediaControl>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while !stop.load(Ordering::Relaxed) {
            match tokio::time::timeout(Duration::from_millis(250), track.poll()).await {
                Ok(Some(TrackLocalEvent::OnRtcpPacket(_))) => ctl.request_keyframe(),
                Ok(Some(_)) => {}
                Ok(None) => tokio::time::sleep(Duration::from_millis(250)).await,
                Err(_) => {}
            }
        }
    })
}

struct LocalTrack {
    sender: Arc<dyn webrtc::rtp_transceiver::RtpSender>,
    pt: Arc<AtomicU8>,
}

/// Raw counters for one stats sample.
#[derive(Debug, Default, Clone, Copy)]
pub struct RawStats {
    pub video_in: StreamIn,
    pub audio_in: StreamIn,
    pub video_out: StreamOut,
    pub audio_out: StreamOut,
    pub rtt_ms: Option<f64>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct StreamIn {
    pub packets_received: u64,
    pub packets_lost: i64,
    pub bytes_received: u64,
    pub jitter_ms: f64,
    pub nack_count: u64,
    pub retransmitted_packets: u64,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct StreamOut {
    pub packets_sent: u64,
    pub bytes_sent: u64,
    pub retransmitted_packets: u64,
    pub retransmitted_bytes: u64,
}

/// A live peer connection and its media.
pub struct MediaSession {
    negotiation: Negotiation,
    audio: Option<LocalTrack>,
    video: Option<LocalTrack>,
    control: Arc<MediaControl>,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    remote_tasks: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    pub send_counters: Arc<SendCounters>,
    video_clock: u32,
    /// The delay-based estimate, published by the congestion-control interceptor.
    estimate: Arc<EstimateReadout>,
    rate: SendRate,
    /// Whether media flows (the writers wait for it).
    flow: Arc<Flow>,
    /// Where the media threads report errors and a lost camera.
    errors: mpsc::Sender<MediaTrouble>,
    /// Video codecs in the order offered.
    video_codecs: Vec<VideoCodec>,
    /// The self-view the video sender draws into.
    preview: Arc<FrameSink>,
}

/// The send-rate bounds of a session's congestion controller, bps (audio included), and the
/// video rate (kbit/s) the peer is asked to start at and not exceed.
#[derive(Debug, Clone, Copy)]
pub struct SendRate {
    pub start_bps: u64,
    pub min_bps: u64,
    pub max_bps: u64,
    pub receive_start_kbps: u32,
    pub receive_max_kbps: u32,
}

pub(crate) fn local_track(
    kind: RtpCodecKind,
    codec: rtc::rtp_transceiver::rtp_sender::RTCRtpCodec,
    ssrc: u32,
) -> Result<Arc<TrackLocalStaticSample>, MediaSessionError> {
    Ok(Arc::new(
        TrackLocalStaticSample::new(Instant::now(), media_track("simu", kind, codec, ssrc, true))
            .map_err(rtc_err)?,
    ))
}

impl MediaSession {
    /// Builds the peer connection, adds local tracks and starts the media threads.
    pub async fn start(
        net: &NetConfig,
        local: LocalMedia,
        remote: RemoteMedia,
        rate: SendRate,
    ) -> Result<(Self, mpsc::Receiver<MediaSessionEvent>), MediaSessionError> {
        let (ev_tx, ev_rx) = mpsc::channel(256);
        let flow = Arc::new(Flow {
            connected: AtomicBool::new(false),
            got_media: AtomicBool::new(false),
            reported: AtomicBool::new(false),
        });
        let (video_tx, video_rx) = std::sync::mpsc::sync_channel::<(VideoCodec, Bytes)>(8);
        let audio_jb = Arc::new(std::sync::Mutex::new(media::jitter::JitterBuffer::default()));
        let need_keyframe = Arc::new(Notify::new());
        let remote_tasks = Arc::new(std::sync::Mutex::new(Vec::new()));
        let handler = Arc::new(Handler {
            ctx: RemoteTrackCtx {
                events: ev_tx.clone(),
                flow: flow.clone(),
                video_tx,
                audio_jb: audio_jb.clone(),
                need_keyframe: need_keyframe.clone(),
                counters: remote.counters.clone(),
            },
            tasks: remote_tasks.clone(),
            control: local.control.clone(),
        });
        let video_codecs = codecs::ordered(&local.codecs);
        local.control.set_video_codec(video_codecs[0]);
        let estimate = Arc::new(EstimateReadout::default());
        let estimator =
            DelayEstimator::new(rate.start_bps, rate.min_bps, rate.max_bps, estimate.clone());
        let pc = build_peer(net, handler, &video_codecs, Some(estimator)).await?;
        let stop = Arc::new(AtomicBool::new(false));

        let send_counters = Arc::new(SendCounters::default());
        let (err_tx, mut err_rx) = mpsc::channel::<MediaTrouble>(8);
        let mut threads = Vec::new();
        let mut tasks = Vec::new();
        let forward_errors = ev_tx.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(e) = err_rx.recv().await {
                let ev = match e {
                    MediaTrouble::Error(m) => MediaSessionEvent::MediaError(m),
                    MediaTrouble::CameraLost(m) => MediaSessionEvent::CameraLost(m),
                };
                let _ = forward_errors.send(ev).await;
            }
        }));
        threads.push(pipeline::spawn_video_receiver(
            video_rx,
            stop.clone(),
            remote.video.clone(),
            remote.counters.clone(),
            need_keyframe_sender(need_keyframe),
        )?);
        threads.push(pipeline::spawn_audio_receiver(
            local.apm.clone(),
            audio_jb,
            stop.clone(),
            remote.counters.clone(),
            remote.output.clone(),
        )?);

        let mut audio = None;
        if let Some(src) = local.audio {
            let ssrc = rand::random::<u32>();
            let track = local_track(RtpCodecKind::Audio, codecs::opus(), ssrc)?;
            let sender = pc
                .add_track(track.clone() as Arc<dyn TrackLocal>)
                .await
                .map_err(rtc_err)?;
            let (tx, rx) = mpsc::channel(16);
            threads.push(pipeline::spawn_audio_sender(
                src,
                local.apm.clone(),
                local.control.clone(),
                tx,
                err_tx.clone(),
            )?);
            let pt = Arc::new(AtomicU8::new(0));
            tasks.push(spawn_writer(
                track.clone(),
                ssrc,
                pt.clone(),
                flow.clone(),
                rx,
            ));
            audio = Some(LocalTrack { sender, pt });
        }
        let mut session = Self {
            negotiation: Negotiation::new(pc),
            audio,
            video: None,
            control: local.control,
            stop,
            threads,
            tasks,
            remote_tasks,
            send_counters,
            video_clock: 90_000,
            estimate,
            rate,
            flow,
            errors: err_tx,
            video_codecs,
            preview: local.preview,
        };
        if let Some(src) = local.video {
            session.add_video(src).await?;
        }
        Ok((session, ev_rx))
    }

    pub fn control(&self) -> &Arc<MediaControl> {
        &self.control
    }

    /// True when this session sends video (a camera can be switched).
    pub fn has_video(&self) -> bool {
        self.video.is_some()
    }

    /// Starts sending video from `src`: a new track, its encoder thread and writers. In a call
    /// under way (an audio call turning the camera on) the caller then renegotiates.
    pub async fn add_video(&mut self, src: Box<dyn VideoSource>) -> Result<(), MediaSessionError> {
        if self.video.is_some() {
            return Ok(());
        }
        let pc = self.negotiation.peer_connection().clone();
        let ssrc = rand::random::<u32>();
        let track = Arc::new(TrackLocalStaticRTP::new(media_track(
            "simu",
            RtpCodecKind::Video,
            codecs::video(self.video_codecs[0]).rtp_codec,
            ssrc,
            true,
        )));
        let sender = pc
            .add_track(track.clone() as Arc<dyn TrackLocal>)
            .await
            .map_err(rtc_err)?;
        prefer_codecs(&pc, &self.video_codecs).await;
        let (tx, rx) = mpsc::channel(4);
        self.threads.push(pipeline::spawn_video_sender(
            src,
            self.control.clone(),
            self.preview.clone(),
            tx,
            self.send_counters.clone(),
            self.errors.clone(),
        )?);
        let pt = Arc::new(AtomicU8::new(0));
        self.tasks.push(spawn_video_writer(
            track.clone(),
            ssrc,
            pt.clone(),
            self.control.clone(),
            self.flow.clone(),
            rx,
        ));
        self.tasks.push(spawn_keyframe_listener(
            track.clone(),
            self.control.clone(),
            self.stop.clone(),
        ));
        self.video = Some(LocalTrack { sender, pt });
        Ok(())
    }

    /// Reads the negotiated payload types (and video codec) so the writers can start.
    async fn after_negotiation(&mut self) {
        for (t, video) in [(&self.audio, false), (&self.video, true)] {
            let Some(t) = t else { continue };
            if let Ok(params) = t.sender.get_parameters().await {
                if let Some(c) = params.rtp_parameters.codecs.first() {
                    if video {
                        match codecs::video_codec_of(&c.rtp_codec.mime_type) {
                            Some(codec) => {
                                tracing::debug!(%codec, pt = c.payload_type, "sending video");
                                self.control.set_video_codec(codec);
                            }
                            None => {
                                tracing::warn!(mime = %c.rtp_codec.mime_type, "negotiated a video codec we cannot encode")
                            }
                        }
                    }
                    t.pt.store(c.payload_type, Ordering::Release);
                }
            }
        }
        // The negotiated codec may be new to the encoder: its first frame must be a keyframe.
        self.control.request_keyframe_now();
    }

    /// Creates and applies an offer (with an ICE restart if asked); returns the SDP to send.
    pub async fn create_offer(&mut self, ice_restart: bool) -> Result<String, MediaSessionError> {
        let sdp = self.negotiation.create_offer(ice_restart).await?;
        Ok(self.with_hints(&sdp))
    }

    /// The SDP to send: ours, with what we can receive for a libwebrtc sender (`sdp_hints`).
    fn with_hints(&self, sdp: &str) -> String {
        peer::sdp_hints::with_bitrate_hints(
            sdp,
            self.rate.receive_start_kbps,
            self.rate.receive_max_kbps,
        )
    }

    /// Whether `sdp` comes from a new peer connection (another DTLS identity than the one this
    /// session talks to): the peer set the call up again, so this session cannot take it.
    pub fn is_from_new_peer_connection(&self, sdp: &str) -> bool {
        self.negotiation.is_from_new_peer_connection(sdp)
    }

    /// Applies a remote offer and returns the answer's SDP.
    pub async fn apply_offer(&mut self, sdp: String) -> Result<String, MediaSessionError> {
        let answer = self.negotiation.apply_offer(sdp).await?;
        self.after_negotiation().await;
        Ok(self.with_hints(&answer))
    }

    pub async fn apply_answer(&mut self, sdp: String) -> Result<(), MediaSessionError> {
        self.negotiation.apply_answer(sdp).await?;
        self.after_negotiation().await;
        Ok(())
    }

    /// Adds a remote candidate, or keeps it until the remote description is set.
    pub async fn add_candidate(&mut self, c: RTCIceCandidateInit) -> Result<(), MediaSessionError> {
        Ok(self.negotiation.add_candidate(c).await?)
    }

    /// Counters for one stats sample.
    pub async fn raw_stats(&self) -> RawStats {
        let report = self
            .negotiation
            .peer_connection()
            .get_stats(Instant::now(), StatsSelector::None)
            .await;
        let mut s = RawStats::default();
        for i in report.inbound_rtp_streams() {
            let r = &i.received_rtp_stream_stats;
            let clock = if r.rtp_stream_stats.kind == RtpCodecKind::Video {
                f64::from(self.video_clock)
            } else {
                48_000.0
            };
            let target = if r.rtp_stream_stats.kind == RtpCodecKind::Video {
                &mut s.video_in
            } else {
                &mut s.audio_in
            };
            target.packets_received += r.packets_received;
            target.packets_lost += r.packets_lost;
            target.bytes_received += i.bytes_received;
            target.nack_count += u64::from(i.nack_count);
            target.retransmitted_packets += i.retransmitted_packets_received;
            target.jitter_ms = target.jitter_ms.max(r.jitter / clock * 1000.0);
        }
        for o in report.outbound_rtp_streams() {
            let r = &o.sent_rtp_stream_stats;
            let target = if r.rtp_stream_stats.kind == RtpCodecKind::Video {
                &mut s.video_out
            } else {
                &mut s.audio_out
            };
            target.packets_sent += r.packets_sent;
            target.bytes_sent += r.bytes_sent;
            target.retransmitted_packets += o.retransmitted_packets_sent;
            target.retransmitted_bytes += o.retransmitted_bytes_sent;
        }
        s.rtt_ms = report
            .candidate_pairs()
            .filter(|p| p.bytes_received > 0 && p.current_round_trip_time > 0.0)
            .max_by_key(|p| p.bytes_received)
            .map(|p| p.current_round_trip_time * 1000.0);
        s
    }

    /// Video bytes that went out (retransmissions included) and encoded video bytes we handed
    /// over, both cumulative: their ratio tells the rate controller how much the receiver had to
    /// ask for again. (webrtc 0.21.1 leaves both RR-based loss and `retransmittedPacketsSent` at
    /// zero, so the resend volume is the loss signal there is.)
    pub async fn send_report(&self) -> (u64, u64) {
        let report = self
            .negotiation
            .peer_connection()
            .get_stats(Instant::now(), StatsSelector::None)
            .await;
        // With RTX the resends leave on their own SSRC; the crate counts them on the primary.
        let sent = report
            .outbound_rtp_streams()
            .filter(|o| o.sent_rtp_stream_stats.rtp_stream_stats.kind == RtpCodecKind::Video)
            .map(|o| o.sent_rtp_stream_stats.bytes_sent + o.retransmitted_bytes_sent)
            .sum();
        (
            sent,
            self.send_counters
                .video_payload_bytes
                .load(Ordering::Relaxed),
        )
    }

    /// The delay-based estimate (bps), while the peer's transport-wide feedback keeps coming
    /// (within 2 s); `None` otherwise, and the resend-ratio controller steers.
    pub fn delay_estimate(&self) -> Option<u64> {
        self.estimate
            .estimate(Instant::now(), Duration::from_secs(2))
    }

    /// Stops media threads and closes the connection.
    pub async fn close(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.control.stop();
        self.negotiation.close().await;
        for t in self.tasks.drain(..) {
            t.abort();
        }
        for t in self
            .remote_tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            t.abort();
        }
        let threads = std::mem::take(&mut self.threads);
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}

/// The decoder thread signals "need a keyframe" through a bounded channel; forward it to the
/// remote video task's `Notify`.
fn need_keyframe_sender(notify: Arc<Notify>) -> mpsc::Sender<()> {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            notify.notify_one();
        }
    });
    tx
}
