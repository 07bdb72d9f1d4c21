//! The REST API: accounts, tokens, calls, history filters and bad input.

mod common;

use common::*;
use nx::rest::{AnalyticsRecord, HistoryQuery, RestError};
use nx::{Registration, RestClient, RestConfig, SignInError};
use server::store::HistoryRow;

fn status(e: &RestError) -> u16 {
    e.status().unwrap_or(0)
}

#[tokio::test]
async fn sign_in_registers_on_first_use_and_refuses_a_wrong_secret() {
    let s = server().await;
    let who = s
        .rest()
        .sign_in("dana", "dana-password-1", Registration::FirstUse)
        .await
        .expect("first use registers and signs in");
    assert_eq!(who.jid, s.jid("dana"));
    assert!(!who.token.is_empty() && who.nxws.starts_with("ws://"));
    let again = s
        .rest()
        .sign_in("dana", "dana-password-1", Registration::Never)
        .await
        .expect("the account signs in again");
    assert_eq!(again.jid, who.jid);
    for register in [Registration::FirstUse, Registration::Never] {
        let e = s
            .rest()
            .sign_in("dana", "not-danas-password", register)
            .await
            .expect_err("a wrong secret");
        assert!(matches!(e, SignInError::Refused(_)), "{e:?}");
    }
    let e = s
        .rest()
        .sign_in("nobody", "nobodys-password", Registration::Never)
        .await
        .expect_err("no account is made");
    assert!(matches!(e, SignInError::Refused(_)), "{e:?}");
}

#[tokio::test]
async fn sign_in_with_wrong_tenant_keys_is_not_a_refused_password() {
    let s = server().await;
    let rest = RestClient::new(RestConfig::new(
        s.handle.base_url(),
        "wrong-key",
        "wrong-secret",
    ))
    .expect("client");
    let e = rest
        .sign_in("erin", "erin-password-1", Registration::FirstUse)
        .await
        .expect_err("bad tenant");
    assert!(matches!(e, SignInError::Rest(_)), "{e:?}");
}

#[tokio::test]
async fn register_login_and_refresh() {
    let s = server().await;
    let r = s.rest();
    r.register("+255700000009", "correct horse", Some("a@b.c"))
        .await
        .expect("register");
    let e = r
        .register("255700000009", "correct horse", None)
        .await
        .expect_err("duplicate");
    assert_eq!(status(&e), 400);
    assert!(e.to_string().contains("already exists"), "{e}");
    let e = r
        .register("dave", "short", None)
        .await
        .expect_err("short password");
    assert!(e.to_string().contains("password"), "{e}");
    let e = r
        .login("+255700000009", "wrong password")
        .await
        .expect_err("bad password");
    assert_eq!(status(&e), 401);
    assert!(e.to_string().contains("No active account"), "{e}");
    let l = r
        .login("0700000009".replace("07", "2557").as_str(), "correct horse")
        .await
        .expect("login");
    assert_eq!(
        l.nxid,
        format!("+255700000009@{}", s.handle.state.cfg.domain)
    );
    assert!(l.nxws.ends_with("/nx-websocket/"));
    r.contacts()
        .await
        .expect("an authenticated call works with the login's tokens");
}

#[tokio::test]
async fn wrong_tenant_keys_and_bad_tokens_are_refused() {
    let s = server().await;
    let bad =
        RestClient::new(RestConfig::new(s.handle.base_url(), "nope", "nope")).expect("client");
    let e = bad
        .login_or_register("alice", "harness-password")
        .await
        .expect_err("bad keys");
    assert_eq!(status(&e), 401);
    assert!(e.to_string().contains("API key"), "{e}");
    let r = s.rest();
    r.set_nx_token("garbage".into(), None).await;
    let e = r.contacts().await.expect_err("garbage token");
    assert_eq!(status(&e), 401);
    let expired = s
        .handle
        .state
        .tokens
        .issue("alice@simu.local", server::tokens::TokenKind::Nx, 0);
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    r.set_nx_token(expired, None).await;
    let e = r.contacts().await.expect_err("expired token");
    assert!(e.to_string().contains("expired"), "{e}");
}

#[tokio::test]
async fn a_401_refreshes_the_nx_token_once_and_retries() {
    let s = server().await;
    let r = s.rest();
    let t = r
        .login_or_register("alice", "harness-password")
        .await
        .expect("token");
    r.set_nx_token("stale".into(), t.refresh_token.clone())
        .await;
    r.contacts().await.expect("refreshed and retried");
    assert_ne!(r.nx_token().await.as_deref(), Some("stale"));
}

