//! The trust findings, one test each: nobody can act as someone else, and no input takes the
//! server down. Every test talks to a real server on 127.0.0.1:0 the way an attacker would.

mod common;

use common::*;
use nx::rest::{AnalyticsRecord, HistoryQuery};
use nx::{RestError, XmppEvent};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn status(e: &RestError) -> u16 {
    e.status().unwrap_or(0)
}

const PW: &str = "harness-password";

#[tokio::test]
async fn tenant_keys_alone_mint_no_token_for_anyone() {
    let s = server().await;
    let r = s.rest();
    let e = r
        .generate_nx_token("victim", None)
        .await
        .expect_err("no proof");
    assert_eq!(status(&e), 401, "{e}");
    assert!(
        s.handle
            .state
            .store
            .user("victim")
            .await
            .expect("db")
            .is_none(),
        "no account was created"
    );
    let alice = s.rest();
    alice.login_or_register("alice", PW).await.expect("alice");
    let t = alice
        .generate_nx_token("alice", None)
        .await
        .expect("her own token, proven by her access token");
    assert_eq!(t.jid, "alice@simu.local");
    s.rest().login_or_register("bob", PW).await.expect("bob");
    let e = alice
        .generate_nx_token("bob", None)
        .await
        .expect_err("someone else's");
    assert_eq!(status(&e), 403, "{e}");
}

#[tokio::test]
async fn a_trusted_backend_may_mint_but_never_the_servers_own_names() {
    let s = server_with(|c| {
        c.trusted_backend = true;
        c.api_key = "backend-api-key-0001".into();
        c.secret_key = "a-long-backend-secret-that-is-not-in-any-app".into();
    })
    .await;
    let r = s.rest();
    r.generate_nx_token("carol", None)
        .await
        .expect("server-to-server minting");
    for name in ["echo", "Echo", "admin"] {
        let e = s
            .rest()
            .generate_nx_token(name, None)
            .await
            .expect_err("reserved");
        assert_eq!(status(&e), 403, "{name}: {e}");
    }
}

#[tokio::test]
async fn reserved_names_cannot_be_registered() {
    let s = server().await;
    for name in ["echo", "ECHO", "admin", "root"] {
        let e = s
            .rest()
            .register(name, PW, None)
            .await
            .expect_err("reserved");
        assert_eq!(status(&e), 400, "{name}");
    }
}

#[tokio::test]
async fn a_stanza_dribbled_in_tiny_frames_is_cut_off_and_health_stays_fast() {
    let s = server().await;
    let mut ws = raw(&s).await;
    let domain = s.handle.state.cfg.domain.clone();
    send_text(
        &mut ws,
        &format!("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{domain}' version='1.0'/>"),
    )
    .await;
    read_until(&mut ws, "mechanisms").await;
    send_text(&mut ws, "<message><body>").await;
    let health = format!("{}/healthz", s.handle.base_url());
    let started = Instant::now();
    let mut closed = false;
    for i in 0..16_000 {
        use futures_util::SinkExt as _;
        if ws
            .send(tokio_tungstenite::tungstenite::Message::Text("x".into()))
            .await
            .is_err()
        {
            closed = true;
            break;
        }
        if i % 2000 == 0 {
            let t = Instant::now();
            reqwest::get(&health).await.expect("health");
            assert!(
                t.elapsed() < Duration::from_millis(100),
                "healthz took {:?}",
                t.elapsed()
            );
        }
    }
    closed = closed || closed_within(&mut ws, Duration::from_secs(5)).await;
    assert!(closed, "the connection was not cut off");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test]
async fn an_unauthenticated_connection_may_not_buffer_much() {
    let s = server().await;
    let mut ws = raw(&s).await;
    let domain = s.handle.state.cfg.domain.clone();
    send_text(
        &mut ws,
        &format!("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{domain}' version='1.0'/>"),
    )
    .await;
    read_until(&mut ws, "mechanisms").await;
    send_text(&mut ws, &format!("<message><body>{}", "x".repeat(20_000))).await;
    let got = read_until(&mut ws, "stream:error").await;
    assert!(got.contains("policy-violation"), "{got}");
}

