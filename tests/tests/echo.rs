//! The echo contact sends the caller's own pictures back.

use call::CallState;
use e2e::*;
use media::stamp;
use std::sync::atomic::Ordering;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_contact_returns_our_own_test_pattern() {
    let h = Harness::start().await;
    let contacts = {
        let rest = h.rest();
        rest.login_or_register("alice", "harness-password")
            .await
            .expect("token");
        rest.contacts().await.expect("contacts")
    };
    assert_eq!(
        contacts.contacts[0].nxid,
        h.jid("echo").to_string(),
        "echo is listed first"
    );
    let alice = h.manager("alice").await;
    alice.initiate_call("echo", true, true).await.expect("dial");
    wait_state(&alice, CallState::Connected, Duration::from_secs(20)).await;
    let counters = alice.receive_counters();
    let got = eventually(Duration::from_secs(10), || {
        (counters.stamped_frames.load(Ordering::Relaxed) > 30).then_some(())
    })
    .await;
    assert!(got.is_some(), "echoed frames decoded");
    let remote = alice.remote_video().latest().expect("remote frame");
    let local = alice.local_video().latest().expect("local frame");
    let (r, l) = (
        stamp::read(&remote).expect("remote stamp"),
        stamp::read(&local).expect("local stamp"),
    );
    assert!(
        r.counter <= l.counter && l.counter - r.counter < 30,
        "echo lags at most a second: sent {} got back {}",
        l.counter,
        r.counter
    );
    let age_us = media::now_micros().saturating_sub(r.capture_us);
    assert!(
        age_us < 2_000_000,
        "the echoed frame was captured by us moments ago ({age_us} us)"
    );
    let audio = eventually(Duration::from_secs(5), || {
        (counters.audio_frames.load(Ordering::Relaxed) > 50).then_some(())
    })
    .await;
    assert!(audio.is_some(), "echoed audio decoded");
    alice.end_call().await.expect("end");
    wait_state(&alice, CallState::Idle, Duration::from_secs(5)).await;
}

/// One account cannot make the echo contact busy for everyone: invitations it never follows
/// with an offer hold at most two slots, and forged timestamps change nothing.
#[tokio::test]
async fn one_caller_cannot_hold_every_echo_slot() {
    let h = Harness::start().await;
    let rest = h.rest();
    let t = rest
        .login_or_register("mallory", "harness-password")
        .await
        .expect("mallory");
    let (xmpp, mut ev, _task) =
        nx::XmppClient::start(nx::XmppConfig::new(t.nxws, h.jid("mallory"), t.nxsm_token));
    let mut answers = Vec::new();
    for (i, ts) in [i64::MIN, i64::MAX, 0, 1].into_iter().enumerate() {
        let inv = nx::Signal::CallInvitation {
            room_id: format!("junk{i}"),
            call_type: nx::CallType::Video,
            from_nx_id: h.jid("mallory").to_string(),
            from_name: "M".into(),
            timestamp: ts,
            participants: vec![],
            sfu: false,
            knock: false,
        };
        xmpp.send_body(&h.jid("echo"), inv.to_json())
            .await
            .expect("send");
    }
    while answers.len() < 4 {
        match tokio::time::timeout(Duration::from_secs(10), ev.recv()).await {
            Ok(Some(nx::XmppEvent::Message { body, .. })) => {
                if let Ok(nx::Signal::CallResponse { accepted, .. }) = nx::Signal::parse(&body) {
                    answers.push(accepted);
                }
            }
            Ok(Some(_)) => continue,
            other => panic!("echo stopped answering: {other:?}"),
        }
    }
    assert_eq!(
        answers.iter().filter(|a| **a).count(),
        2,
        "two slots for one caller: {answers:?}"
    );
    let alice = h.manager("alice").await;
    alice
        .initiate_call("echo", true, false)
        .await
        .expect("dial");
    wait_state(&alice, CallState::Connected, Duration::from_secs(20)).await;
    alice.end_call().await.expect("end");
}
