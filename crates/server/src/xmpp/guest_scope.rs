//! What a guest let in by a call link may do on the signaling server: exchange stanzas with the
//! link's owner (its host) and nobody else, and only until its call ends (protocol.md §2.2).

use crate::store::{Guest, Store};
use nx::xml::Element;

/// Whether a stanza from `sender` may go to `to` (bare JIDs). `sender_guest` is the sender's
/// pass if the sender is a guest. A guest may reach only its host; a guest is reached only by its
/// host, while its pass is live. Returns the recipient's pass when the recipient is a guest.
pub async fn check(
    store: &Store,
    sender: &str,
    sender_guest: Option<&Guest>,
    to: &str,
) -> Result<Option<Guest>, Refused> {
    if let Some(g) = sender_guest {
        if !g.host.eq_ignore_ascii_case(to) {
            return Err(Refused);
        }
    }
    let local = to.split('@').next().unwrap_or_default();
    if !crate::links::is_guest(local) {
        return Ok(None);
    }
    match store.guest(&to.to_ascii_lowercase()).await {
        Ok(Some(g)) if !g.ended && g.host.eq_ignore_ascii_case(sender) => Ok(Some(g)),
        Ok(_) => Err(Refused),
        Err(e) => {
            tracing::error!(error = %e, "guest lookup failed");
            Err(Refused)
        }
    }
}

/// A stanza a guest's scope does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused;

/// Whether `el` ends the call `room`: an NX `call_end`, or a `call_response` that declines.
pub fn ends_call(el: &Element, room: &str) -> bool {
    let Some(body) = el.find("body").map(|b| b.text_content()) else {
        return false;
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&body) else {
        return false;
    };
    if v.get("roomId").and_then(|r| r.as_str()) != Some(room) {
        return false;
    }
    match v.get("type").and_then(|t| t.as_str()) {
        Some("call_end") => true,
        Some("call_response") => v.get("accepted").and_then(|a| a.as_bool()) == Some(false),
        _ => false,
    }
}

/// Ends `guest`'s pass if `el` ended its call, and disconnects the guest.
pub async fn after_routed(store: &Store, router: &super::Router, guest: &Guest, el: &Element) {
    if !ends_call(el, &guest.room) {
        return;
    }
    match store.end_guest(&guest.jid, crate::clock::unix_now()).await {
        Ok(_) => {
            tracing::info!(guest = %guest.jid, room = %guest.room, "guest's call ended; pass closed");
            router.kick(&guest.jid);
        }
        Err(e) => tracing::error!(error = %e, "ending a guest's pass failed"),
    }
}

/// A guest's connection is its whole pass: when it ends (the page closed, the network went),
/// the pass ends, and the host hears `call_end` from the guest at once instead of waiting for
/// its media to time out. `full` is the guest's full JID (empty if it never bound).
pub async fn on_session_end(store: &Store, router: &super::Router, guest: &Guest, full: &str) {
    match store.end_guest(&guest.jid, crate::clock::unix_now()).await {
        Ok(true) => {
            let from = if full.is_empty() { &guest.jid } else { full };
            let end = serde_json::json!({ "type": "call_end", "roomId": guest.room, "timestamp": nx::signal::now_ms() });
            let msg = Element::new("message")
                .attr("xmlns", super::stanza::NS_CLIENT)
                .attr("type", "chat")
                .attr("from", from.to_string())
                .attr("to", guest.host.clone())
                .attr("id", format!("gone{:08x}", rand::random::<u32>()))
                .child(Element::new("body").text(end.to_string()));
            router
                .route_message_from(&guest.jid, &guest.host, &msg)
                .await;
            tracing::info!(guest = %guest.jid, "guest left; its host is told the call ended");
        }
        Ok(false) => {}
        Err(e) => tracing::error!(error = %e, "ending a guest's pass failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(body: &str) -> Element {
        Element::new("message").child(Element::new("body").text(body))
    }

    #[test]
    fn only_an_end_or_a_refusal_of_the_guests_own_call_ends_it() {
        assert!(ends_call(
            &msg(r#"{"type":"call_end","roomId":"r1"}"#),
            "r1"
        ));
        assert!(ends_call(
            &msg(r#"{"type":"call_response","roomId":"r1","accepted":false}"#),
            "r1"
        ));
        assert!(!ends_call(
            &msg(r#"{"type":"call_response","roomId":"r1","accepted":true}"#),
            "r1"
        ));
        assert!(!ends_call(
            &msg(r#"{"type":"call_end","roomId":"r2"}"#),
            "r1"
        ));
        assert!(!ends_call(&msg("not json"), "r1"));
        assert!(!ends_call(&Element::new("message"), "r1"));
    }
}