#[tokio::test]
async fn malformed_json_and_wrong_content_type_get_clear_errors() {
    let s = server().await;
    let http = reqwest::Client::new();
    let c = &s.handle.state.cfg;
    let url = format!("{}/api/v1.0/nexacon-auth/login/", s.handle.base_url());
    let resp = http
        .post(&url)
        .header("X-API-Key", &c.api_key)
        .header("X-Secret-Key", &c.secret_key)
        .header("Content-Type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.expect("json error body");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("Invalid JSON")),
        "{body}"
    );
    let resp = http
        .post(&url)
        .header("X-API-Key", &c.api_key)
        .header("X-Secret-Key", &c.secret_key)
        .body("username=x")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 415);
}

async fn seeded(s: &TestServer) -> RestClient {
    let store = &s.handle.state.store;
    let me = "alice@simu.local";
    for (i, (peer, ty, status, day)) in [
        ("bob@simu.local", "video", "ended", "2026-05-01"),
        ("bob@simu.local", "audio", "missed", "2026-05-02"),
        ("carol@simu.local", "video", "declined", "2026-05-03"),
        ("carol@simu.local", "audio", "ended", "2026-05-20"),
        ("bob@simu.local", "video", "failed", "2026-06-01"),
    ]
    .iter()
    .enumerate()
    {
        let row = HistoryRow {
            id: 0,
            room: format!("room{i}"),
            call_type: ty.to_string(),
            status: status.to_string(),
            duration_seconds: if *status == "ended" { 60 } else { 0 },
            caller: me.into(),
            callee: peer.to_string(),
            direction: "outgoing".into(),
            peer: peer.to_string(),
            created_at: format!("{day}T10:00:00Z"),
            metadata: serde_json::json!({}),
            participants: vec![],
            peer_name: None,
        };
        store.insert_history_at(me, &row).await.expect("seed");
        store
            .insert_history_at(
                "mallory@simu.local",
                &HistoryRow {
                    room: format!("m{i}"),
                    ..row
                },
            )
            .await
            .expect("seed");
    }
    let r = s.rest();
    r.login_or_register("alice", "harness-password")
        .await
        .expect("token");
    r
}

#[tokio::test]
async fn history_filters_and_pages() {
    let s = server().await;
    let r = seeded(&s).await;
    let q = |f: fn(&mut HistoryQuery)| {
        let mut q = HistoryQuery::default();
        f(&mut q);
        q
    };
    let all = r.call_history(&HistoryQuery::default()).await.expect("all");
    assert_eq!(all.count, 5, "only alice's own calls");
    assert_eq!(all.results[0].room, "room4", "newest first");
    let p = r
        .call_history(&q(|q| q.call_type = Some("video".into())))
        .await
        .expect("type");
    assert_eq!(p.count, 3);
    let p = r
        .call_history(&q(|q| q.status = Some("missed".into())))
        .await
        .expect("status");
    assert_eq!(
        p.results
            .iter()
            .map(|r| r.room.as_str())
            .collect::<Vec<_>>(),
        ["room1"]
    );
    let p = r
        .call_history(&q(|q| q.participant = Some("carol".into())))
        .await
        .expect("participant");
    assert_eq!(p.count, 2);
    let p = r
        .call_history(&q(|q| {
            q.start_date = Some("2026-05-02".into());
            q.end_date = Some("2026-05-20".into());
        }))
        .await
        .expect("dates");
    assert_eq!(p.count, 3);
    let p1 = r
        .call_history(&q(|q| q.page_size = Some(2)))
        .await
        .expect("page 1");
    assert_eq!((p1.count, p1.results.len()), (5, 2));
    assert!(p1
        .next
        .as_deref()
        .is_some_and(|n| n.contains("page=2") && n.contains("page_size=2")));
    assert!(p1.previous.is_none());
    let p3 = r
        .call_history(&q(|q| {
            q.page_size = Some(2);
            q.page = Some(3);
        }))
        .await
        .expect("page 3");
    assert_eq!(p3.results.len(), 1);
    assert!(p3.next.is_none() && p3.previous.is_some());
}

#[tokio::test]
async fn sql_ish_and_malformed_filter_values_are_refused_or_harmless() {
    let s = server().await;
    let r = seeded(&s).await;
    let bad: Vec<HistoryQuery> = vec![
        HistoryQuery {
            status: Some("ended' OR '1'='1".into()),
            ..Default::default()
        },
        HistoryQuery {
            call_type: Some("video; DROP TABLE call_history".into()),
            ..Default::default()
        },
        HistoryQuery {
            start_date: Some("2026-13-45".into()),
            ..Default::default()
        },
        HistoryQuery {
            start_date: Some("' OR 1=1 --".into()),
            ..Default::default()
        },
        HistoryQuery {
            page: Some(0),
            ..Default::default()
        },
        HistoryQuery {
            page_size: Some(100_000),
            ..Default::default()
        },
        HistoryQuery {
            participant: Some("x' OR '1'='1".into()),
            ..Default::default()
        },
    ];
    for q in bad {
        let e = r.call_history(&q).await.expect_err("refused");
        assert_eq!(status(&e), 400, "{q:?}: {e}");
    }
    let p = r
        .call_history(&HistoryQuery {
            participant: Some("nobody OR 1=1".replace(' ', "")),
            ..Default::default()
        })
        .await
        .expect("harmless");
    assert_eq!(p.count, 0);
    assert_eq!(
        r.call_history(&HistoryQuery::default())
            .await
            .expect("still there")
            .count,
        5,
        "nothing lost"
    );
}