#[tokio::test]
async fn failed_logins_lock_the_account_and_unknown_users_look_the_same() {
    let s = server_with(|c| c.limits.login_failures_per_account = 3).await;
    s.rest()
        .login_or_register("alice", PW)
        .await
        .expect("alice");
    let unknown = s
        .rest()
        .login("nobody", "wrong-password")
        .await
        .expect_err("unknown");
    let wrong = s
        .rest()
        .login("alice", "wrong-password")
        .await
        .expect_err("wrong");
    assert_eq!(
        (status(&unknown), unknown.to_string()),
        (status(&wrong), wrong.to_string()),
        "same answer"
    );
    for _ in 0..2 {
        assert_eq!(
            status(
                &s.rest()
                    .login("alice", "wrong-password")
                    .await
                    .expect_err("wrong")
            ),
            401
        );
    }
    let locked = s
        .rest()
        .login("alice", PW)
        .await
        .expect_err("locked even with the right password");
    assert_eq!(status(&locked), 429, "{locked}");
}

#[tokio::test]
async fn failed_logins_from_one_address_are_throttled_across_accounts() {
    let s = server_with(|c| c.limits.login_failures_per_address = 4).await;
    for i in 0..4 {
        let e = s
            .rest()
            .login(&format!("user{i}"), "wrong-password")
            .await
            .expect_err("wrong");
        assert_eq!(status(&e), 401);
    }
    let e = s
        .rest()
        .login("user9", "wrong-password")
        .await
        .expect_err("throttled");
    assert_eq!(status(&e), 429, "{e}");
    let e = s
        .rest()
        .register("fresh", PW, None)
        .await
        .expect_err("throttled too");
    assert_eq!(status(&e), 429, "{e}");
}

#[tokio::test]
async fn half_sent_requests_are_closed_after_the_header_timeout() {
    let s = server_with(|c| c.limits.header_timeout_seconds = 1).await;
    let mut tcp = tokio::net::TcpStream::connect(s.handle.addr)
        .await
        .expect("connect");
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .expect("write");
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(4), tcp.read(&mut buf))
        .await
        .expect("closed in time")
        .unwrap_or(0);
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(
        n == 0 || text.contains("408"),
        "the slow request was answered: {text}"
    );
}

#[tokio::test]
async fn idle_connections_are_closed() {
    let s = server_with(|c| c.limits.idle_timeout_seconds = 1).await;
    let mut tcp = tokio::net::TcpStream::connect(s.handle.addr)
        .await
        .expect("connect");
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(4), tcp.read(&mut buf))
        .await
        .expect("closed in time")
        .unwrap_or(0);
    assert_eq!(n, 0);
}

#[tokio::test]
async fn connections_beyond_the_per_address_cap_are_refused() {
    let s = server_with(|c| c.limits.connections_per_address = 3).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(
            tokio::net::TcpStream::connect(s.handle.addr)
                .await
                .expect("connect"),
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = tokio::net::TcpStream::connect(s.handle.addr)
        .await
        .expect("the kernel accepts");
    let _ = extra
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(3), extra.read(&mut buf))
        .await
        .expect("closed at once")
        .unwrap_or(0);
    assert_eq!(n, 0, "the fourth connection was served");
    held.pop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    reqwest::get(format!("{}/healthz", s.handle.base_url()))
        .await
        .expect("served again once one closed");
}

#[tokio::test]
async fn the_session_limit_counts_authenticated_connections_that_never_bind() {
    let s = server_with(|c| c.limits.sessions_per_user = 2).await;
    let t = s
        .rest()
        .login_or_register("alice", PW)
        .await
        .expect("alice")
        .nxsm_token;
    let mut kept = Vec::new();
    for _ in 0..2 {
        let mut ws = raw(&s).await;
        assert!(raw_auth(&s, &mut ws, "alice", &t).await.contains("success"));
        kept.push(ws);
    }
    let mut third = raw(&s).await;
    let got = raw_auth(&s, &mut third, "alice", &t).await;
    assert!(
        got.contains("failure") && got.contains("too many sessions"),
        "{got}"
    );
    drop(kept.pop());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut again = raw(&s).await;
    assert!(
        raw_auth(&s, &mut again, "alice", &t)
            .await
            .contains("success"),
        "a closed connection gives its place back"
    );
}

#[tokio::test]
async fn sessions_that_stop_answering_are_pinged_and_dropped() {
    let s = server_with(|c| c.limits.idle_ping_seconds = 1).await;
    let t = s
        .rest()
        .login_or_register("bob", PW)
        .await
        .expect("bob")
        .nxsm_token;
    let mut ws = raw(&s).await;
    assert!(raw_auth(&s, &mut ws, "bob", &t).await.contains("success"));
    raw_bind(&s, &mut ws).await;
    send_text(&mut ws, "<presence xmlns='jabber:client'/>").await;
    read_until(&mut ws, "urn:xmpp:ping").await;
    assert!(
        closed_within(&mut ws, Duration::from_secs(4)).await,
        "a silent session stays"
    );
    assert_eq!(s.handle.presence_status("bob@simu.local"), "offline");
}

