//! Call links and guests (protocol.md §2.2): which links the page accepts, and what a guest pass
//! lets its holder do (signal the link's owner about its one call, nothing else, until it ends).

mod common;

use common::*;
use nx::{NxId, XmppClient, XmppConfig, XmppEvent};
use serde_json::{json, Value};
use server::links::CallLink;
use std::time::Duration;

/// POSTs `body` to one of the page's endpoints (no tenant keys, no account).
async fn page_post(s: &TestServer, path: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1.0/simu/link/{path}", s.handle.base_url()))
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn query(url: &str) -> String {
    url.split_once('?')
        .map(|(_, q)| q.to_string())
        .unwrap_or_default()
}

/// A guest pass through `owner`'s fresh room link.
async fn guest_of(s: &TestServer, owner: &nx::RestClient) -> (String, Value) {
    let link = owner.create_room_link(None, None).await.expect("link");
    let (status, pass) = page_post(
        s,
        "join",
        json!({ "link": query(&link.url), "name": "Jane" }),
    )
    .await;
    assert_eq!(status, 200, "{pass}");
    (link.room, pass)
}

/// Connects a guest's signaling with its pass; the first event (online, or why not).
async fn guest_online(
    pass: &Value,
) -> (
    nx::XmppHandle,
    tokio::sync::mpsc::Receiver<XmppEvent>,
    XmppEvent,
) {
    let jid = NxId::parse_jid(pass["jid"].as_str().expect("jid")).expect("guest jid");
    let cfg = XmppConfig::new(
        pass["nxws"].as_str().expect("nxws"),
        jid,
        pass["token"].as_str().expect("token"),
    );
    let (h, mut ev, _task) = XmppClient::start(cfg);
    let first = tokio::time::timeout(Duration::from_secs(10), ev.recv())
        .await
        .ok()
        .flatten()
        .expect("an event");
    (h, ev, first)
}

/// The next event other than a message body, within a few seconds.
async fn next_refusal(ev: &mut tokio::sync::mpsc::Receiver<XmppEvent>) -> Option<String> {
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_secs(3), ev.recv()).await {
        if let XmppEvent::Bounce { condition, .. } = e {
            return Some(condition);
        }
    }
    None
}

#[tokio::test]
async fn the_page_refuses_tampered_expired_unknown_and_revoked_links_each_with_its_reason() {
    let s = server().await;
    let (alice, _h, _e) = s.online("alice").await;
    let link = alice.create_room_link(None, None).await.expect("link");
    let (status, info) = page_post(&s, "open", json!({ "link": query(&link.url) })).await;
    assert_eq!(
        (status, info["kind"].as_str(), info["host"].as_str()),
        (200, Some("room"), Some("alice@simu.local"))
    );
    let tampered = query(&link.url).replace("caller=alice", "caller=mallory");
    let (status, why) = page_post(&s, "open", json!({ "link": tampered })).await;
    assert_eq!((status, why["reason"].as_str()), (403, Some("tampered")));

    let key = &s.handle.state.link_key;
    let signed = |room: &str, exp: u64| {
        query(
            &CallLink {
                room: room.into(),
                caller: "alice".into(),
                call_type: "room".into(),
                to: "alice@simu.local".into(),
                exp,
            }
            .url("http://x", key),
        )
    };
    let (status, why) = page_post(&s, "open", json!({ "link": signed(&link.room, 1000) })).await;
    assert_eq!((status, why["reason"].as_str()), (410, Some("expired")));
    let far = link.expires_at + 10;
    let (status, why) = page_post(&s, "open", json!({ "link": signed("never_made", far) })).await;
    assert_eq!(
        (status, why["reason"].as_str()),
        (404, Some("unknown")),
        "signed but never recorded"
    );

    alice.revoke_link(&link.room).await.expect("revoke");
    let (status, why) = page_post(&s, "open", json!({ "link": query(&link.url) })).await;
    assert_eq!((status, why["reason"].as_str()), (410, Some("revoked")));
    let (status, why) = page_post(
        &s,
        "join",
        json!({ "link": query(&link.url), "name": "Jane" }),
    )
    .await;
    assert_eq!(
        (status, why["reason"].as_str()),
        (410, Some("revoked")),
        "no pass either"
    );
    assert!(alice.links().await.expect("list").is_empty());
}

