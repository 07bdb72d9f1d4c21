//! The NX protocol (docs/protocol.md): identities, REST client, XMPP-over-WebSocket client and the
//! JSON call-signaling messages, and the Janus WebSocket client for the SFU. No media lives here.

mod id;
pub mod janus;
mod link;
pub mod rest;
pub mod signal;
mod ws;
pub mod xml;
pub mod xmpp;

pub use id::{is_guest_local, IdError, NxId, GUEST_PREFIX};
pub use link::{parse_dial_link, DialLink};
pub use rest::{Registration, RestClient, RestConfig, RestError, SignInError, SignedIn};
pub use signal::{CallType, Signal};
pub use xmpp::{XmppClient, XmppConfig, XmppError, XmppEvent, XmppHandle};
