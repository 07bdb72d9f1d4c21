//! The call's capture and encoder threads (and the settings preview).

use super::{sleep_until, Encoded, MediaControl, MediaTrouble, SendCounters};
use crate::fanout::Fanout;
use crate::quality::Quality;
use bytes::Bytes;
use media::codec::{VideoCodec, VideoEncodeSettings, VideoEncoder};
use media::opus_codec::OpusEncoder;
use media::{AudioFrame, AudioSource, FrameSink, VideoFrame, VideoSource};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Keyframes at most one per `KEYFRAME_GAP`: a receiver that asks again (PLI after PLI while
/// the first keyframe is in flight, a burst of probes read as loss) gets the one on its way.
const KEYFRAME_GAP: Duration = Duration::from_millis(300);

/// Grants keyframe requests no sooner than `KEYFRAME_GAP` after the last keyframe; a request
/// made sooner waits (it is not lost).
#[derive(Default)]
pub(super) struct KeyframePacer {
    last: Option<Instant>,
}

impl KeyframePacer {
    /// Whether to make the next frame a keyframe (clears the request if so).
    pub(super) fn take(&mut self, ctl: &MediaControl, now: Instant) -> bool {
        if ctl.keyframe_now.swap(false, Ordering::Relaxed) {
            ctl.keyframe.store(false, Ordering::Relaxed);
            return true;
        }
        let due = self
            .last
            .is_none_or(|t| now.saturating_duration_since(t) >= KEYFRAME_GAP);
        due && ctl.keyframe.swap(false, Ordering::Relaxed)
    }

    /// A keyframe went out (asked for, or the encoder's own: a new size or codec).
    pub(super) fn sent(&mut self, now: Instant) {
        self.last = Some(now);
    }
}

/// Captures, scales and encodes video at the target rate until stopped.
pub fn spawn_video_sender(
    mut source: Box<dyn VideoSource>,
    ctl: Arc<MediaControl>,
    preview: Arc<FrameSink>,
    out: Arc<Fanout>,
    counters: Arc<SendCounters>,
    errors: mpsc::Sender<MediaTrouble>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("simu-video-enc".into()).spawn(move || {
        let mut q = ctl.effective_quality();
        let mut version = ctl.quality_version.load(Ordering::Acquire);
        let settings = |q: &Quality| VideoEncodeSettings { bitrate_bps: q.video_kbps * 1000, fps: q.fps as f32 };
        let mut enc = match VideoEncoder::new(ctl.video_codec().unwrap_or(VideoCodec::H264), settings(&q)) {
            Ok(e) => e,
            Err(e) => {
                let _ = errors.try_send(MediaTrouble::Error(e.to_string()));
                return;
            }
        };
        let mut source_ok = true;
        let mut keyframes = KeyframePacer::default();
        let mut next = Instant::now();
        while !ctl.stopped() {
            let v = ctl.quality_version.load(Ordering::Acquire);
            if v != version {
                version = v;
                q = ctl.effective_quality();
                if let Err(e) = enc.reconfigure(settings(&q)) {
                    let _ = errors.try_send(MediaTrouble::Error(e.to_string()));
                    return;
                }
            }
            if let Some(c) = ctl.video_codec().filter(|c| *c != enc.codec()) {
                match VideoEncoder::new(c, settings(&q)) {
                    Ok(e) => {
                        tracing::debug!(codec = %c, "video encoder switched");
                        enc = e;
                    }
                    Err(e) => {
                        let _ = errors.try_send(MediaTrouble::Error(e.to_string()));
                        return;
                    }
                }
            }
            if let Some(s) = ctl.take_new_camera() {
                tracing::info!(camera = %s.name(), "camera switched");
                source = s;
                source_ok = true;
            }
            let interval = Duration::from_secs_f64(1.0 / f64::from(q.fps.max(1)));
            sleep_until(next);
            next += interval;
            let now = Instant::now();
            if now > next + interval {
                next = now + interval;
            }
            let frame = if !ctl.video_enabled.load(Ordering::Relaxed) {
                let mut f = VideoFrame::black(q.width as usize, q.height as usize);
                f.capture_us = media::now_micros();
                f
            } else if source_ok {
                match source.next_frame() {
                    Ok(f) => f,
                    Err(e) => {
                        source_ok = false;
                        tracing::warn!(error = %e, camera = %source.name(), "camera stopped; sending a black picture until another is chosen");
                        let _ = errors.try_send(MediaTrouble::CameraLost(format!("{}: {e}", source.name())));
                        VideoFrame::black(q.width as usize, q.height as usize)
                    }
                }
            } else {
                VideoFrame::black(q.width as usize, q.height as usize)
            };
            let frame = if frame.width != q.width as usize || frame.height != q.height as usize {
                media::scale::resize(&frame, q.width as usize, q.height as usize)
            } else {
                frame
            };
            // No leg has room for another frame: skip this picture before encoding it, so every
            // frame the encoder references reaches the receivers (no keyframe needed to recover).
            if !out.has_room() {
                counters.video_dropped.fetch_add(1, Ordering::Relaxed);
                preview.push(frame);
                continue;
            }
            if keyframes.take(&ctl, Instant::now()) {
                enc.request_keyframe();
            }
            let t = Instant::now();
            let (data, key) = match enc.encode(&frame) {
                Ok((d, k)) => (Bytes::copy_from_slice(d), k),
                Err(e) => {
                    counters.encode_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, "video encode failed");
                    continue;
                }
            };
            counters.encode_us.fetch_add(t.elapsed().as_micros() as u64, Ordering::Relaxed);
            counters.encoded_size.store(((frame.width as u32) << 16) | frame.height as u32, Ordering::Relaxed);
            counters.encoded_fps.store(q.fps, Ordering::Relaxed);
            counters.video_payload_bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
            preview.push(frame);
            if data.is_empty() {
                continue;
            }
            if key {
                counters.keyframes.fetch_add(1, Ordering::Relaxed);
                keyframes.sent(Instant::now());
            }
            let sent = out.send(&Encoded { data, duration: interval, codec: Some(enc.codec()), key });
            if sent.delivered > 0 {
                counters.video_frames.fetch_add(1, Ordering::Relaxed);
            }
            // A leg whose queue was full lost a frame its decoder references: ask for a keyframe.
            if sent.full > 0 {
                counters.video_dropped.fetch_add(1, Ordering::Relaxed);
                ctl.request_keyframe();
            }
        }
    })
}

