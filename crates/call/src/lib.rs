//! The CallManager: call lifecycle over NX signaling, WebRTC media, stats, quality control and
//! analytics. `machine` is the pure core; `manager` drives it; `media_session` owns the WebRTC
//! side (a peer connection with its media threads). The API is what this file exports; the
//! modules behind it are the crate's own.

pub mod analytics;
mod assembler;
mod call_filter;
mod fanout;
mod machine;
mod manager;
mod media_factory;
mod media_session;
mod outgoing;
mod pipeline;
mod quality;
mod roster;
mod sfu;
pub mod stats;
mod wall_clock;

pub use call_filter::{CallFilter, Filtered, MAX_BLOCKED};
pub use machine::{
    Action, CallEvent, CallMachine, CallState, ConferenceLink, Input, Outcome, Role, Timeouts,
    STALE_INVITATION,
};
pub use manager::{CallConfig, CallError, CallManager, ParticipantMedia};
pub use media_factory::{MediaFactory, OpenAudio, OpenVideo};
pub use peer::NetConfig;
pub use pipeline::{OpenOutput, RecvCounters};
pub use quality::{Preset, Quality, QualityError};
pub use roster::{Membership, Roster, RosterChange, RosterError, MAX_MEMBERS};
pub use stats::StatsSample;
pub use wall_clock::WallClock;
