//! The same calls through real servers: ejabberd for signaling, coturn for a relay-only path.
//! `infra/up.sh` starts both and exports their addresses.

use call::{CallEvent, CallState, Outcome};
use e2e::*;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A connected video call with pictures decoded on both sides.
async fn video_both_ways(a: &call::CallManager, b: &call::CallManager, callee: &str) -> String {
    let room = connected_call(a, b, callee, true).await;
    let got = eventually(Duration::from_secs(10), || {
        (a.receive_counters().video_frames.load(Ordering::Relaxed) > 30
            && b.receive_counters().video_frames.load(Ordering::Relaxed) > 30)
            .then_some(())
    })
    .await;
    assert!(got.is_some(), "video decoded both ways");
    room
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_through_real_ejabberd() {
    let (Some(ws), Some(domain), Some(secret)) = (
        infra_env("SIMU_TEST_EJABBERD_WS"),
        infra_env("SIMU_TEST_EJABBERD_DOMAIN"),
        infra_env("SIMU_TEST_JWT_SECRET"),
    ) else {
        return;
    };
    let h = Harness::start_with(|c| {
        c.domain = domain.clone();
        c.nxws_url = ws.clone();
        c.jwt_secret = secret.clone();
        c.echo = false;
    })
    .await;
    let alice = h.manager("+255700000101").await;
    let bob = h.manager("+255700000102").await;
    let room = video_both_ways(&alice, &bob, "+255700000102").await;
    let mut be = bob.subscribe();
    alice.end_call().await.expect("end");
    let e = wait_event(&mut be, Duration::from_secs(10), |e| {
        matches!(e, CallEvent::CallEnded { .. })
    })
    .await;
    assert!(
        matches!(
            e,
            CallEvent::CallEnded {
                outcome: Outcome::Ended,
                ..
            }
        ),
        "{e:?}"
    );
    wait_history_status(&h, &["+255700000101", "+255700000102"], &room, "ended").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_only_call_through_real_coturn_with_minted_credentials() {
    let (Some(url), Some(secret)) = (
        infra_env("SIMU_TEST_TURN_URL"),
        infra_env("SIMU_TEST_TURN_SECRET"),
    ) else {
        return;
    };
    let h = Harness::start_with(|c| {
        c.turn.urls = vec![url.clone()];
        c.turn.shared_secret = secret.clone();
    })
    .await;
    let creds = {
        let r = h.rest();
        r.login_or_register("alice", "harness-password")
            .await
            .expect("token");
        r.webrtc_credentials().await.expect("credentials")
    };
    let turn = creds
        .ice_servers
        .iter()
        .find(|s| s.urls.iter().any(|u| u.starts_with("turn:")))
        .expect("a TURN server is handed out");
    assert!(
        turn.username
            .as_deref()
            .is_some_and(|u| u.ends_with(":alice@simu.local")),
        "{turn:?}"
    );
    let relay = |c: &mut call::CallConfig| c.net.relay_only = true;
    let alice = h.manager_with("alice", relay).await;
    let bob = h.manager_with("bob", relay).await;
    video_both_ways(&alice, &bob, "bob").await;
    alice.end_call().await.expect("end");
    wait_state(&bob, CallState::Idle, Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_only_call_fails_cleanly_with_a_wrong_turn_secret() {
    let Some(url) = infra_env("SIMU_TEST_TURN_URL") else {
        return;
    };
    let h = Harness::start_with(|c| {
        c.turn.urls = vec![url.clone()];
        c.turn.shared_secret = "not-the-secret".into();
    })
    .await;
    let relay = |c: &mut call::CallConfig| {
        c.net.relay_only = true;
        c.timeouts.connect = Duration::from_secs(6);
    };
    let alice = h.manager_with("alice", relay).await;
    let bob = h.manager_with("bob", relay).await;
    let mut ae = alice.subscribe();
    let mut be = bob.subscribe();
    alice.initiate_call("bob", true, false).await.expect("dial");
    wait_event(&mut be, Duration::from_secs(10), |e| {
        matches!(e, CallEvent::IncomingCall { .. })
    })
    .await;
    bob.accept_call(true, false).await.expect("accept");
    let e = wait_event(&mut ae, Duration::from_secs(20), |e| {
        matches!(e, CallEvent::CallEnded { .. })
    })
    .await;
    assert!(
        matches!(
            e,
            CallEvent::CallEnded {
                outcome: Outcome::Failed,
                ..
            }
        ),
        "no relay, no call: {e:?}"
    );
    wait_state(&bob, CallState::Idle, Duration::from_secs(10)).await;
}
