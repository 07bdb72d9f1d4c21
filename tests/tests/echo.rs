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
        rest.login_or_register("alice", "harness-password").await.expect("token");
        rest.contacts().await.expect("contacts")
    };
    assert_eq!(contacts.contacts[0].nxid, h.jid("echo").to_string(), "echo is listed first");
    let alice = h.manager("alice").await;
    alice.initiate_call("echo", true, true).await.expect("dial");
    wait_state(&alice, CallState::Connected, Duration::from_secs(20)).await;
    let counters = alice.receive_counters();
    let got = eventually(Duration::from_secs(10), || (counters.stamped_frames.load(Ordering::Relaxed) > 30).then_some(())).await;
    assert!(got.is_some(), "echoed frames decoded");
    let remote = alice.remote_video().latest().expect("remote frame");
    let local = alice.local_video().latest().expect("local frame");
    let (r, l) = (stamp::read(&remote).expect("remote stamp"), stamp::read(&local).expect("local stamp"));
    assert!(r.counter <= l.counter && l.counter - r.counter < 30, "echo lags at most a second: sent {} got back {}", l.counter, r.counter);
    let age_us = media::now_micros().saturating_sub(r.capture_us);
    assert!(age_us < 2_000_000, "the echoed frame was captured by us moments ago ({age_us} us)");
    let audio = eventually(Duration::from_secs(5), || (counters.audio_frames.load(Ordering::Relaxed) > 50).then_some(())).await;
    assert!(audio.is_some(), "echoed audio decoded");
    alice.end_call().await.expect("end");
    wait_state(&alice, CallState::Idle, Duration::from_secs(5)).await;
}