/// Captures, cleans (echo, noise, level: `apm`) and encodes 20 ms Opus packets until stopped.
pub fn spawn_audio_sender(
    mut source: Box<dyn AudioSource>,
    apm: Option<media::apm::AudioProcessor>,
    ctl: Arc<MediaControl>,
    out: Arc<Fanout>,
    errors: mpsc::Sender<MediaTrouble>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("simu-audio-enc".into())
        .spawn(move || {
            let mut kbps = ctl.quality().audio_kbps;
            let mut enc = match OpusEncoder::new(kbps * 1000) {
                Ok(e) => e,
                Err(e) => {
                    let _ = errors.try_send(MediaTrouble::Error(e.to_string()));
                    return;
                }
            };
            let frame_len = Duration::from_millis(u64::from(media::AUDIO_FRAME_MS));
            let mut next = Instant::now();
            let mut source_ok = true;
            while !ctl.stopped() {
                sleep_until(next);
                next += frame_len;
                if Instant::now() > next + frame_len * 5 {
                    next = Instant::now() + frame_len;
                }
                let want = ctl.quality().audio_kbps;
                if want != kbps {
                    if let Err(e) = enc.set_bitrate(want * 1000) {
                        tracing::warn!(error = %e, "audio bitrate change refused");
                    }
                    kbps = want;
                }
                let mut frame = if source_ok {
                    source.next_frame().unwrap_or_else(|e| {
                        source_ok = false;
                        let _ = errors.try_send(MediaTrouble::Error(format!("microphone: {e}")));
                        AudioFrame {
                            samples: vec![0; media::AUDIO_FRAME_SAMPLES],
                            capture_us: 0,
                        }
                    })
                } else {
                    AudioFrame {
                        samples: vec![0; media::AUDIO_FRAME_SAMPLES],
                        capture_us: 0,
                    }
                };
                if let Some(a) = &apm {
                    a.process_capture(&mut frame);
                }
                if !ctl.audio_enabled.load(Ordering::Relaxed) {
                    frame.samples.fill(0);
                }
                let data = match enc.encode(&frame) {
                    Ok(d) => Bytes::copy_from_slice(d),
                    Err(e) => {
                        tracing::warn!(error = %e, "audio encode failed");
                        continue;
                    }
                };
                out.send(&Encoded {
                    data,
                    duration: frame_len,
                    codec: None,
                    key: false,
                });
            }
        })
}

/// Feeds a camera into a display sink at its own pace (a settings preview; no encoding).
pub fn spawn_preview(
    mut source: Box<dyn VideoSource>,
    sink: Arc<FrameSink>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("simu-preview".into())
        .spawn(move || {
            let frame_len = Duration::from_millis(33);
            let mut next = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                sleep_until(next);
                next += frame_len;
                match source.next_frame() {
                    Ok(f) => sink.push(f),
                    Err(e) => {
                        tracing::warn!(error = %e, "camera preview stopped");
                        break;
                    }
                }
            }
        })
}
