//! A camera as a `VideoSource`: a capture thread owns the device (nokhwa's camera is not Send),
//! converts each picture to I420 and keeps only the newest one for the video thread.

use super::convert::{mjpeg_to_i420, nv12_to_i420, rgb_to_i420, yuyv_to_i420, ConvertError};
use super::CameraInfo;
use crate::frame::VideoFrame;
use crate::source::{SourceError, VideoSource};
use nokhwa::utils::{
    CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, TrySendError};
use std::sync::Arc;
use std::time::Duration;

/// Formats we convert, in the order we prefer them.
pub(super) const FORMATS: [FrameFormat; 4] = [
    FrameFormat::NV12,
    FrameFormat::YUYV,
    FrameFormat::MJPEG,
    FrameFormat::RAWRGB,
];

/// A camera that delivers nothing for this long is treated as gone.
const STALL: Duration = Duration::from_secs(3);

pub struct CameraSource {
    name: String,
    frames: Receiver<Result<VideoFrame, SourceError>>,
    stop: Arc<AtomicBool>,
}

fn to_i420(
    format: FrameFormat,
    w: usize,
    h: usize,
    data: &[u8],
) -> Result<VideoFrame, ConvertError> {
    match format {
        FrameFormat::NV12 => nv12_to_i420(w, h, data),
        FrameFormat::YUYV => yuyv_to_i420(w, h, data),
        FrameFormat::MJPEG => mjpeg_to_i420(data),
        FrameFormat::RAWRGB => rgb_to_i420(w, h, data),
        FrameFormat::RAWBGR => rgb_to_i420(
            w,
            h,
            &data
                .chunks_exact(3)
                .flat_map(|p| [p[2], p[1], p[0]])
                .collect::<Vec<_>>(),
        ),
        FrameFormat::GRAY => {
            let mut out = data.get(..w * h).unwrap_or_default().to_vec();
            out.resize(w * h + w * h / 2, 128);
            Ok(VideoFrame {
                width: w,
                height: h,
                data: out,
                capture_us: crate::now_micros(),
            })
        }
    }
}

impl CameraSource {
    /// Starts capturing from `cam` at the size and rate closest to the request.
    pub fn open(cam: CameraInfo, width: u32, height: u32, fps: u32) -> Self {
        let (tx, frames) = sync_channel(1);
        let stop = Arc::new(AtomicBool::new(false));
        let name = cam.name.clone();
        let halt = stop.clone();
        let spawned = std::thread::Builder::new()
            .name("simu-camera".into())
            .spawn(move || {
                let want =
                    CameraFormat::new(Resolution::new(width, height), FrameFormat::MJPEG, fps);
                let request =
                    RequestedFormat::with_formats(RequestedFormatType::Closest(want), &FORMATS);
                let mut camera = match nokhwa::Camera::new(CameraIndex::Index(cam.index), request)
                    .and_then(|mut c| c.open_stream().map(|_| c))
                {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = tx.send(Err(SourceError::Gone(format!("{}: {e}", cam.name))));
                        return;
                    }
                };
                let f = camera.camera_format();
                tracing::info!(camera = %cam.name, format = %f, "camera open");
                while !halt.load(Ordering::Relaxed) {
                    let item = match camera.frame() {
                        Ok(buf) => {
                            let res = buf.resolution();
                            to_i420(
                                buf.source_frame_format(),
                                res.width() as usize,
                                res.height() as usize,
                                buf.buffer(),
                            )
                            .map_err(|e| SourceError::Device(e.to_string()))
                        }
                        Err(e) => Err(SourceError::Gone(format!("{}: {e}", cam.name))),
                    };
                    let gone = matches!(item, Err(SourceError::Gone(_)));
                    match tx.try_send(item) {
                        // The video thread has not taken the last picture: it is stale, drop this one.
                        Ok(()) | Err(TrySendError::Full(_)) => {}
                        Err(TrySendError::Disconnected(_)) => break,
                    }
                    if gone {
                        break;
                    }
                }
                let _ = camera.stop_stream();
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no camera thread");
        }
        Self { name, frames, stop }
    }
}

impl VideoSource for CameraSource {
    fn next_frame(&mut self) -> Result<VideoFrame, SourceError> {
        loop {
            match self.frames.recv_timeout(STALL) {
                Ok(Ok(f)) => return Ok(f),
                Ok(Err(SourceError::Device(e))) => {
                    tracing::debug!(error = %e, "camera picture skipped")
                }
                Ok(Err(e)) => return Err(e),
                Err(RecvTimeoutError::Timeout) => {
                    return Err(SourceError::Gone(format!(
                        "{}: no picture for {} s",
                        self.name,
                        STALL.as_secs()
                    )))
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(SourceError::Gone(format!("{}: stopped", self.name)))
                }
            }
        }
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}

impl Drop for CameraSource {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
