//! Each leg's decoder threads: video into its sink, audio out of the jitter buffer.

use super::playback::Playback;
use super::{sleep_until, AudioOutput, RecvCounters};
use bytes::Bytes;
use media::codec::{VideoCodec, VideoDecoder};
use media::jitter::{JitterBuffer, Playout};
use media::opus_codec::OpusDecoder;
use media::stamp;
use media::{AudioFrame, FrameSink};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Waits for the next item, giving up when the session stops or the sender is gone.
pub(super) fn next_item<T>(rx: &std::sync::mpsc::Receiver<T>, stop: &AtomicBool) -> Option<T> {
    loop {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(v) => return Some(v),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// Decodes received video frames (of the codec each is tagged with) into the remote sink; asks
/// for a keyframe on trouble.
pub fn spawn_video_receiver(
    rx: std::sync::mpsc::Receiver<(VideoCodec, Bytes)>,
    stop: Arc<AtomicBool>,
    sink: Arc<FrameSink>,
    counters: Arc<RecvCounters>,
    need_keyframe: mpsc::Sender<()>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("simu-video-dec".into())
        .spawn(move || {
            let mut dec: Option<VideoDecoder> = None;
            while let Some((codec, au)) = next_item(&rx, &stop) {
                if dec.as_ref().is_none_or(|d| d.codec() != codec) {
                    match VideoDecoder::new(codec) {
                        Ok(d) => dec = Some(d),
                        Err(e) => {
                            tracing::error!(error = %e, "no video decoder");
                            return;
                        }
                    }
                }
                let Some(d) = dec.as_mut() else { continue };
                match d.decode(&au) {
                    Ok(Some(mut frame)) => {
                        let now = media::now_micros();
                        if let Some(s) = stamp::read(&frame) {
                            frame.capture_us = s.capture_us;
                            counters
                                .last_stamp_counter
                                .store(u64::from(s.counter), Ordering::Relaxed);
                            counters.stamped_frames.fetch_add(1, Ordering::Relaxed);
                            if now >= s.capture_us && now - s.capture_us < 10_000_000 {
                                counters.push_latency(now - s.capture_us);
                            }
                        }
                        counters.video_frames.fetch_add(1, Ordering::Relaxed);
                        sink.push(frame);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        counters.video_decode_errors.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(error = %e, "video decode failed; asking for a keyframe");
                        let _ = need_keyframe.try_send(());
                    }
                }
            }
        })
}

/// Plays received audio out of the jitter buffer on a 20 ms clock: decodes each packet, rebuilds
/// single losses from the next packet's FEC, conceals the rest, and plays when an output is set.
pub fn spawn_audio_receiver(
    apm: Option<media::apm::AudioProcessor>,
    jb: Arc<Mutex<JitterBuffer>>,
    stop: Arc<AtomicBool>,
    counters: Arc<RecvCounters>,
    output: Option<Arc<AudioOutput>>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("simu-audio-dec".into())
        .spawn(move || {
            let mut dec = match OpusDecoder::new() {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(error = %e, "no Opus decoder");
                    return;
                }
            };
            let mut playback = output.map(Playback::new);
            let frame_len = Duration::from_millis(u64::from(media::AUDIO_FRAME_MS));
            let mut next = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                sleep_until(next);
                next += frame_len;
                if Instant::now() > next + frame_len * 5 {
                    next = Instant::now() + frame_len;
                }
                let (playout, target, stats) = {
                    let mut j = jb.lock().unwrap_or_else(|p| p.into_inner());
                    let p = j.pop();
                    (p, j.target(), j.stats)
                };
                counters
                    .audio_jitter_target_ms
                    .store(target.as_millis() as u64, Ordering::Relaxed);
                counters
                    .audio_concealed
                    .store(stats.concealed + stats.stretched, Ordering::Relaxed);
                counters
                    .audio_fec_recovered
                    .store(stats.fec, Ordering::Relaxed);
                let pcm = match &playout {
                    Playout::Waiting => continue,
                    Playout::Packet(p) => dec.decode(p),
                    Playout::Fec(next_packet) => dec.decode_fec(next_packet),
                    Playout::Conceal => dec.conceal(),
                };
                match pcm {
                    Ok(samples) => {
                        let frame = AudioFrame {
                            samples: samples.to_vec(),
                            capture_us: 0,
                        };
                        let level = frame.level_dbfs();
                        counters
                            .audio_level_centi_db
                            .store((-level * 100.0).max(0.0) as u64, Ordering::Relaxed);
                        counters.audio_frames.fetch_add(1, Ordering::Relaxed);
                        if let Some(a) = &apm {
                            a.analyze_render(&frame);
                        }
                        if let Some(p) = &mut playback {
                            p.play(&frame);
                        }
                    }
                    Err(e) => {
                        counters.audio_decode_errors.fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(error = %e, "audio decode failed");
                    }
                }
            }
        })
}
