//! Where decoded (or local preview) pictures go: the latest frame for displays, and counters.

use crate::frame::VideoFrame;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Keeps the newest picture (displays read it at their own rate) and counts what passed.
#[derive(Default)]
pub struct FrameSink {
    latest: Mutex<Option<Arc<VideoFrame>>>,
    frames: AtomicU64,
    /// `width << 32 | height` of the last frame.
    size: AtomicU64,
}

impl FrameSink {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn push(&self, frame: VideoFrame) {
        self.size.store(
            ((frame.width as u64) << 32) | frame.height as u64,
            Ordering::Relaxed,
        );
        self.frames.fetch_add(1, Ordering::Relaxed);
        let mut l = self.latest.lock().unwrap_or_else(|p| p.into_inner());
        *l = Some(Arc::new(frame));
    }

    /// The newest picture, shared without copying.
    pub fn latest(&self) -> Option<Arc<VideoFrame>> {
        self.latest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    /// `(width, height)` of the last picture, zeros before the first.
    pub fn size(&self) -> (u32, u32) {
        let s = self.size.load(Ordering::Relaxed);
        ((s >> 32) as u32, s as u32)
    }
}
