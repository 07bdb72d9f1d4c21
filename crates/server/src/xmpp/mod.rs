//! The XMPP-over-WebSocket endpoint (RFC 7395) at `/nx-websocket/`: the subset of XMPP that the
//! reference SDK and standard clients use.

mod guest_scope;
pub mod router;
pub mod stanza;
pub mod stream;

pub use router::Router;