/// Asks `path` with a guest's token, as an NX token and as a bearer token, with the tenant keys;
/// both answers' statuses.
async fn with_guest_token(
    s: &TestServer,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Vec<u16> {
    let (alice, _h, _e) = s.online("alice").await;
    let (_, pass) = guest_of(s, &alice).await;
    let token = pass["token"].as_str().expect("token");
    let c = &s.handle.state.cfg;
    let http = reqwest::Client::new();
    let mut out = Vec::new();
    for (header, value) in [
        ("X-NX-Token", token.to_string()),
        ("Authorization", format!("Bearer {token}")),
    ] {
        let url = format!("{}/api/v1.0{path}", s.handle.base_url());
        let mut r = if method == "GET" {
            http.get(&url)
        } else {
            http.post(&url)
        };
        r = r
            .header("X-API-Key", &c.api_key)
            .header("X-Secret-Key", &c.secret_key)
            .header(header, value);
        if let Some(b) = &body {
            r = r.json(b);
        }
        out.push(r.send().await.expect("request").status().as_u16());
    }
    out
}

#[tokio::test]
async fn a_guest_token_cannot_read_history() {
    let s = server().await;
    assert_eq!(
        with_guest_token(&s, "GET", "/nx/call-history/", None).await,
        [401, 401]
    );
}

#[tokio::test]
async fn a_guest_token_cannot_read_contacts_or_links() {
    let s = server().await;
    assert_eq!(
        with_guest_token(&s, "GET", "/nx/contacts/", None).await,
        [401, 401]
    );
    assert_eq!(
        with_guest_token(&s, "GET", "/simu/links/", None).await,
        [401, 401]
    );
}

#[tokio::test]
async fn a_guest_token_cannot_enter_other_rooms() {
    let s = server().await;
    let (carol, _ch, _ce) = s.online("carol").await;
    let (_bob, _bh, _be) = s.online("bob").await;
    let room = carol
        .start_group_call(&["bob".to_string()], "video", None, false)
        .await
        .expect("a group call")
        .room;
    let sfu = format!("/nx/group-call/{room}/sfu/");
    assert_eq!(with_guest_token(&s, "GET", &sfu, None).await, [401, 401]);
    let members = format!("/nx/group-call/{room}/members/");
    let body = json!({ "participants": ["alice"] });
    assert_eq!(
        with_guest_token(&s, "POST", &members, Some(body)).await,
        [401, 401]
    );
}

#[tokio::test]
async fn a_guest_token_cannot_call_anyone() {
    let s = server().await;
    let (_bob, _bh, _be) = s.online("bob").await;
    for (path, body) in [
        ("/nx/webrtc/call/", json!({ "to": "bob", "type": "p2p" })),
        ("/nx/call/", json!({ "to": "bob", "type": "video" })),
        (
            "/nx/group-call/",
            json!({ "participants": ["bob"], "type": "video" }),
        ),
        ("/nx/call-url/", json!({ "to": "bob", "type": "video" })),
    ] {
        assert_eq!(
            with_guest_token(&s, "POST", path, Some(body)).await,
            [401, 401],
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_guest_reaches_only_its_host_and_only_its_host_reaches_it() {
    let s = server().await;
    let (alice, _ah, mut alice_ev) = s.online("alice").await;
    let (_bob, bob_h, mut bob_ev) = s.online("bob").await;
    let (_, pass) = guest_of(&s, &alice).await;
    let (guest_h, mut guest_ev, first) = guest_online(&pass).await;
    assert!(matches!(first, XmppEvent::Online { .. }), "{first:?}");
    let guest = NxId::parse_jid(pass["jid"].as_str().expect("jid")).expect("jid");
    let room = pass["room"].as_str().expect("room");
    let invite = json!({ "type": "call_invitation", "roomId": room, "callType": "video",
        "fromNxId": guest.to_string(), "fromName": "Jane" })
    .to_string();
    guest_h
        .send_body(&s.jid("alice"), invite.clone())
        .await
        .expect("send");
    let (from, body, _) = next_body(&mut alice_ev).await;
    assert!(from.starts_with(&guest.to_string()) && body == invite);

    guest_h
        .send_body(&s.jid("bob"), invite.clone())
        .await
        .expect("send");
    assert_eq!(
        next_refusal(&mut guest_ev).await.as_deref(),
        Some("forbidden")
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(500), next_body(&mut bob_ev))
            .await
            .is_err(),
        "bob never hears from a guest of alice's"
    );
    bob_h
        .send_body(
            &guest,
            json!({ "type": "call_end", "roomId": room }).to_string(),
        )
        .await
        .expect("send");
    assert_eq!(
        next_refusal(&mut bob_ev).await.as_deref(),
        Some("forbidden")
    );
}

#[tokio::test]
async fn a_guest_pass_ends_with_its_call_and_cannot_sign_in_again() {
    let s = server().await;
    let (alice, alice_h, _ae) = s.online("alice").await;
    let (_, pass) = guest_of(&s, &alice).await;
    let (_gh, mut guest_ev, first) = guest_online(&pass).await;
    assert!(matches!(first, XmppEvent::Online { .. }));
    let guest = NxId::parse_jid(pass["jid"].as_str().expect("jid")).expect("jid");
    let room = pass["room"].as_str().expect("room");
    alice_h
        .send_body(
            &guest,
            json!({ "type": "call_end", "roomId": room }).to_string(),
        )
        .await
        .expect("send");
    let (_, body, _) = next_body(&mut guest_ev).await;
    assert!(body.contains("call_end"));
    let mut dropped = false;
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_secs(5), guest_ev.recv()).await {
        if matches!(e, XmppEvent::Offline { .. } | XmppEvent::Failed(_)) {
            dropped = true;
            break;
        }
    }
    assert!(dropped, "the guest is disconnected when its call ends");
    let (_h2, _ev2, again) = guest_online(&pass).await;
    assert!(
        matches!(again, XmppEvent::Failed(_) | XmppEvent::Offline { .. }),
        "the pass is spent: {again:?}"
    );
}

#[tokio::test]
async fn revoking_a_room_link_cuts_off_its_guests() {
    let s = server().await;
    let (alice, _ah, _ae) = s.online("alice").await;
    let (link_room, pass) = guest_of(&s, &alice).await;
    let (_gh, mut guest_ev, first) = guest_online(&pass).await;
    assert!(matches!(first, XmppEvent::Online { .. }));
    alice.revoke_link(&link_room).await.expect("revoke");
    let mut dropped = false;
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_secs(5), guest_ev.recv()).await {
        if matches!(e, XmppEvent::Offline { .. } | XmppEvent::Failed(_)) {
            dropped = true;
            break;
        }
    }
    assert!(dropped, "a revoked link's guest is disconnected");
}

#[tokio::test]
async fn joins_from_one_address_are_bounded_and_names_are_checked() {
    let s = server_with(|c| c.limits.guest_joins_per_address = 2).await;
    let (alice, _ah, _ae) = s.online("alice").await;
    let link = alice.create_room_link(None, None).await.expect("link");
    let q = query(&link.url);
    let (status, _) = page_post(&s, "join", json!({ "link": q, "name": "  " })).await;
    assert_eq!(status, 400, "an empty name");
    let (status, _) = page_post(&s, "join", json!({ "link": q, "name": "x".repeat(41) })).await;
    assert_eq!(status, 400, "a name too long");
    for _ in 0..2 {
        assert_eq!(
            page_post(&s, "join", json!({ "link": q, "name": "J" }))
                .await
                .0,
            200
        );
    }
    assert_eq!(
        page_post(&s, "join", json!({ "link": q, "name": "J" }))
            .await
            .0,
        429
    );
}

#[tokio::test]
async fn nobody_registers_a_guest_name_and_links_per_user_are_bounded() {
    let s = server_with(|c| c.limits.links_per_user = 2).await;
    // Usernames lose their hyphens (NX ID normalisation), so none can take a guest's name.
    let who = s
        .rest()
        .login_or_register("guest-0123456789abcdef", "harness-password")
        .await
        .expect("registers");
    assert_eq!(who.nxid, "guest0123456789abcdef@simu.local");
    let (alice, _ah, _ae) = s.online("alice").await;
    alice.create_room_link(None, None).await.expect("first");
    let second = alice
        .create_room_link(Some("named_room"), Some(3600))
        .await
        .expect("second");
    assert_eq!(second.room, "named_room");
    let third = alice
        .create_room_link(None, None)
        .await
        .expect_err("over the limit");
    assert_eq!(third.status(), Some(429));
    alice.revoke_link("named_room").await.expect("revoke");
    alice
        .create_room_link(None, None)
        .await
        .expect("room again after a revoke");
}

#[tokio::test]
async fn the_page_is_served_gzipped_with_a_strict_policy() {
    let s = server().await;
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{}/call?room=x", s.handle.base_url()))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .expect("page");
    assert_eq!(r.status().as_u16(), 200);
    let h = r.headers().clone();
    assert_eq!(h["content-encoding"], "gzip");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert!(h["content-security-policy"]
        .to_str()
        .expect("ascii")
        .contains("frame-ancestors 'none'"));
    let plain = http
        .get(format!("{}/nexacon-call.html", s.handle.base_url()))
        .send()
        .await
        .expect("page");
    let html = plain.text().await.expect("html");
    let asset = html
        .split("/call-assets/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page names its script");
    let js = http
        .get(format!("{}/call-assets/{asset}", s.handle.base_url()))
        .send()
        .await
        .expect("asset");
    assert_eq!(js.status().as_u16(), 200);
    assert!(js.headers()["cache-control"]
        .to_str()
        .expect("ascii")
        .contains("immutable"));
    let missing = http
        .get(format!("{}/call-assets/nope.js", s.handle.base_url()))
        .send()
        .await
        .expect("missing");
    assert_eq!(missing.status().as_u16(), 404);
}

#[tokio::test]
async fn a_guest_that_goes_away_ends_its_call_for_the_host_and_its_pass() {
    let s = server().await;
    let (alice, _ah, mut alice_ev) = s.online("alice").await;
    let (_, pass) = guest_of(&s, &alice).await;
    let (guest_h, _guest_ev, first) = guest_online(&pass).await;
    assert!(matches!(first, XmppEvent::Online { .. }));
    guest_h.close().await;
    let (from, body, _) = next_body(&mut alice_ev).await;
    let room = pass["room"].as_str().expect("room");
    assert!(
        from.starts_with(pass["jid"].as_str().expect("jid")),
        "{from}"
    );
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        (v["type"].as_str(), v["roomId"].as_str()),
        (Some("call_end"), Some(room))
    );
    let history = alice
        .call_history(&nx::rest::HistoryQuery::default())
        .await
        .expect("history");
    let row = history
        .results
        .iter()
        .find(|r| r.room == room)
        .expect("the guest's call");
    assert_eq!(
        row.peer_name.as_deref(),
        Some("Jane"),
        "the owner sees the guest's name"
    );
    let (_h2, _ev2, again) = guest_online(&pass).await;
    assert!(
        matches!(again, XmppEvent::Failed(_) | XmppEvent::Offline { .. }),
        "the pass is spent: {again:?}"
    );
}

