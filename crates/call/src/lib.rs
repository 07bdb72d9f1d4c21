//! The CallManager: call lifecycle over NX signaling, WebRTC media, stats, quality control and
//! analytics. `machine` is the pure core; `manager` drives it; `session` owns the WebRTC side.

pub mod analytics;
pub mod assembler;
pub mod machine;
pub mod manager;
pub mod pipeline;
pub mod quality;
pub mod session;
pub mod stats;
pub mod wall_clock;

pub use machine::{CallEvent, CallState, Outcome, Role, Timeouts};
pub use manager::{CallConfig, CallError, CallManager, MediaFactory, OpenAudio, OpenVideo};
pub use peer::NetConfig;
pub use quality::{Preset, Quality};
pub use stats::StatsSample;
