//! How fast to send. With transport-wide feedback (every modern peer) the delay-based
//! [`DelayEstimator`] steers; a peer that sends none leaves the resend-ratio
//! [`RateController`] in charge.

mod delay;
mod resend;
#[cfg(test)]
mod sim;
mod trendline;

pub use delay::{DelayEstimator, EstimateReadout};
pub use resend::RateController;

/// Per-packet overhead on the wire: RTP + SRTP + UDP + IP headers (~60 bytes) on ~1200-byte
/// video packets, and on 50 audio packets a second (~24 kbit/s).
const VIDEO_OVERHEAD: f64 = 0.05;
const AUDIO_HEADERS_BPS: u64 = 24_000;

/// What the encoders may spend (payload, audio included) out of an estimate of the wire rate.
pub fn media_budget(estimate_bps: u64) -> u64 {
    let payload = estimate_bps.saturating_sub(AUDIO_HEADERS_BPS) as f64 / (1.0 + VIDEO_OVERHEAD);
    payload as u64
}
