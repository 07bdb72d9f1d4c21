//! Media for calls: frames; sources (cameras through V4L2, microphones through cpal, and the
//! synthetic pattern and tone where there is no device); codecs (H.264 via OpenH264, VP8 via
//! libvpx, Opus); the jitter buffer, echo cancellation, scaling; and sinks for displays.
//!
//! Features (all on by default): `codecs` (OpenH264, libvpx, Opus), `devices` (cameras through
//! nokhwa, microphones and speakers through cpal), `audio-processing` (sonora's echo
//! cancellation). Without them the crate is frames, sources, sinks and codec names only, which
//! is all that negotiating a call needs.

#[cfg(feature = "audio-processing")]
pub mod apm;
pub mod audio;
#[cfg(feature = "devices")]
pub mod camera;
#[cfg(feature = "codecs")]
pub mod codec;
#[cfg(feature = "devices")]
pub mod devices;
mod frame;
#[cfg(feature = "codecs")]
mod h264;
pub mod jitter;
pub mod mix;
#[cfg(feature = "codecs")]
pub mod opus_codec;
pub mod pattern;
pub mod rgba;
pub mod scale;
mod sink;
mod source;
pub mod stamp;
mod video_codec;
#[cfg(feature = "codecs")]
mod vp8;

pub use frame::{AudioFrame, VideoFrame};
pub use sink::FrameSink;
pub use source::{AudioSink, AudioSource, SourceError, VideoSource};
pub use video_codec::VideoCodec;

/// Audio sample rate used end to end (Opus native rate).
pub const SAMPLE_RATE: u32 = 48_000;
/// Audio frame duration in milliseconds (one Opus packet).
pub const AUDIO_FRAME_MS: u32 = 20;
/// Samples per channel in one audio frame.
pub const AUDIO_FRAME_SAMPLES: usize = (SAMPLE_RATE / 1000 * AUDIO_FRAME_MS) as usize;

/// Microseconds since the Unix epoch: capture and display times comparable across processes.
pub fn now_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