#[tokio::test]
async fn one_sender_cannot_push_out_anothers_offline_messages() {
    let s = server_with(|c| {
        c.limits.offline_per_sender = 3;
        c.limits.offline_per_user = 10;
    })
    .await;
    s.rest().login_or_register("bob", PW).await.expect("bob");
    let (_ra, alice, _ea) = s.online("alice").await;
    alice
        .send_body(&s.jid("bob"), "from alice".into())
        .await
        .expect("send");
    let (_rm, mallory, _em) = s.online("mallory").await;
    for i in 0..30 {
        mallory
            .send_body(&s.jid("bob"), format!("junk {i}"))
            .await
            .expect("send");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_rb, _bob, mut eb) = s.online("bob").await;
    let mut bodies = Vec::new();
    while let Ok(Some(ev)) = tokio::time::timeout(Duration::from_secs(2), eb.recv()).await {
        if let XmppEvent::Message { body, .. } = ev {
            bodies.push(body);
        }
    }
    assert!(bodies.contains(&"from alice".to_string()), "{bodies:?}");
    assert_eq!(
        bodies.iter().filter(|b| b.starts_with("junk")).count(),
        3,
        "{bodies:?}"
    );
}

#[tokio::test]
async fn presence_is_only_for_contacts_and_says_nothing_about_strangers() {
    let s = server().await;
    let (alice, _ha, _ea) = s.online("alice").await;
    let (_rb, _hb, _eb) = s.online("bob").await;
    let stranger = alice.presence("bob").await.expect("answer");
    let nobody = alice.presence("nobody").await.expect("answer");
    assert_eq!(
        (stranger.status.as_str(), stranger.last_seen.is_none()),
        ("offline", true),
        "bob is online but not her contact"
    );
    assert_eq!(
        (nobody.status.as_str(), nobody.last_seen.is_none()),
        ("offline", true)
    );
    alice.add_contact("bob", "Bob").await.expect("add");
    assert_eq!(
        alice.presence("bob").await.expect("answer").status,
        "online"
    );
}

#[tokio::test]
async fn each_party_writes_only_its_own_history_and_only_forward() {
    let s = server().await;
    let alice = s.rest();
    alice.login_or_register("alice", PW).await.expect("alice");
    let bob = s.rest();
    bob.login_or_register("bob", PW).await.expect("bob");
    alice
        .start_p2p_call("bob", Some("call_h1"), Some("video"))
        .await
        .expect("call");
    let rec = |status: &str, d| AnalyticsRecord {
        room: "call_h1".into(),
        call_type: "video".into(),
        status: status.into(),
        duration_seconds: d,
        metadata: Default::default(),
        record_id: None,
    };
    alice
        .record_analytics(&rec("ended", 30))
        .await
        .expect("alice reports");
    let row = |r: &nx::RestClient| {
        let r = r.clone();
        async move {
            r.call_history(&HistoryQuery::default())
                .await
                .expect("history")
                .results
                .remove(0)
        }
    };
    let b = row(&bob).await;
    assert_eq!(
        (b.status.as_str(), b.duration_seconds),
        ("ended", 30),
        "bob never reported: derived from alice's report"
    );
    bob.record_analytics(&rec("ended", 29))
        .await
        .expect("bob reports");
    assert_eq!(
        row(&bob).await.duration_seconds,
        29,
        "his own report replaces the derived one"
    );
    bob.record_analytics(&rec("ended", 99_999))
        .await
        .expect("recorded as an event");
    bob.record_analytics(&rec("initiated", 0))
        .await
        .expect("recorded as an event");
    let b = row(&bob).await;
    assert_eq!(
        (b.status.as_str(), b.duration_seconds),
        ("ended", 29),
        "a final outcome stays final"
    );
    let a = row(&alice).await;
    assert_eq!(
        (a.status.as_str(), a.duration_seconds),
        ("ended", 30),
        "bob cannot rewrite alice's row"
    );
}

#[tokio::test]
async fn an_offline_callee_who_never_reports_sees_a_missed_call() {
    let s = server().await;
    let alice = s.rest();
    alice.login_or_register("alice", PW).await.expect("alice");
    let bob = s.rest();
    bob.login_or_register("bob", PW).await.expect("bob");
    alice
        .start_p2p_call("bob", Some("call_m1"), Some("audio"))
        .await
        .expect("call");
    let rec = AnalyticsRecord {
        room: "call_m1".into(),
        call_type: "audio".into(),
        status: "cancelled".into(),
        duration_seconds: 0,
        metadata: Default::default(),
        record_id: None,
    };
    alice.record_analytics(&rec).await.expect("alice gave up");
    let b = bob
        .call_history(&HistoryQuery::default())
        .await
        .expect("history")
        .results
        .remove(0);
    assert_eq!(b.status, "missed");
}

