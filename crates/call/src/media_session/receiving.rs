//! Receiving: each remote track's RTP into frames for the decoder threads, and keyframe
//! requests back to the sender.

use super::events::Flow;
use super::MediaSessionEvent;
use crate::assembler::{AnyDepacketizer, FrameAssembler};
use crate::pipeline::RecvCounters;
use bytes::Bytes;
use media::codec::VideoCodec;
use peer::codecs;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

#[derive(Clone)]
pub(super) struct RemoteTrackCtx {
    pub(super) events: mpsc::Sender<MediaSessionEvent>,
    pub(super) flow: Arc<Flow>,
    pub(super) video_tx: std::sync::mpsc::SyncSender<(VideoCodec, Bytes)>,
    pub(super) audio_jb: Arc<std::sync::Mutex<media::jitter::JitterBuffer>>,
    pub(super) need_keyframe: Arc<Notify>,
    pub(super) counters: Arc<RecvCounters>,
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
