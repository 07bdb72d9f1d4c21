//! Two CallManagers and simu-server in one process: real WebRTC, real codecs, on loopback.

use call::{CallEvent, CallState, Outcome};
use e2e::*;
use nx::rest::HistoryQuery;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_call_end_to_end_with_stats_quality_change_and_history() {
    let h = Harness::start().await;
    let alice = h.manager("alice").await;
    let bob = h.manager("+255700000002").await;
    let mut bob_events = bob.subscribe();
    let mut alice_events = alice.subscribe();

    let room = alice
        .initiate_call("+255700000002", true, true)
        .await
        .expect("dial");
    let incoming = wait_event(&mut bob_events, Duration::from_secs(10), |e| {
        matches!(e, CallEvent::IncomingCall { .. })
    })
    .await;
    match incoming {
        CallEvent::IncomingCall {
            room: r,
            caller,
            caller_name,
            call_type,
            others,
            knock,
        } => {
            assert_eq!(r, room);
            assert!(others.is_empty(), "a 1:1 call names nobody else");
            assert!(!knock, "a call, not a guest asking to be let in");
            assert_eq!(caller, h.jid("alice").to_string());
            assert_eq!(caller_name, "alice");
            assert_eq!(call_type, nx::CallType::Video);
        }
        _ => unreachable!(),
    }
    bob.accept_call(true, true).await.expect("accept");
    wait_state(&alice, CallState::Connected, Duration::from_secs(20)).await;
    wait_state(&bob, CallState::Connected, Duration::from_secs(20)).await;
    alice
        .start_stats_collection(Duration::from_millis(1000))
        .await
        .expect("stats");
    bob.start_stats_collection(Duration::from_millis(1000))
        .await
        .expect("stats");

    tokio::time::sleep(Duration::from_secs(4)).await;
    for (who, m) in [("alice", &alice), ("bob", &bob)] {
        let s = m
            .latest_stats()
            .unwrap_or_else(|| panic!("{who} has stats"));
        assert!(
            s.video.frames_received > 30,
            "{who} decoded {} frames",
            s.video.frames_received
        );
        assert_eq!(
            (s.video.frame_width, s.video.frame_height),
            (1280, 720),
            "{who}"
        );
        assert!(
            s.video.bitrate > 100_000,
            "{who} video bitrate {}",
            s.video.bitrate
        );
        assert!(
            s.audio.packets_received > 50,
            "{who} audio packets {}",
            s.audio.packets_received
        );
        assert!(
            s.audio.bitrate > 0 && s.video_out.bytes_sent > 0 && s.audio_out.packets_sent > 0,
            "{who}: {s:?}"
        );
        let v = serde_json::to_value(&s).expect("json");
        for (group, keys) in [
            (
                "video",
                &[
                    "bitrate",
                    "packetsReceived",
                    "packetsLost",
                    "bytesReceived",
                    "framesReceived",
                    "frameWidth",
                    "frameHeight",
                ][..],
            ),
            (
                "audio",
                &["bitrate", "packetsReceived", "packetsLost", "bytesReceived"][..],
            ),
            ("videoOut", &["packetsSent", "bytesSent"][..]),
            ("audioOut", &["packetsSent", "bytesSent"][..]),
        ] {
            for k in keys {
                assert!(
                    v[group].get(*k).is_some(),
                    "{who}: {group}.{k} missing in {v}"
                );
            }
        }
        assert_eq!(s.codec, "H264/opus", "{who}: both prefer H.264 by default");
        let counters = m.receive_counters();
        assert!(
            counters
                .stamped_frames
                .load(std::sync::atomic::Ordering::Relaxed)
                > 30,
            "{who}: stamps read back from decoded pixels"
        );
    }

    alice
        .set_quality_preset(call::Preset::Poor)
        .await
        .expect("preset");
    let mut stats = bob.stats_stream();
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(s) = stats.recv().await {
                if (s.video.frame_width, s.video.frame_height) == (640, 480) {
                    return s;
                }
            }
        }
    })
    .await
    .expect("bob sees alice's 640x480 within a few samples");
    assert_eq!(seen.video.frame_width, 640);
    // The target bitrate is read when a sample is taken; the size only once the encoder thread
    // has encoded a frame at it, so wait for a sample that shows the whole preset.
    let poor = |s: &call::StatsSample| {
        s.video_out.target_bitrate == 500_000
            && (s.video_out.frame_width, s.video_out.frame_height) == (640, 480)
    };
    let a = eventually(Duration::from_secs(5), || alice.latest_stats().filter(poor)).await;
    let a = a.expect("alice's own stats show the Poor preset: 500 kbps target, 640x480");
    assert_eq!(
        (
            a.video_out.frame_width,
            a.video_out.frame_height,
            a.video_out.fps
        ),
        (640, 480, 15)
    );

    alice.end_call().await.expect("end");
    let ended = wait_event(&mut bob_events, Duration::from_secs(10), |e| {
        matches!(e, CallEvent::CallEnded { .. })
    })
    .await;
    assert!(
        matches!(
            ended,
            CallEvent::CallEnded {
                outcome: Outcome::Ended,
                ..
            }
        ),
        "{ended:?}"
    );
    let _ = wait_event(&mut alice_events, Duration::from_secs(5), |e| {
        matches!(e, CallEvent::CallEnded { .. })
    })
    .await;
    wait_state(&bob, CallState::Idle, Duration::from_secs(5)).await;
    alice.dispose().await;
    bob.dispose().await;

    for user in ["alice", "+255700000002"] {
        let rest = h.rest();
        rest.login_or_register(user, "harness-password")
            .await
            .expect("token");
        let page = rest
            .call_history(&HistoryQuery::default())
            .await
            .expect("history");
        assert_eq!(page.count, 1, "{user}: {page:?}");
        let r = &page.results[0];
        assert_eq!(r.room, room);
        assert_eq!(r.status, "ended", "{user}");
        assert!(
            r.duration_seconds >= 4,
            "{user}: duration {}",
            r.duration_seconds
        );
        assert_eq!(r.call_type, "video");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negotiates_vp8_when_the_caller_offers_only_vp8() {
    let h = Harness::start().await;
    let alice = h
        .manager_with("alice", |c| {
            c.media.codecs = vec![media::codec::VideoCodec::Vp8]
        })
        .await;
    let bob = h.manager("bob").await;
    connected_call(&alice, &bob, "bob", true).await;
    for m in [&alice, &bob] {
        m.start_stats_collection(Duration::from_millis(500))
            .await
            .expect("stats");
    }
    for (who, m) in [("alice", &alice), ("bob", &bob)] {
        let counters = m.receive_counters();
        let got = eventually(Duration::from_secs(10), || {
            (counters
                .stamped_frames
                .load(std::sync::atomic::Ordering::Relaxed)
                > 30)
                .then_some(())
        })
        .await;
        assert!(got.is_some(), "{who} decoded stamped VP8 frames");
        let s = eventually(Duration::from_secs(5), || {
            m.latest_stats().filter(|s| s.video.frames_received > 0)
        })
        .await
        .expect("stats");
        assert_eq!(s.codec, "VP8/opus", "{who}");
        assert_eq!(
            (s.video.frame_width, s.video.frame_height),
            (1280, 720),
            "{who}"
        );
        assert_eq!(s.video.decode_errors, 0, "{who}");
    }
    alice.end_call().await.expect("end");
    wait_state(&bob, CallState::Idle, Duration::from_secs(10)).await;
    alice.dispose().await;
    bob.dispose().await;
}

/// Frames `m` has decoded from the peer so far.
fn decoded(m: &call::CallManager) -> u64 {
    m.remote_video().frames()
}

/// Waits (up to 10 s) until `who` has decoded 30 frames of the other side's camera.
async fn wait_decoded(m: &call::CallManager, who: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while decoded(m) < 30 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{who} decoded {} frames of the other side's camera",
            decoded(m)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audio_call_turns_into_video_when_a_side_turns_the_camera_on() {
    let h = Harness::start().await;
    let alice = h.manager("alice").await;
    let bob = h.manager("bob").await;
    connected_call(&alice, &bob, "bob", false).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(decoded(&bob), 0, "an audio call carries no picture");
    let mut be = bob.subscribe();
    alice.start_video().await.expect("camera on");
    wait_event(
        &mut be,
        Duration::from_secs(10),
        |e| matches!(e, CallEvent::RemoteMediaAvailable { kind } if kind == "video"),
    )
    .await;
    wait_decoded(&bob, "bob").await;
    assert_eq!(
        decoded(&alice),
        0,
        "bob's camera stays off until he turns it on"
    );
    bob.start_video().await.expect("bob's camera on");
    wait_decoded(&alice, "alice").await;
    assert_eq!(alice.state(), CallState::Connected);
    assert_eq!(bob.state(), CallState::Connected);
    alice.end_call().await.expect("end");
    wait_state(&bob, CallState::Idle, Duration::from_secs(10)).await;
}
