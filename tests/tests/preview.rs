//! The settings screen's camera preview: frames in the local sink outside calls, stopped on
//! request and by a call taking the camera over.

use call::CallState;
use e2e::*;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camera_preview_shows_frames_until_stopped_or_a_call_starts() {
    let h = Harness::start().await;
    let alice = h.manager("alice").await;
    let sink = alice.local_video();
    let name = alice.preview_camera(true).await.expect("preview");
    assert!(!name.is_empty());
    let start = sink.frames();
    assert!(
        eventually(Duration::from_secs(3), || (sink.frames() >= start + 10)
            .then_some(()))
        .await
        .is_some(),
        "preview frames"
    );
    assert_eq!(sink.size(), (1280, 720));
    alice.preview_camera(false).await.expect("stop");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopped = sink.frames();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.frames(), stopped, "no frames after the preview stops");

    alice.preview_camera(true).await.expect("preview again");
    alice.initiate_call("echo", true, true).await.expect("dial");
    wait_state(&alice, CallState::Connected, Duration::from_secs(20)).await;
    alice.end_call().await.expect("end");
    wait_state(&alice, CallState::Idle, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = sink.frames();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        sink.frames(),
        after,
        "the call ended the preview; nothing feeds the sink now"
    );
}
