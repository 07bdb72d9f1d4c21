//! The CallManager: call lifecycle over NX signaling, WebRTC media, stats, quality control and
//! analytics. `machine` is the pure core; `manager` drives it; `session` owns the WebRTC side.

pub mod machine;

pub use machine::{CallEvent, CallState, Outcome, Role};
