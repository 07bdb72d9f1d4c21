//! Sending: encoded media into the local tracks, and the peer's keyframe requests into the
//! encoder.

use super::events::Flow;
use super::{rtc_err, MediaSessionError, RTP_MTU};
use crate::pipeline::{Encoded, MediaControl};
use media::codec::VideoCodec;
use peer::{codecs, media_track};
use rtc::media::Sample;
use rtc::rtp::packetizer::Packetizer;
use rtc::rtp::sequence::Sequencer;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};

/// Writes encoded media into a local track once negotiation has fixed the payload type.
pub(super) fn spawn_writer(
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
pub(super) fn spawn_video_writer(
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
pub(super) fn spawn_keyframe_listener(
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

pub(super) struct LocalTrack {
    pub(super) sender: Arc<dyn webrtc::rtp_transceiver::RtpSender>,
    pub(super) pt: Arc<AtomicU8>,
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