#[tokio::test]
async fn analytics_retries_with_one_key_add_one_row_and_records_per_call_are_bounded() {
    let s = server_with(|c| c.limits.analytics_per_call = 3).await;
    let alice = s.rest();
    alice.login_or_register("alice", PW).await.expect("alice");
    s.rest().login_or_register("bob", PW).await.expect("bob");
    alice
        .start_p2p_call("bob", Some("call_a1"), Some("audio"))
        .await
        .expect("call");
    let rec = AnalyticsRecord {
        room: "call_a1".into(),
        call_type: "audio".into(),
        status: "ended".into(),
        duration_seconds: 5,
        metadata: Default::default(),
        record_id: Some("k1".into()),
    };
    let first = alice.record_analytics(&rec).await.expect("first");
    let retry = alice
        .record_analytics(&rec)
        .await
        .expect("retry after a lost 201");
    assert_eq!(first.id, retry.id);
    for i in 0..2 {
        alice
            .record_analytics(&AnalyticsRecord {
                record_id: Some(format!("n{i}")),
                ..rec.clone()
            })
            .await
            .expect("within the bound");
    }
    let e = alice
        .record_analytics(&AnalyticsRecord {
            record_id: Some("n9".into()),
            ..rec.clone()
        })
        .await
        .expect_err("over the bound");
    assert_eq!(status(&e), 429);
}

#[tokio::test]
async fn signing_out_revokes_every_token_and_ends_live_sessions() {
    let s = server().await;
    let (alice, _h, mut ev) = s.online("alice").await;
    let old_nx = alice.nx_token().await.expect("token");
    alice.contacts().await.expect("works before");
    alice.logout().await.expect("sign out");
    let again = s.rest();
    again.set_nx_token(old_nx.clone(), None).await;
    assert_eq!(status(&again.contacts().await.expect_err("revoked")), 401);
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ev.recv()).await {
            Ok(Some(XmppEvent::Offline { .. } | XmppEvent::Failed(_) | XmppEvent::Closed)) => break,
            Ok(Some(_)) => continue,
            other => panic!("the live session was not ended: {other:?}"),
        }
    }
    let mut ws = raw(&s).await;
    let got = raw_auth(&s, &mut ws, "alice", &old_nx).await;
    assert!(got.contains("failure") && got.contains("revoked"), "{got}");
}

#[tokio::test]
async fn a_refresh_token_used_twice_revokes_the_sign_in() {
    let s = server().await;
    let r = s.rest();
    let login = r.login_or_register("alice", PW).await.expect("alice");
    let nx_refresh = login
        .refresh_token
        .clone()
        .expect("login gives an NX refresh token");
    let http = reqwest::Client::new();
    let c = &s.handle.state.cfg;
    let refresh = |token: String| {
        let req = http
            .post(format!(
                "{}/api/v1.0/nexacon-auth/nxm-token/refresh/",
                s.handle.base_url()
            ))
            .header("X-API-Key", &c.api_key)
            .header("X-Secret-Key", &c.secret_key)
            .json(&serde_json::json!({ "refresh_token": token }));
        async move {
            let resp = req.send().await.expect("send");
            (
                resp.status().as_u16(),
                resp.json::<serde_json::Value>().await.unwrap_or_default(),
            )
        }
    };
    let (st1, first) = refresh(nx_refresh.clone()).await;
    assert_eq!(st1, 200);
    let rotated = first["refresh_token"]
        .as_str()
        .expect("rotated")
        .to_string();
    assert_ne!(rotated, nx_refresh);
    let (st2, _) = refresh(nx_refresh).await;
    assert_eq!(st2, 401, "the old one is spent");
    let (st3, _) = refresh(rotated).await;
    assert_eq!(
        st3, 401,
        "reuse revoked the whole family, the thief's copy too"
    );
}

#[tokio::test]
async fn a_session_ends_when_its_token_expires() {
    let s = server_with(|c| c.nx_token_ttl = 2).await;
    let t = s
        .rest()
        .login_or_register("alice", PW)
        .await
        .expect("alice")
        .nxsm_token;
    let mut ws = raw(&s).await;
    assert!(raw_auth(&s, &mut ws, "alice", &t).await.contains("success"));
    raw_bind(&s, &mut ws).await;
    let got = read_until(&mut ws, "stream:error").await;
    assert!(got.contains("expired"), "{got}");
}

