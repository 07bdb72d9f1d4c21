//! Stanzas the server writes: stream headers, features, errors, replies.

use nx::xml::Element;
use nx::xmpp::{NS_BIND, NS_FRAMING, NS_SASL, NS_SESSION, NS_STANZAS};

pub const NS_CLIENT: &str = "jabber:client";

/// Each RFC 7395 frame is a document of its own, so stanzas must name `jabber:client`.
pub fn qualify(el: &mut Element) {
    if matches!(el.name.as_str(), "message" | "iq" | "presence") && el.xmlns().is_none() {
        el.attrs.insert(0, ("xmlns".into(), NS_CLIENT.into()));
    }
}

pub const NS_STREAMS: &str = "http://etherx.jabber.org/streams";
pub const NS_STREAM_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-streams";

pub fn open(domain: &str) -> Element {
    Element::new("open")
        .attr("xmlns", NS_FRAMING)
        .attr("from", domain)
        .attr("id", format!("{:016x}", rand::random::<u64>()))
        .attr("version", "1.0")
        .attr("xml:lang", "en")
}

pub fn close() -> Element {
    Element::new("close").attr("xmlns", NS_FRAMING)
}

pub fn features_pre_auth() -> Element {
    Element::new("stream:features")
        .attr("xmlns:stream", NS_STREAMS)
        .child(
            Element::new("mechanisms")
                .attr("xmlns", NS_SASL)
                .child(Element::new("mechanism").text("PLAIN")),
        )
}

pub fn features_post_auth() -> Element {
    Element::new("stream:features")
        .attr("xmlns:stream", NS_STREAMS)
        .child(Element::new("bind").attr("xmlns", NS_BIND))
        .child(
            Element::new("session")
                .attr("xmlns", NS_SESSION)
                .child(Element::new("optional")),
        )
}

/// A stream-level error (RFC 6120 §4.9); the stream closes after it.
pub fn stream_error(condition: &str, text: &str) -> Element {
    Element::new("stream:error")
        .attr("xmlns:stream", NS_STREAMS)
        .child(Element::new(condition).attr("xmlns", NS_STREAM_ERRORS))
        .child(
            Element::new("text")
                .attr("xmlns", NS_STREAM_ERRORS)
                .text(text),
        )
}

pub fn sasl_failure(condition: &str, text: &str) -> Element {
    Element::new("failure")
        .attr("xmlns", NS_SASL)
        .child(Element::new(condition))
        .child(Element::new("text").text(text))
}

/// Bounces a stanza back to its sender with a stanza error (RFC 6120 §8.3).
pub fn bounce(
    original: &Element,
    server_domain: &str,
    kind: &str,
    condition: &str,
    text: &str,
) -> Element {
    let mut e = Element::new(original.name.clone())
        .attr("xmlns", NS_CLIENT)
        .attr("type", "error");
    if let Some(id) = original.get_attr("id") {
        e = e.attr("id", id);
    }
    e = e.attr("from", original.get_attr("to").unwrap_or(server_domain));
    if let Some(from) = original.get_attr("from") {
        e = e.attr("to", from);
    }
    e.child(
        Element::new("error")
            .attr("type", kind)
            .child(Element::new(condition).attr("xmlns", NS_STANZAS))
            .child(Element::new("text").attr("xmlns", NS_STANZAS).text(text)),
    )
}

/// An iq result with an optional payload.
pub fn iq_result(req: &Element, from: &str, payload: Option<Element>) -> Element {
    let mut e = Element::new("iq")
        .attr("xmlns", NS_CLIENT)
        .attr("type", "result")
        .attr("from", from);
    if let Some(id) = req.get_attr("id") {
        e = e.attr("id", id);
    }
    if let Some(to) = req.get_attr("from") {
        e = e.attr("to", to);
    }
    if let Some(p) = payload {
        e = e.child(p);
    }
    e
}
