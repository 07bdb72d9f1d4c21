//! The signaling endpoint against the real client: routing, spoofing, offline storage, bad input.

mod common;

use common::*;
use futures_util::SinkExt;
use nx::xml::Element;
use nx::{XmppClient, XmppConfig, XmppError, XmppEvent};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn routes_messages_and_stamps_the_real_sender() {
    let s = server().await;
    let (_ra, alice, _ea) = s.online("alice").await;
    let (_rb, _bob, mut eb) = s.online("+255700000001").await;
    let bob_jid = s.jid("+255700000001");
    alice
        .send_body(&bob_jid, "{\"type\":\"x\"}".into())
        .await
        .expect("send");
    let (from, body, delayed) = next_body(&mut eb).await;
    assert!(
        from.starts_with(&format!("{}/", s.jid("alice"))),
        "from {from}"
    );
    assert_eq!(body, "{\"type\":\"x\"}");
    assert!(!delayed);

    let spoof = Element::new("message")
        .attr("to", bob_jid.to_string())
        .attr("from", "mallory@evil/x")
        .attr("type", "chat")
        .child(Element::new("body").text("spoofed"));
    alice.send_stanza(spoof).await.expect("send");
    let (from, body, _) = next_body(&mut eb).await;
    assert_eq!(body, "spoofed");
    assert!(
        from.starts_with(&s.jid("alice").to_string()),
        "server must stamp from, got {from}"
    );
}

#[tokio::test]
async fn delivers_to_every_session_of_a_user() {
    let s = server().await;
    let (_r1, _b1, mut e1) = s.online("bob").await;
    let (_r2, _b2, mut e2) = s.online("bob").await;
    let (_ra, alice, _ea) = s.online("alice").await;
    alice
        .send_body(&s.jid("bob"), "hi".into())
        .await
        .expect("send");
    assert_eq!(next_body(&mut e1).await.1, "hi");
    assert_eq!(next_body(&mut e2).await.1, "hi");
}

#[tokio::test]
async fn stores_messages_for_offline_users_and_replays_them_with_a_delay_stamp() {
    let s = server().await;
    s.rest()
        .login_or_register("carol", "harness-password")
        .await
        .expect("carol exists");
    let (_ra, alice, _ea) = s.online("alice").await;
    for i in 0..3 {
        alice
            .send_body(&s.jid("carol"), format!("m{i}"))
            .await
            .expect("send");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_rc, _c, mut ec) = s.online("carol").await;
    for i in 0..3 {
        let (_, body, delayed) = next_body(&mut ec).await;
        assert_eq!(body, format!("m{i}"));
        assert!(delayed, "replayed messages carry a delay stamp");
    }
}

#[tokio::test]
async fn bounces_messages_to_unknown_users() {
    let s = server().await;
    let (_ra, alice, mut ea) = s.online("alice").await;
    alice
        .send_body(&s.jid("nobody"), "x".into())
        .await
        .expect("send");
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ea.recv()).await {
            Ok(Some(XmppEvent::Bounce { condition, .. })) => {
                assert_eq!(condition, "item-not-found");
                break;
            }
            Ok(Some(_)) => continue,
            other => panic!("no bounce: {other:?}"),
        }
    }
}

#[tokio::test]
async fn bad_or_expired_tokens_fail_for_good() {
    let s = server().await;
    for token in [
        "garbage".to_string(),
        s.handle
            .state
            .tokens
            .issue("alice@elsewhere", server::tokens::TokenKind::Nx, 60),
    ] {
        let (_h, mut ev, task) =
            XmppClient::start(XmppConfig::new(s.handle.ws_url(), s.jid("alice"), token));
        match tokio::time::timeout(Duration::from_secs(10), ev.recv()).await {
            Ok(Some(XmppEvent::Failed(e))) => {
                assert!(matches!(e, XmppError::AuthFailed { .. }), "{e}")
            }
            other => panic!("expected a final auth failure, got {other:?}"),
        }
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("client task ends")
            .expect("no panic");
    }
}

#[tokio::test]
async fn reconnects_after_the_socket_is_killed() {
    let s = server().await;
    let (_ra, alice, mut ea) = s.online("alice").await;
    assert_eq!(s.handle.kick(&s.jid("alice").to_string()), 1);
    let mut saw_offline = false;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ea.recv()).await {
            Ok(Some(XmppEvent::Offline { retry_in, .. })) => {
                assert_eq!(retry_in, Duration::from_secs(1));
                saw_offline = true;
            }
            Ok(Some(XmppEvent::Online { .. })) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(saw_offline);
    let (_rb, _bob, mut eb) = s.online("bob").await;
    alice
        .send_body(&s.jid("bob"), "after".into())
        .await
        .expect("send");
    assert_eq!(next_body(&mut eb).await.1, "after");
}

#[tokio::test]
async fn malformed_xml_gets_a_stream_error_and_others_keep_working() {
    let s = server().await;
    let (_rb, _bob, mut eb) = s.online("bob").await;
    let domain = s.handle.state.cfg.domain.clone();
    for bad in [
        "<a><b></a>",
        "<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>",
        &format!("<message>{}</message>", "x".repeat(70_000)),
    ] {
        let mut ws = raw(&s).await;
        ws.send(Message::Text(
            format!(
                "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{domain}' version='1.0'/>"
            )
            .into(),
        ))
        .await
        .expect("send");
        read_until(&mut ws, "mechanisms").await;
        ws.send(Message::Text(bad.to_string().into())).await.ok();
        let got = read_until(&mut ws, "stream:error").await;
        assert!(
            got.contains("not-well-formed")
                || got.contains("restricted-xml")
                || got.contains("policy-violation")
                || got.contains("not-authorized"),
            "{got}"
        );
    }
    let (_ra, alice, _ea) = s.online("alice").await;
    alice
        .send_body(&s.jid("bob"), "still here".into())
        .await
        .expect("send");
    assert_eq!(next_body(&mut eb).await.1, "still here");
}

#[tokio::test]
async fn unauthenticated_stanzas_are_refused() {
    let s = server().await;
    let mut ws = raw(&s).await;
    let domain = s.handle.state.cfg.domain.clone();
    ws.send(Message::Text(
        format!("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{domain}' version='1.0'/>")
            .into(),
    ))
    .await
    .expect("send");
    read_until(&mut ws, "mechanisms").await;
    ws.send(Message::Text(
        "<message to='bob@x'><body>hi</body></message>".into(),
    ))
    .await
    .expect("send");
    let got = read_until(&mut ws, "stream:error").await;
    assert!(got.contains("not-authorized"), "{got}");
}

#[tokio::test]
async fn floods_are_cut_off_by_the_rate_limit() {
    let s = server_with(|c| {
        c.limits.stanzas_per_second = 5;
        c.limits.stanza_burst = 10;
    })
    .await;
    let (_ra, alice, mut ea) = s.online("alice").await;
    s.rest()
        .login_or_register("bob", "harness-password")
        .await
        .expect("bob");
    for i in 0..50 {
        let _ = alice.send_body(&s.jid("bob"), format!("{i}")).await;
    }
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ea.recv()).await {
            Ok(Some(XmppEvent::Failed(e))) => {
                assert!(
                    matches!(&e, XmppError::StreamError { condition, .. } if condition == "policy-violation"),
                    "{e}"
                );
                break;
            }
            Ok(Some(_)) => continue,
            other => panic!("flood not stopped: {other:?}"),
        }
    }
}
