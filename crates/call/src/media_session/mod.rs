//! One WebRTC peer connection with Simu's media: local tracks fed from the call's encoders
//! (`outgoing`), remote tracks feeding the decoder threads, trickle ICE with early-candidate
//! buffering, ICE restart, and raw statistics.

mod events;
mod raw_stats;
mod receiving;
mod sending;

use events::{Flow, Handler};
pub use raw_stats::RawStats;
use receiving::{RemoteEnd, Routes};
use sending::{local_track, spawn_keyframe_listener, spawn_video_writer, spawn_writer, LocalTrack};

use crate::outgoing::LegSend;
use crate::pipeline::{self, Encoded, MediaControl, RecvCounters, SendCounters};

use media::codec::VideoCodec;
use media::FrameSink;
use peer::bwe::{DelayEstimator, EstimateReadout};
use peer::{
    build_peer, codecs, media_track, prefer_codecs, Negotiation, NetConfig, PeerError, RembCap,
    SendSide,
};
use rtc::peer_connection::transport::RTCIceCandidateInit;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;

#[derive(Debug, thiserror::Error)]
pub enum MediaSessionError {
    #[error(transparent)]
    Peer(#[from] PeerError),
    #[error("media thread: {0}")]
    Thread(#[from] std::io::Error),
    #[error("no audio decoder: {0}")]
    Decoder(#[from] media::opus_codec::OpusError),
}

fn rtc_err(e: impl std::fmt::Display) -> MediaSessionError {
    MediaSessionError::Peer(PeerError::WebRtc(e.to_string()))
}

/// What the session reports to its owner.
#[derive(Debug, Clone)]
pub enum MediaSessionEvent {
    LocalCandidate(RTCIceCandidateInit),
    /// The connection is up (again).
    Connected,
    /// The connection is up and remote media has arrived.
    MediaFlowing,
    Disconnected,
    Failed(String),
    RemoteTrack(&'static str),
}

/// Bytes of RTP payload per packet (the crate's sample track uses the same).
const RTP_MTU: usize = 1200;

/// Sinks and counters for what arrives.
#[derive(Clone)]
pub struct RemoteMedia {
    pub video: Arc<FrameSink>,
    pub counters: Arc<RecvCounters>,
    /// The call's mixer, where this leg's audio is decoded and played with everyone else's.
    pub audio: Arc<pipeline::AudioMix>,
}
/// A live peer connection and its media.
pub struct MediaSession {
    negotiation: Negotiation,
    audio: Option<LocalTrack>,
    video: Option<LocalTrack>,
    control: Arc<MediaControl>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    remote_tasks: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    pub send_counters: Arc<SendCounters>,
    video_clock: u32,
    /// The delay-based estimate, published by the congestion-control interceptor.
    estimate: Arc<EstimateReadout>,
    /// The peer's REMB cap (Janus's room bitrate on a conference publisher).
    remb: Arc<RembCap>,
    rate: SendRate,
    /// Whether media flows (the writers wait for it).
    flow: Arc<Flow>,
    /// Video codecs in the order offered.
    video_codecs: Vec<VideoCodec>,
    /// Where remote tracks go.
    routes: Arc<Routes>,
    /// The receive side of each remote party, by stream id (`""`: a 1:1 leg's one party).
    ends: std::collections::HashMap<String, RemoteEnd>,
    events: mpsc::Sender<MediaSessionEvent>,
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

impl MediaSession {
    /// Builds the peer connection, adds local tracks and starts the media threads. `remote`
    /// receives every remote track (a 1:1 leg); without it, tracks go to the parties added with
    /// `route_stream` (a conference subscription) or nowhere (a conference publisher).
    pub async fn start(
        net: &NetConfig,
        local: LegSend,
        codecs_wanted: &[VideoCodec],
        remote: Option<RemoteMedia>,
        rate: SendRate,
    ) -> Result<(Self, mpsc::Receiver<MediaSessionEvent>), MediaSessionError> {
        let (ev_tx, ev_rx) = mpsc::channel(256);
        let flow = Arc::new(Flow {
            connected: AtomicBool::new(false),
            got_media: AtomicBool::new(false),
            reported: AtomicBool::new(false),
        });
        let mut ends = std::collections::HashMap::new();
        let routes = Arc::new(match &remote {
            Some(r) => {
                let end = RemoteEnd::start(r, ev_tx.clone(), flow.clone())?;
                let ctx = end.ctx.clone();
                ends.insert(String::new(), end);
                Routes::One(ctx)
            }
            None => Routes::ByStream(Default::default()),
        });
        let remote_tasks = Arc::new(std::sync::Mutex::new(Vec::new()));
        let handler = Arc::new(Handler {
            events: ev_tx.clone(),
            flow: flow.clone(),
            routes: routes.clone(),
            tasks: remote_tasks.clone(),
            control: local.control.clone(),
        });
        let mut video_codecs = codecs::ordered(codecs_wanted);
        // The call's one encoder may already be sending a codec to other legs: offer it first,
        // so this leg settles on it too.
        match local.control.video_codec() {
            Some(c) => {
                if let Some(i) = video_codecs.iter().position(|x| *x == c) {
                    video_codecs[..=i].rotate_right(1);
                }
            }
            None => local.control.set_video_codec(video_codecs[0]),
        }
        let estimate = Arc::new(EstimateReadout::default());
        let remb = Arc::new(RembCap::default());
        let send_side = SendSide {
            estimator: DelayEstimator::new(
                rate.start_bps,
                rate.min_bps,
                rate.max_bps,
                estimate.clone(),
            ),
            remb: remb.clone(),
        };
        let pc = build_peer(net, handler, &video_codecs, Some(send_side)).await?;
        let stop = Arc::new(AtomicBool::new(false));

        let mut tasks = Vec::new();
        let mut audio = None;
        if let Some(rx) = local.audio {
            let ssrc = rand::random::<u32>();
            let track = local_track(RtpCodecKind::Audio, codecs::opus(), ssrc)?;
            let sender = pc
                .add_track(track.clone() as Arc<dyn TrackLocal>)
                .await
                .map_err(rtc_err)?;
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
            tasks,
            remote_tasks,
            send_counters: local.counters,
            video_clock: 90_000,
            estimate,
            remb,
            rate,
            flow,
            video_codecs,
            routes,
            ends,
            events: ev_tx,
        };
        if let Some(rx) = local.video {
            session.add_video(rx).await?;
        }
        Ok((session, ev_rx))
    }

    pub fn control(&self) -> &Arc<MediaControl> {
        &self.control
    }

    /// Starts sending the call's encoded video (`rx`): a new track and its writer. In a call
    /// under way (an audio call turning the camera on) the leg's offerer then renegotiates.
    pub async fn add_video(
        &mut self,
        rx: mpsc::Receiver<Encoded>,
    ) -> Result<(), MediaSessionError> {
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

    /// The ICE username fragment the peer last described (a new one: it restarted its ICE).
    pub fn remote_ice_ufrag(&self) -> Option<&str> {
        self.negotiation.remote_ice_ufrag()
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

    /// Sends the remote tracks of stream `id` (a conference feed) to `remote`, from now on.
    pub fn route_stream(
        &mut self,
        id: &str,
        remote: &RemoteMedia,
    ) -> Result<(), MediaSessionError> {
        let Routes::ByStream(map) = self.routes.as_ref() else {
            return Ok(());
        };
        let end = RemoteEnd::start(remote, self.events.clone(), self.flow.clone())?;
        map.lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.to_string(), end.ctx.clone());
        if let Some(old) = self.ends.insert(id.to_string(), end) {
            join_off_runtime(vec![old.stop()]);
        }
        Ok(())
    }

    /// Stops receiving stream `id` (its party left the conference).
    pub fn unroute_stream(&mut self, id: &str) {
        if let Routes::ByStream(map) = self.routes.as_ref() {
            map.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
        }
        if let Some(end) = self.ends.remove(id) {
            join_off_runtime(vec![end.stop()]);
        }
    }

    /// Stops the receive threads and closes the connection (the call's encoders go on for
    /// the other legs).
    pub async fn close(mut self) {
        self.stop.store(true, Ordering::Relaxed);
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
        let threads: Vec<_> = self.ends.drain().map(|(_, e)| e.stop()).collect();
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}

/// Joins stopped decoder threads without blocking the runtime.
fn join_off_runtime(threads: Vec<std::thread::JoinHandle<()>>) {
    tokio::task::spawn_blocking(move || {
        for t in threads {
            let _ = t.join();
        }
    });
}