#[tokio::test]
async fn client_sent_delay_stamps_are_removed() {
    let s = server().await;
    let (_rb, _bob, mut eb) = s.online("bob").await;
    let t = s
        .rest()
        .login_or_register("mallory", PW)
        .await
        .expect("mallory")
        .nxsm_token;
    let mut ws = raw(&s).await;
    assert!(raw_auth(&s, &mut ws, "mallory", &t)
        .await
        .contains("success"));
    raw_bind(&s, &mut ws).await;
    send_text(&mut ws, "<message xmlns='jabber:client' to='bob@simu.local' type='chat'><body>{}</body><delay xmlns='urn:xmpp:delay' stamp='2001-01-01T00:00:00Z'/></message>").await;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), eb.recv()).await {
            Ok(Some(XmppEvent::Message { delayed, .. })) => {
                assert!(!delayed, "a forged delay reached bob");
                break;
            }
            Ok(Some(_)) => continue,
            other => panic!("no message: {other:?}"),
        }
    }
}

#[tokio::test]
async fn mixed_case_addresses_reach_the_live_session() {
    let s = server().await;
    let (_rb, _bob, mut eb) = s.online("bob").await;
    let t = s
        .rest()
        .login_or_register("alice", PW)
        .await
        .expect("alice")
        .nxsm_token;
    let mut ws = raw(&s).await;
    assert!(raw_auth(&s, &mut ws, "alice", &t).await.contains("success"));
    raw_bind(&s, &mut ws).await;
    send_text(
        &mut ws,
        "<message xmlns='jabber:client' to='Bob@SIMU.LOCAL' type='chat'><body>hi</body></message>",
    )
    .await;
    assert_eq!(next_body(&mut eb).await.1, "hi");
}

#[tokio::test]
async fn contacts_are_bounded_in_number_and_length() {
    let s = server_with(|c| c.limits.contacts_per_user = 2).await;
    let (alice, _h, _e) = s.online("alice").await;
    alice.add_contact("bob", "Bob").await.expect("1");
    alice.add_contact("carol", "Carol").await.expect("2");
    alice
        .add_contact("carol", "Caroline")
        .await
        .expect("renaming is not adding");
    assert_eq!(
        status(&alice.add_contact("dave", "Dave").await.expect_err("3")),
        400
    );
    assert_eq!(
        status(
            &alice
                .add_contact(&"x".repeat(400), "")
                .await
                .expect_err("long")
        ),
        400
    );
}

#[tokio::test]
async fn the_database_and_keys_are_private_files() {
    use std::os::unix::fs::PermissionsExt as _;
    let s = server().await;
    s.rest()
        .login_or_register("alice", PW)
        .await
        .expect("alice");
    let dir = &s.handle.state.cfg.data_dir;
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("exists").permissions().mode() & 0o777;
    assert_eq!(mode(dir), 0o700);
    for f in [
        "simu.db",
        "simu.db-wal",
        "jwt.secret",
        "tenant.json",
        "link.secret",
    ] {
        assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
    }
}

#[tokio::test]
async fn the_server_proves_its_identity_with_the_install_secret() {
    let s = server().await;
    let nonce = "00112233445566778899aabbccddeeff";
    let got: serde_json::Value = reqwest::get(format!(
        "{}/api/v1.0/simu/identity/?nonce={nonce}",
        s.handle.base_url()
    ))
    .await
    .expect("get")
    .json()
    .await
    .expect("json");
    let want = server::rest::identity_proof(&s.handle.state.cfg.secret_key, nonce);
    assert_eq!(got["proof"].as_str(), Some(want.as_str()));
    assert_ne!(
        want,
        server::rest::identity_proof("another install's secret", nonce)
    );
}

#[tokio::test]
async fn a_server_beyond_loopback_refuses_the_old_public_keys() {
    let dir = tempfile::tempdir().expect("dir");
    let cfg = server::ServerConfig {
        listen: "0.0.0.0:0".parse().expect("addr"),
        data_dir: dir.path().to_path_buf(),
        api_key: "simu-local-key".into(),
        secret_key: "simu-local-secret".into(),
        echo: false,
        ..Default::default()
    };
    let e = server::start(cfg).await.err().expect("refused");
    assert!(e.to_string().contains("tenant key"), "{e}");
}

#[tokio::test]
async fn registrations_from_one_address_are_bounded() {
    let s = server_with(|c| c.limits.registrations_per_address = 3).await;
    for i in 0..3 {
        s.rest()
            .register(&format!("new{i}"), PW, None)
            .await
            .expect("within the bound");
    }
    let e = s
        .rest()
        .register("new9", PW, None)
        .await
        .expect_err("over the bound");
    assert_eq!(status(&e), 429, "{e}");
}
