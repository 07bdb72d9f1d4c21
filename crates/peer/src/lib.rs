//! One WebRTC peer connection the Simu way: the codecs it offers, its interceptors (keyframe
//! requests, transport-wide feedback, a delay-based bandwidth estimate, the receiver's REMB cap),
//! the bitrate hints in
//! the SDP it sends, and offer/answer with trickled candidates. Calls (`call`) and the echo
//! contact (`echo`) build on it; it links no codec library and no device.

pub mod bwe;
pub mod codecs;
mod connection;
mod keyframe;
mod negotiation;
mod net;
mod remb;
pub mod sdp_hints;
mod tap;

pub use connection::{build_peer, media_track, prefer_codecs, SendSide};
pub use keyframe::KeyframeRequests;
pub use negotiation::{request_keyframe, Negotiation, MAX_PENDING_CANDIDATES};
pub use net::NetConfig;
pub use remb::{RembCap, RembReader};

/// What went wrong building or negotiating a peer connection.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("webrtc: {0}")]
    WebRtc(String),
    #[error("invalid SDP: {0}")]
    Sdp(String),
}

/// The crate's errors carry no type worth keeping; their text is what a log needs.
pub(crate) fn rtc_err(e: impl std::fmt::Display) -> PeerError {
    PeerError::WebRtc(e.to_string())
}
