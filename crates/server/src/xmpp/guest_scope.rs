//! What a guest let in by a call link may do on the signaling server: exchange stanzas with the
//! people of its call (the link's owner, its *host*, and whoever else is a member of the call it
//! was admitted into) and nobody else, and only until its call ends (protocol.md §2.2).

use crate::store::{Guest, Store};
use nx::xml::Element;

/// The guest passes a stanza involves, read afresh (an admitted guest's call changes).
#[derive(Debug, Default)]
pub struct Scope {
    pub sender: Option<Guest>,
    pub recipient: Option<Guest>,
}

/// Whether a stanza from `sender` may go to `to` (bare JIDs). `sender_is_guest` says the sender
/// signed in with a guest pass. A guest may reach, and be reached by, only its host and the
/// members of its call, while its pass is live.
pub async fn check(
    store: &Store,
    sender: &str,
    sender_is_guest: bool,
    to: &str,
) -> Result<Scope, Refused> {
    let mut scope = Scope::default();
    if sender_is_guest {
        let g = live_pass(store, sender).await?;
        if !in_call(store, &g, to).await? {
            return Err(Refused);
        }
        scope.sender = Some(g);
    }
    let local = to.split('@').next().unwrap_or_default();
    if crate::links::is_guest(local) {
        let g = live_pass(store, to).await?;
        if !in_call(store, &g, sender).await? {
            return Err(Refused);
        }
        scope.recipient = Some(g);
    }
    Ok(scope)
}

/// A guest signing in to signaling: its pass, if it is still live.
pub async fn sign_in(store: &Store, jid: &str) -> Result<Guest, &'static str> {
    match store.guest(jid).await {
        Ok(Some(g)) if live(&g) => Ok(g),
        Ok(_) => Err("this guest pass has ended"),
        Err(e) => {
            tracing::error!(error = %e, "guest lookup failed");
            Err("temporary failure; try again")
        }
    }
}

/// Not ended, and within its lifetime (`links::GUEST_TTL`).
fn live(g: &Guest) -> bool {
    !g.ended && g.expires_at > crate::clock::unix_now()
}

async fn live_pass(store: &Store, jid: &str) -> Result<Guest, Refused> {
    match store.guest(&jid.to_ascii_lowercase()).await {
        Ok(Some(g)) if live(&g) => Ok(g),
        Ok(_) => Err(Refused),
        Err(e) => {
            tracing::error!(error = %e, "guest lookup failed");
            Err(Refused)
        }
    }
}

/// Whether `who` is the guest's host or a member of the guest's call.
async fn in_call(store: &Store, g: &Guest, who: &str) -> Result<bool, Refused> {
    if g.host.eq_ignore_ascii_case(who) {
        return Ok(true);
    }
    Ok(members(store, g)
        .await?
        .iter()
        .any(|m| m.eq_ignore_ascii_case(who)))
}

/// The members of the guest's call (empty while it is a 1:1 call with its host).
async fn members(store: &Store, g: &Guest) -> Result<Vec<String>, Refused> {
    store.members(&g.room).await.map_err(|e| {
        tracing::error!(error = %e, "call members lookup failed");
        Refused
    })
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

/// Ends a guest's pass once `el` (just routed to `to`) ended its call, and disconnects it. A
/// guest leaving a group call ends its pass with its first `call_end`; the other members hear it
/// from the server. In a group call a member leaving does not end the guest's pass: the call goes
/// on with the others.
pub async fn after_routed(
    store: &Store,
    router: &super::Router,
    scope: &Scope,
    from: &str,
    to: &str,
    el: &Element,
) {
    if let Some(g) = &scope.sender {
        if ends_call(el, &g.room) {
            end_pass(store, router, g, from, Some(to)).await;
        }
    }
    if let Some(g) = &scope.recipient {
        if ends_call(el, &g.room) && members(store, g).await.is_ok_and(|m| m.is_empty()) {
            end_pass(store, router, g, &g.jid, Some(&g.host)).await;
        }
    }
}

/// A guest's connection is its whole pass: when it ends (the page closed, the network went),
/// the pass ends, and the people of its call hear `call_end` from the guest at once instead of
/// waiting for its media to time out. `full` is the guest's full JID (empty if it never bound).
pub async fn on_session_end(store: &Store, router: &super::Router, jid: &str, full: &str) {
    // Expired or not: the members still hear that the guest left.
    let g = match store.guest(&jid.to_ascii_lowercase()).await {
        Ok(Some(g)) if !g.ended => g,
        Ok(_) => return,
        Err(e) => return tracing::error!(error = %e, "guest lookup failed"),
    };
    let from = if full.is_empty() { &g.jid } else { full };
    end_pass(store, router, &g, from, None).await;
}

/// Ends `g`'s pass (if still live), tells everyone of its call but `told` that the guest left,
/// and disconnects the guest.
async fn end_pass(
    store: &Store,
    router: &super::Router,
    g: &Guest,
    from: &str,
    told: Option<&str>,
) {
    match store.end_guest(&g.jid, crate::clock::unix_now()).await {
        Ok(true) => {}
        Ok(false) => return,
        Err(e) => return tracing::error!(error = %e, "ending a guest's pass failed"),
    }
    let mut people = members(store, g).await.unwrap_or_default();
    people.push(g.host.clone());
    people.sort_by_key(|p| p.to_ascii_lowercase());
    people.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    let end = serde_json::json!({ "type": "call_end", "roomId": g.room, "timestamp": nx::signal::now_ms() });
    for to in people.iter().filter(|p| {
        !p.eq_ignore_ascii_case(&g.jid) && told.is_none_or(|t| !p.eq_ignore_ascii_case(t))
    }) {
        let msg = Element::new("message")
            .attr("xmlns", super::stanza::NS_CLIENT)
            .attr("type", "chat")
            .attr("from", from.to_string())
            .attr("to", to.clone())
            .attr("id", format!("gone{:08x}", rand::random::<u32>()))
            .child(Element::new("body").text(end.to_string()));
        router.route_message_from(&g.jid, to, &msg).await;
    }
    tracing::info!(guest = %g.jid, room = %g.room, "guest's call ended; pass closed");
    router.kick(&g.jid);
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