/// The body of the next message `ev` delivers, if one comes within a few seconds.
async fn body_within(ev: &mut tokio::sync::mpsc::Receiver<XmppEvent>) -> Option<(String, Value)> {
    let (from, body, _) = tokio::time::timeout(Duration::from_secs(5), next_body(ev))
        .await
        .ok()?;
    Some((from, serde_json::from_str(&body).ok()?))
}

#[tokio::test]
async fn an_admitted_guest_signals_every_member_of_the_call_and_leaving_tells_them_all() {
    let s = server().await;
    let (alice, _ah, mut alice_ev) = s.online("alice").await;
    let (_bob, bob_h, mut bob_ev) = s.online("bob").await;
    let (carol, carol_h, mut carol_ev) = s.online("carol").await;
    let started = alice
        .start_call(&s.jid("bob").to_string(), "video", None)
        .await
        .expect("alice calls bob");
    let (_, pass) = guest_of(&s, &alice).await;
    let guest = pass["jid"].as_str().expect("jid").to_string();
    let (guest_h, mut guest_ev, first) = guest_online(&pass).await;
    assert!(matches!(first, XmppEvent::Online { .. }), "{first:?}");
    let gid = NxId::parse_jid(&guest).expect("guest id");

    // Before the owner admits it, the guest reaches bob no more than anyone else.
    let hello =
        json!({ "type": "group_joined", "roomId": started.room, "joinedAt": 1 }).to_string();
    guest_h
        .send_body(&s.jid("bob"), hello.clone())
        .await
        .expect("send");
    assert_eq!(
        next_refusal(&mut guest_ev).await.as_deref(),
        Some("forbidden")
    );

    // Only the guest's own host can admit it, and only into a call of its own.
    let err = carol
        .add_group_members(&started.room, std::slice::from_ref(&guest))
        .await
        .expect_err("carol is not in the call");
    assert_eq!(err.status(), Some(404), "{err:?}");
    let added = alice
        .add_group_members(&started.room, std::slice::from_ref(&guest))
        .await
        .expect("alice admits the guest");
    assert_eq!(added.members, 3);

    // Now the guest and bob reach each other; carol, outside the call, still cannot.
    guest_h
        .send_body(&s.jid("bob"), hello.clone())
        .await
        .expect("send");
    let (from, v) = body_within(&mut bob_ev).await.expect("bob hears the guest");
    assert!(
        from.starts_with(&guest) && v["type"] == "group_joined",
        "{from} {v}"
    );
    bob_h
        .send_body(
            &gid,
            json!({ "type": "group_joined", "roomId": started.room, "joinedAt": 2 }).to_string(),
        )
        .await
        .expect("send");
    let (from, _) = body_within(&mut guest_ev)
        .await
        .expect("the guest hears bob");
    assert!(from.starts_with(&s.jid("bob").to_string()), "{from}");
    carol_h
        .send_body(
            &gid,
            json!({ "type": "call_end", "roomId": started.room }).to_string(),
        )
        .await
        .expect("send");
    assert_eq!(
        next_refusal(&mut carol_ev).await.as_deref(),
        Some("forbidden")
    );

    // A member hanging up on the guest does not end its pass: the call goes on with the others.
    bob_h
        .send_body(
            &gid,
            json!({ "type": "call_end", "roomId": started.room }).to_string(),
        )
        .await
        .expect("send");
    body_within(&mut guest_ev)
        .await
        .expect("the guest hears bob leave");
    guest_h
        .send_body(&s.jid("alice"), hello)
        .await
        .expect("send");
    let (_, v) = body_within(&mut alice_ev)
        .await
        .expect("still in the call with alice");
    assert_eq!(v["type"], "group_joined");

    // The guest leaving says so to one member; the server tells the rest and ends the pass.
    let bye = json!({ "type": "call_end", "roomId": started.room }).to_string();
    guest_h.send_body(&s.jid("alice"), bye).await.expect("send");
    let (_, v) = body_within(&mut alice_ev)
        .await
        .expect("alice hears the guest leave");
    assert_eq!(
        (v["type"].as_str(), v["roomId"].as_str()),
        (Some("call_end"), Some(started.room.as_str()))
    );
    let (from, v) = body_within(&mut bob_ev)
        .await
        .expect("bob is told by the server");
    assert!(
        from.starts_with(&guest) && v["type"] == "call_end",
        "{from} {v}"
    );
    let (_h2, _ev2, again) = guest_online(&pass).await;
    assert!(
        matches!(again, XmppEvent::Failed(_) | XmppEvent::Offline { .. }),
        "the pass is spent: {again:?}"
    );
    // The knock itself is in alice's history as ended, with the guest's name.
    let history = alice
        .call_history(&nx::rest::HistoryQuery::default())
        .await
        .expect("history");
    let knock = history
        .results
        .iter()
        .find(|r| r.peer_name.as_deref() == Some("Jane"))
        .expect("the knock's row");
    assert_eq!(knock.status, "ended");
}

