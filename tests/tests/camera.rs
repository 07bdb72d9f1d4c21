//! Cameras mid-call: switching to another one keeps the call (no renegotiation) and the picture
//! changes; a camera that stops falls back to the next one and says so.

use call::{CallEvent, CallState, MediaFactory, OpenVideo};
use e2e::*;
use media::pattern::TestPattern;
use media::{SourceError, VideoFrame, VideoSource};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

fn pattern(w: usize, h: usize) -> OpenVideo {
    Arc::new(move || Box::new(TestPattern::new(w, h)) as Box<dyn VideoSource>)
}

/// A camera that is unplugged after `frames` pictures.
struct Unplugged {
    inner: TestPattern,
    left: usize,
}

impl VideoSource for Unplugged {
    fn next_frame(&mut self) -> Result<VideoFrame, SourceError> {
        if self.left == 0 {
            return Err(SourceError::Gone("USB camera unplugged".into()));
        }
        self.left -= 1;
        self.inner.next_frame()
    }

    fn name(&self) -> String {
        "USB camera".into()
    }
}

fn unplugged_after(frames: usize) -> OpenVideo {
    Arc::new(move || {
        Box::new(Unplugged {
            inner: TestPattern::new(1280, 720),
            left: frames,
        }) as Box<dyn VideoSource>
    })
}

fn cameras(list: Vec<(&str, OpenVideo)>) -> MediaFactory {
    MediaFactory {
        video: list.into_iter().map(|(n, m)| (n.to_string(), m)).collect(),
        ..MediaFactory::synthetic()
    }
}

/// Waits until Bob has decoded `n` more stamped frames.
async fn frames_arrive(bob: &call::CallManager, n: u64) -> bool {
    let c = bob.receive_counters();
    let start = c.stamped_frames.load(Ordering::Relaxed);
    eventually(Duration::from_secs(10), || {
        (c.stamped_frames.load(Ordering::Relaxed) >= start + n).then_some(())
    })
    .await
    .is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_cameras_mid_call_changes_the_picture_without_renegotiating() {
    let h = Harness::start().await;
    let alice = h
        .manager_with("alice", |c| {
            c.media = cameras(vec![
                ("Front", pattern(1280, 720)),
                ("Back", pattern(640, 360)),
            ])
        })
        .await;
    let bob = h.manager("bob").await;
    connected_call(&alice, &bob, "bob", true).await;
    assert!(frames_arrive(&bob, 60).await, "video from the first camera");
    // Listening from here: "media connected" of the call's own start may still be on its way.
    let mut events = alice.subscribe();
    let before = bob
        .receive_counters()
        .last_stamp_counter
        .load(Ordering::Relaxed);
    assert!(before >= 60, "the front camera has sent {before} pictures");

    assert_eq!(alice.switch_camera().await.expect("switch"), "Back");
    // The back camera's own frame counter starts again at 0: Bob sees the new camera's pictures.
    let c = bob.receive_counters();
    let switched = eventually(Duration::from_secs(5), || {
        (c.last_stamp_counter.load(Ordering::Relaxed) < 30).then_some(())
    })
    .await;
    assert!(switched.is_some(), "Bob sees the back camera");
    assert!(
        frames_arrive(&bob, 30).await,
        "video keeps moving after the switch"
    );
    assert_eq!(
        bob.remote_video().size(),
        (1280, 720),
        "sent at the call's size"
    );
    assert_eq!(alice.state(), CallState::Connected);
    while let Ok(e) = events.try_recv() {
        assert!(
            !matches!(
                e,
                CallEvent::MediaConnected { .. } | CallEvent::Reconnecting { .. }
            ),
            "no renegotiation: {e:?}"
        );
    }
    assert_eq!(alice.switch_camera().await.expect("switch back"), "Front");
    assert_eq!(
        alice.camera_names(),
        vec!["Front".to_string(), "Back".to_string()]
    );
    assert_eq!(
        alice.select_camera("Back").await.expect("chosen by name"),
        "Back"
    );
    assert!(
        matches!(alice.select_camera("Side").await, Err(call::CallError::UnknownCamera(n)) if n == "Side")
    );
    alice.end_call().await.expect("end");
    alice.dispose().await;
    bob.dispose().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_unplugged_mid_call_falls_back_to_the_next_and_says_so() {
    let h = Harness::start().await;
    let alice = h
        .manager_with("alice", |c| {
            c.media = cameras(vec![
                ("USB camera", unplugged_after(90)),
                ("Built-in camera", pattern(1280, 720)),
            ])
        })
        .await;
    let bob = h.manager("bob").await;
    let mut events = alice.subscribe();
    connected_call(&alice, &bob, "bob", true).await;
    let lost = wait_event(&mut events, Duration::from_secs(10), |e| {
        matches!(e, CallEvent::CameraLost { .. })
    })
    .await;
    match lost {
        CallEvent::CameraLost {
            camera,
            now_using,
            message,
        } => {
            assert_eq!(camera, "USB camera");
            assert_eq!(now_using.as_deref(), Some("Built-in camera"));
            assert!(message.contains("unplugged"), "{message}");
        }
        _ => unreachable!(),
    }
    assert!(
        frames_arrive(&bob, 30).await,
        "the built-in camera's pictures reach Bob"
    );
    assert_eq!(alice.state(), CallState::Connected, "the call goes on");
    alice.end_call().await.expect("end");
    alice.dispose().await;
    bob.dispose().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_only_camera_unplugged_sends_a_camera_off_picture() {
    let h = Harness::start().await;
    let alice = h
        .manager_with("alice", |c| {
            c.media = cameras(vec![("USB camera", unplugged_after(30))])
        })
        .await;
    let bob = h.manager("bob").await;
    let mut events = alice.subscribe();
    connected_call(&alice, &bob, "bob", true).await;
    let lost = wait_event(&mut events, Duration::from_secs(10), |e| {
        matches!(e, CallEvent::CameraLost { .. })
    })
    .await;
    assert!(
        matches!(
            lost,
            CallEvent::CameraLost {
                now_using: None,
                ..
            }
        ),
        "{lost:?}"
    );
    let c = bob.receive_counters();
    let frames = c.video_frames.load(Ordering::Relaxed);
    let moving = eventually(Duration::from_secs(5), || {
        (c.video_frames.load(Ordering::Relaxed) > frames + 20).then_some(())
    })
    .await;
    assert!(
        moving.is_some(),
        "black pictures keep the video track alive"
    );
    let black = bob.remote_video().latest().expect("a picture");
    assert!(
        black.y_plane().iter().all(|&y| y <= 20),
        "the camera-off picture is black"
    );
    alice.end_call().await.expect("end");
    alice.dispose().await;
    bob.dispose().await;
}
