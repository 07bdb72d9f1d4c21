//! Each leg's video decoder thread (its audio goes through the call's mixer, `mix`).

use super::RecvCounters;
use bytes::Bytes;
use media::codec::{VideoCodec, VideoDecoder};
use media::stamp;
use media::FrameSink;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
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
