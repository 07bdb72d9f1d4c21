//! Receiving: each remote track's RTP into frames for the decoder threads, and keyframe
//! requests back to the sender.

use super::events::Flow;
use super::{MediaSessionError, MediaSessionEvent, RemoteMedia};
use crate::assembler::{AnyDepacketizer, FrameAssembler};
use crate::pipeline::{self, MixInput, RecvCounters};
use bytes::Bytes;
use media::codec::VideoCodec;
use peer::codecs;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

#[derive(Clone)]
pub(super) struct RemoteTrackCtx {
    pub(super) events: mpsc::Sender<MediaSessionEvent>,
    pub(super) flow: Arc<Flow>,
    pub(super) video_tx: std::sync::mpsc::SyncSender<(VideoCodec, Bytes)>,
    pub(super) audio_jb: Arc<Mutex<media::jitter::JitterBuffer>>,
    pub(super) need_keyframe: Arc<Notify>,
    pub(super) counters: Arc<RecvCounters>,
}

/// One remote party's receive side: its video decoder thread and its place in the audio mix.
pub(super) struct RemoteEnd {
    pub(super) ctx: RemoteTrackCtx,
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
    _mixed: MixInput,
}

impl RemoteEnd {
    pub(super) fn start(
        remote: &RemoteMedia,
        events: mpsc::Sender<MediaSessionEvent>,
        flow: Arc<Flow>,
    ) -> Result<Self, MediaSessionError> {
        let (video_tx, video_rx) = std::sync::mpsc::sync_channel::<(VideoCodec, Bytes)>(8);
        let audio_jb = Arc::new(Mutex::new(media::jitter::JitterBuffer::default()));
        let need_keyframe = Arc::new(Notify::new());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = pipeline::spawn_video_receiver(
            video_rx,
            stop.clone(),
            remote.video.clone(),
            remote.counters.clone(),
            need_keyframe_sender(need_keyframe.clone()),
        )?;
        let mixed = remote
            .audio
            .join(audio_jb.clone(), remote.counters.clone())?;
        Ok(Self {
            ctx: RemoteTrackCtx {
                events,
                flow,
                video_tx,
                audio_jb,
                need_keyframe,
                counters: remote.counters.clone(),
            },
            stop,
            thread,
            _mixed: mixed,
        })
    }

    /// Stops decoding and leaves the mix; the thread is returned to be joined off the runtime.
    pub(super) fn stop(self) -> std::thread::JoinHandle<()> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
    }
}

/// Where remote tracks go: to the one party of a 1:1 leg, or (a conference subscription) to
/// the party whose feed the track's stream id names (Janus `use_msid`, protocol.md §4.3).
pub(super) enum Routes {
    One(RemoteTrackCtx),
    ByStream(Mutex<HashMap<String, RemoteTrackCtx>>),
}

impl Routes {
    pub(super) async fn for_track(&self, track: &Arc<dyn TrackRemote>) -> Option<RemoteTrackCtx> {
        match self {
            Routes::One(ctx) => Some(ctx.clone()),
            Routes::ByStream(map) => {
                let stream = track.stream_id().await;
                let found = map
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(stream.as_str())
                    .cloned();
                if found.is_none() {
                    tracing::warn!(%stream, "a remote track of no known feed; ignored");
                }
                found
            }
        }
    }
}

pub(super) async fn send_pli(track: &Arc<dyn TrackRemote>, ssrc: u32, counters: &RecvCounters) {
    match peer::request_keyframe(track, ssrc).await {
        Ok(()) => {
            counters.plis_sent.fetch_add(1, Ordering::Relaxed);
        }
        Err(e) => tracing::debug!(error = %e, "PLI not sent"),
    }
}

/// Reassembles and forwards one remote track's media until it ends.
pub(super) async fn run_remote_track(
    track: Arc<dyn TrackRemote>,
    kind: RtpCodecKind,
    ctx: RemoteTrackCtx,
) {
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
                    ctx.counters.payload_bytes.fetch_add(pkt.payload.len() as u64, Ordering::Relaxed);
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

/// The decoder thread signals "need a keyframe" through a bounded channel; forward it to the
/// remote video task's `Notify`.
pub(super) fn need_keyframe_sender(notify: Arc<Notify>) -> mpsc::Sender<()> {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            notify.notify_one();
        }
    });
    tx
}