#[tokio::test]
async fn a_guest_is_admitted_only_within_the_mesh_limit_and_only_by_its_host() {
    let s = server_with(|c| c.limits.mesh_members = 3).await;
    let (alice, _ah, _aev) = s.online("alice").await;
    let (bob, _bh, _bev) = s.online("bob").await;
    let (_, _ch, _cev) = s.online("carol").await;
    let (_, pass) = guest_of(&s, &alice).await;
    let guest = pass["jid"].as_str().expect("jid").to_string();
    let started = bob
        .start_group_call(
            &[s.jid("alice").to_string(), s.jid("carol").to_string()],
            "video",
            None,
            false,
        )
        .await
        .expect("a call of three");
    let err = bob
        .add_group_members(&started.room, std::slice::from_ref(&guest))
        .await
        .expect_err("bob is not the guest's host");
    assert_eq!(err.status(), Some(404), "{err:?}");
    let err = alice
        .add_group_members(&started.room, std::slice::from_ref(&guest))
        .await
        .expect_err("a fourth member is over the limit");
    assert_eq!(err.status(), Some(409), "{err:?}");
    let err = alice
        .add_group_members(&started.room, &[guest, s.jid("dave").to_string()])
        .await
        .expect_err("guests are admitted on their own");
    assert_eq!(err.status(), Some(400), "{err:?}");
}
