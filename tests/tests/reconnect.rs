//! Losing the signaling socket mid-call does not drop the call.

use call::{CallEvent, CallState, Outcome};
use e2e::*;
use std::sync::atomic::Ordering;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_survives_signaling_loss_and_ends_normally() {
    let h = Harness::start().await;
    let alice = h.manager("alice").await;
    let bob = h.manager("bob").await;
    connected_call(&alice, &bob, "bob", true).await;
    let mut be = bob.subscribe();

    let kicked = h.server.kick(&h.jid("alice").to_string());
    assert_eq!(kicked, 1);
    let mut online = alice.signaling_online();
    let went_down = matches!(
        tokio::time::timeout(Duration::from_secs(5), online.wait_for(|on| !*on)).await,
        Ok(Ok(_))
    );
    assert!(went_down, "alice notices the drop");
    let before = bob.receive_counters().video_frames.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let after = bob.receive_counters().video_frames.load(Ordering::Relaxed);
    assert!(
        after > before + 10,
        "media keeps flowing while signaling is down ({before} -> {after})"
    );
    wait_online(&alice).await;
    assert_eq!(alice.state(), CallState::Connected);

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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ice_restart_renegotiates_without_dropping_the_call() {
    let h = Harness::start().await;
    let alice = h.manager("alice").await;
    let bob = h.manager("bob").await;
    connected_call(&alice, &bob, "bob", true).await;
    let mut be = bob.subscribe();
    for _ in 0..2 {
        alice.restart_ice().await.expect("restart");
        let before = bob.receive_counters().video_frames.load(Ordering::Relaxed);
        let moved = eventually(Duration::from_secs(10), || {
            (bob.receive_counters().video_frames.load(Ordering::Relaxed) > before + 30)
                .then_some(())
        })
        .await;
        assert!(moved.is_some(), "video keeps arriving after the restart");
    }
    assert_eq!(alice.state(), CallState::Connected);
    assert_eq!(bob.state(), CallState::Connected);
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
}
