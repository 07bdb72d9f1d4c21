//! What the send and receive threads count, for stats and benchmarks.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

/// What the send side counts (for stats and benchmarks).
#[derive(Default)]
pub struct SendCounters {
    pub video_frames: AtomicU64,
    pub video_dropped: AtomicU64,
    pub keyframes: AtomicU64,
    pub encode_errors: AtomicU64,
    /// `width << 16 | height` of what is being encoded.
    pub encoded_size: AtomicU32,
    pub encoded_fps: AtomicU32,
    pub encode_us: AtomicU64,
    /// Encoded video handed to the network (the rate controller compares what went out).
    pub video_payload_bytes: AtomicU64,
}

/// What the receive side counts for one media leg: created with the leg (`for_call`), so
/// nothing of one call leaks into the next.
#[derive(Default)]
pub struct RecvCounters {
    pub video_frames: AtomicU64,
    pub video_decode_errors: AtomicU64,
    pub audio_frames: AtomicU64,
    pub audio_decode_errors: AtomicU64,
    pub audio_level_centi_db: AtomicU64,
    /// Frames concealed (lost, or stretched while the jitter buffer refilled).
    pub audio_concealed: AtomicU64,
    /// Lost frames rebuilt from the next packet's in-band FEC.
    pub audio_fec_recovered: AtomicU64,
    /// The jitter buffer's current playout delay target.
    pub audio_jitter_target_ms: AtomicU64,
    pub last_stamp_counter: AtomicU64,
    pub stamped_frames: AtomicU64,
    /// Keyframe requests (PLI) sent to the peer.
    pub plis_sent: AtomicU64,
    /// RTP payload received from this party, audio and video (no headers): its share of the
    /// downlink, and what it sent us.
    pub payload_bytes: AtomicU64,
    /// Which call these counts are for: bumped by every `reset`.
    call: AtomicU64,
    latencies: Mutex<LatencyRing>,
}

/// Glass-to-glass delays of the most recent stamped frames, and how many were ever recorded (so a
/// reader can ask for what is new however long the call runs).
#[derive(Default)]
pub(super) struct LatencyRing {
    recent: VecDeque<u64>,
    total: u64,
}

/// Delays kept (about 2 minutes at 30 fps).
pub(super) const LATENCY_RING: usize = 4096;

/// A copy of the receive counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecvSnapshot {
    pub video_frames: u64,
    pub video_decode_errors: u64,
    pub audio_frames: u64,
    pub audio_decode_errors: u64,
    pub audio_concealed: u64,
    pub audio_fec_recovered: u64,
    pub audio_jitter_target_ms: u64,
    pub stamped_frames: u64,
    pub plis_sent: u64,
}

impl RecvCounters {
    pub(super) fn push_latency(&self, us: u64) {
        let mut l = self.latencies.lock().unwrap_or_else(|p| p.into_inner());
        if l.recent.len() >= LATENCY_RING {
            l.recent.pop_front();
        }
        l.recent.push_back(us);
        l.total += 1;
    }

    /// Glass-to-glass latencies of recent stamped frames, microseconds.
    pub fn latencies_us(&self) -> Vec<u64> {
        self.latencies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .recent
            .iter()
            .copied()
            .collect()
    }

    /// The latencies recorded after the first `seen` (of those still kept), and the new count to
    /// pass next time.
    pub fn latencies_since(&self, seen: u64) -> (Vec<u64>, u64) {
        let l = self.latencies.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = l.total.saturating_sub(seen).min(l.recent.len() as u64) as usize;
        let out = l
            .recent
            .iter()
            .skip(l.recent.len() - fresh)
            .copied()
            .collect();
        (out, l.total)
    }

    /// Last decoded audio level in dBFS.
    pub fn audio_level_dbfs(&self) -> f32 {
        -(self.audio_level_centi_db.load(Ordering::Relaxed) as f32) / 100.0
    }

    pub fn snapshot(&self) -> RecvSnapshot {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RecvSnapshot {
            video_frames: get(&self.video_frames),
            video_decode_errors: get(&self.video_decode_errors),
            audio_frames: get(&self.audio_frames),
            audio_decode_errors: get(&self.audio_decode_errors),
            audio_concealed: get(&self.audio_concealed),
            audio_fec_recovered: get(&self.audio_fec_recovered),
            audio_jitter_target_ms: get(&self.audio_jitter_target_ms),
            stamped_frames: get(&self.stamped_frames),
            plis_sent: get(&self.plis_sent),
        }
    }

    /// Fresh counts for media leg `call` (each leg has its own, so a closing leg's threads
    /// cannot count into the next one's).
    pub fn for_call(call: u64) -> Self {
        Self {
            call: AtomicU64::new(call),
            ..Self::default()
        }
    }

    /// Which leg these counts are for (so a reader can tell a new call's counts apart).
    pub fn call_id(&self) -> u64 {
        self.call.load(Ordering::Acquire)
    }
}
