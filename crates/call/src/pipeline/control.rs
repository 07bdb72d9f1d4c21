//! Live controls shared by the manager and the media threads.

use crate::quality::Quality;
use media::codec::VideoCodec;
use media::VideoSource;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

/// Live controls shared by the manager and the media threads.
pub struct MediaControl {
    quality: Mutex<Quality>,
    pub(super) quality_version: AtomicU64,
    /// The congestion controller's estimate (bps, 0 before the first one).
    estimate_bps: AtomicU64,
    /// Members the encoder's output goes to (a mesh call sends one copy to each).
    receivers: AtomicU32,
    /// The output goes once to a conference server, which forwards it to `receivers`.
    conference: AtomicBool,
    pub audio_enabled: AtomicBool,
    pub video_enabled: AtomicBool,
    pub(super) keyframe: AtomicBool,
    /// A keyframe a receiver cannot start without (a new connection, a new codec): not paced.
    pub(super) keyframe_now: AtomicBool,
    stop: AtomicBool,
    /// The video codec to encode: the preferred one until negotiation settles it.
    video_codec: AtomicU8,
    /// A camera to switch to at the next frame (same track: no renegotiation).
    next_camera: Mutex<Option<Box<dyn VideoSource>>>,
}

impl MediaControl {
    pub fn new(q: Quality, audio: bool, video: bool) -> Arc<Self> {
        Arc::new(Self {
            quality: Mutex::new(q),
            quality_version: AtomicU64::new(0),
            estimate_bps: AtomicU64::new(0),
            receivers: AtomicU32::new(1),
            conference: AtomicBool::new(false),
            audio_enabled: AtomicBool::new(audio),
            video_enabled: AtomicBool::new(video),
            keyframe: AtomicBool::new(true),
            keyframe_now: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            video_codec: AtomicU8::new(0),
            next_camera: Mutex::new(None),
        })
    }

    /// Hands the video thread another camera; it switches at its next frame.
    pub fn replace_camera(&self, source: Box<dyn VideoSource>) {
        *self.next_camera.lock().unwrap_or_else(|p| p.into_inner()) = Some(source);
    }

    pub(super) fn take_new_camera(&self) -> Option<Box<dyn VideoSource>> {
        self.next_camera
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Switches the encoder to `c` (from its next frame, starting with a keyframe).
    pub fn set_video_codec(&self, c: VideoCodec) {
        let v = VideoCodec::ALL
            .iter()
            .position(|x| *x == c)
            .map_or(0, |i| i as u8 + 1);
        self.video_codec.store(v, Ordering::Release);
    }

    pub fn video_codec(&self) -> Option<VideoCodec> {
        match self.video_codec.load(Ordering::Acquire) {
            0 => None,
            v => VideoCodec::ALL.get(usize::from(v) - 1).copied(),
        }
    }

    pub fn quality(&self) -> Quality {
        *self.quality.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// New targets; the encoder threads pick them up at their next frame.
    pub fn set_quality(&self, q: Quality) {
        *self.quality.lock().unwrap_or_else(|p| p.into_inner()) = q;
        self.quality_version.fetch_add(1, Ordering::Release);
    }

    /// What the video encoder aims for now: the user's settings, shared among the receivers,
    /// within the bandwidth estimate.
    pub fn effective_quality(&self) -> Quality {
        let e = self.estimate_bps.load(Ordering::Relaxed);
        let receivers = self.receivers.load(Ordering::Relaxed);
        let q = if self.conference.load(Ordering::Relaxed) {
            crate::quality::for_conference(self.quality(), receivers)
        } else {
            crate::quality::for_receivers(self.quality(), receivers)
        };
        crate::quality::adapt(q, (e > 0).then_some(e))
    }

    /// How many members the encoder sends to; the encoder follows at its next frame.
    pub fn set_receivers(&self, n: u32) {
        if self.receivers.swap(n.max(1), Ordering::Relaxed) != n.max(1) {
            self.quality_version.fetch_add(1, Ordering::Release);
        }
    }

    /// Whether the output goes to a conference server (one upload, forwarded to the receivers).
    pub fn set_conference(&self, on: bool) {
        if self.conference.swap(on, Ordering::Relaxed) != on {
            self.quality_version.fetch_add(1, Ordering::Release);
        }
    }

    /// A new bandwidth estimate; the encoder follows when it changes what it should do by more
    /// than 10% (or the picture size), so small wobbles do not reconfigure it.
    pub fn set_estimate(&self, bps: u64) {
        let before = self.effective_quality();
        let old = self.estimate_bps.swap(bps, Ordering::Relaxed);
        let after = self.effective_quality();
        let cap = self.quality().video_kbps;
        let moved = (after.width, after.height, after.fps)
            != (before.width, before.height, before.fps)
            || after.video_kbps.abs_diff(before.video_kbps) * 10 > before.video_kbps
            // Reaching the user's cap always counts, so a small last step is not left out.
            || (after.video_kbps == cap) != (before.video_kbps == cap);
        if moved {
            self.quality_version.fetch_add(1, Ordering::Release);
        } else if old != 0 {
            self.estimate_bps.store(old, Ordering::Relaxed);
        }
    }

    /// A receiver asks for a keyframe (PLI/FIR, loss): granted at most every 300 ms.
    pub fn request_keyframe(&self) {
        self.keyframe.store(true, Ordering::Relaxed);
    }

    /// The receiver has nothing to decode from yet (the connection or codec is new): the next
    /// frame is a keyframe whatever was sent before.
    pub fn request_keyframe_now(&self) {
        self.keyframe_now.store(true, Ordering::Relaxed);
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    pub(super) fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }
}