#[tokio::test]
async fn analytics_only_for_your_own_calls_and_with_valid_values() {
    let s = server().await;
    let alice = s.rest();
    alice
        .login_or_register("alice", "harness-password")
        .await
        .expect("alice");
    let bob = s.rest();
    bob.login_or_register("bob", "harness-password")
        .await
        .expect("bob");
    let mallory = s.rest();
    mallory
        .login_or_register("mallory", "harness-password")
        .await
        .expect("mallory");
    let started = alice
        .start_p2p_call("bob", Some("call_42"), Some("video"))
        .await
        .expect("call");
    assert_eq!(started.room, "call_42");
    let rec = |status: &str, d| AnalyticsRecord {
        room: "call_42".into(),
        call_type: "video".into(),
        status: status.into(),
        duration_seconds: d,
        metadata: Default::default(),
        record_id: None,
    };
    let e = mallory
        .record_analytics(&rec("ended", 5))
        .await
        .expect_err("not a participant");
    assert_eq!(status(&e), 404);
    let e = alice
        .record_analytics(&rec("exploded", 5))
        .await
        .expect_err("bad status");
    assert_eq!(status(&e), 400);
    alice
        .record_analytics(&rec("ended", 33))
        .await
        .expect("recorded");
    for who in [&alice, &bob] {
        let h = who
            .call_history(&HistoryQuery::default())
            .await
            .expect("history");
        assert_eq!(
            (h.results[0].status.as_str(), h.results[0].duration_seconds),
            ("ended", 33)
        );
    }
    assert_eq!(
        mallory
            .call_history(&HistoryQuery::default())
            .await
            .expect("empty")
            .count,
        0
    );
    let e = alice
        .start_p2p_call("nobody-here", None, None)
        .await
        .expect_err("unknown callee");
    assert_eq!(status(&e), 404);
    let e = alice
        .start_p2p_call("bob", Some("call_42"), None)
        .await
        .expect_err("room taken");
    assert_eq!(status(&e), 409);
    let e = alice
        .start_p2p_call("bob", Some("../../etc"), None)
        .await
        .expect_err("bad room");
    assert_eq!(status(&e), 400);
}

#[tokio::test]
async fn credentials_links_contacts_and_presence() {
    let s = server_with(|c| {
        c.turn.urls = vec!["turn:127.0.0.1:3478?transport=udp".into()];
        c.turn.shared_secret = "s3cret".into();
        c.stun_urls = vec!["stun:127.0.0.1:3478".into()];
    })
    .await;
    let (alice, _h, _e) = s.online("alice").await;
    let creds = alice.webrtc_credentials().await.expect("credentials");
    assert_eq!(creds.ttl, server::config::DEFAULT_TURN_TTL);
    let turn = &creds.ice_servers[1];
    let user = turn.username.clone().expect("username");
    let (expiry, who) = user.split_once(':').expect("expiry:user");
    assert_eq!(who, "alice@simu.local");
    assert_eq!(
        turn.credential.clone(),
        Some(server::turn::credential("s3cret", who, expiry.parse().expect("number")).1)
    );
    let bob = s.rest();
    bob.login_or_register("bob", "harness-password")
        .await
        .expect("bob");
    let url = alice
        .call_url("bob", "video", Some("call_7"), None)
        .await
        .expect("link")
        .call_url;
    let link = nx::signal::parse_call_link(&format!("Click to join: {url}")).expect("parses");
    assert_eq!(
        (link.room.as_str(), link.caller.as_str()),
        ("call_7", "alice")
    );
    assert!(url.contains("sig="));
    let c = alice.add_contact("bob", "Bob").await.expect("add");
    assert_eq!(
        c.contacts
            .iter()
            .map(|c| c.nxid.as_str())
            .collect::<Vec<_>>(),
        ["bob@simu.local"]
    );
    let p = alice.presence("alice").await.expect("presence");
    assert_eq!(p.status, "online");
    assert_eq!(
        alice.presence("bob").await.expect("presence").status,
        "offline"
    );
    alice.delete_contact("bob").await.expect("delete");
    assert_eq!(
        status(&alice.delete_contact("bob").await.expect_err("gone")),
        404
    );
}
