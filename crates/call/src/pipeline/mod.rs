//! Media threads: capture + encode once per call (fanned out to every leg), decode for each
//! remote track, and mix every member's audio into one stream. They run off the async runtime
//! and talk to it through bounded queues that drop stale frames. `control` is what the app
//! changes live, `counters` what the threads count, `send` and `receive` the threads, `mix` the
//! call's received audio, `playback` where it goes.

mod control;
mod counters;
mod mix;
mod playback;
mod receive;
mod send;

pub use control::MediaControl;
pub use counters::{RecvCounters, SendCounters};
pub use mix::{AudioMix, MixInput};
pub use playback::{AudioOutput, OpenOutput};
pub use receive::spawn_video_receiver;
pub use send::{spawn_audio_sender, spawn_preview, spawn_video_sender};

use bytes::Bytes;
use media::codec::VideoCodec;
use std::time::{Duration, Instant};

/// What a media thread reports to the session; the call goes on.
#[derive(Debug)]
pub enum MediaTrouble {
    /// A device or codec failed.
    Error(String),
    /// The camera stopped delivering; a black picture is sent until another is chosen.
    CameraLost(String),
}

/// One encoded frame or packet for the RTP writers (cheap to clone: the data is shared).
#[derive(Debug, Clone)]
pub struct Encoded {
    pub data: Bytes,
    pub duration: Duration,
    /// Which video codec made it (`None` for audio).
    pub codec: Option<VideoCodec>,
    /// A video keyframe (decodable on its own).
    pub key: bool,
}

fn sleep_until(deadline: Instant) {
    let now = Instant::now();
    if deadline > now {
        std::thread::sleep(deadline - now);
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
