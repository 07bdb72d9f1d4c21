//! Group calls on the conference server, end to end: CallManagers through simu-server and a
//! real Janus, every member decoding every other, a member leaving and another invited into
//! the call under way after everyone's first Janus tokens expired (protocol.md §4.3). Janus
//! does ICE on 127.0.0.1 only in a private network namespace, so `scripts/sfu-media.sh` runs
//! this with `SIMU_JANUS_*` set; without them it skips.

use call::{CallEvent, CallManager, CallState, Membership, Preset};
use e2e::conference::{conference_call, every_stream_flows, janus, most_received, received, T};
use e2e::*;
use std::time::{Duration, Instant};

/// Janus tokens (seconds) that expire during the test, so members must renew them in time.
const SHORT_TOKENS: u64 = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn members_call_through_janus_every_stream_decoded_and_a_leaver_drops_out() {
    let Some(sfu) = janus() else { return };
    let n: usize = std::env::var("SIMU_SFU_MEMBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let h = Harness::start_with(|c| {
        c.sfu = sfu;
        c.sfu.token_ttl_seconds = SHORT_TOKENS;
    })
    .await;
    let names: Vec<String> = (0..n).map(|i| format!("member{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (managers, room) = conference_call(&h, &names, true).await;
    let joined = Instant::now();
    let members: Vec<(&str, &CallManager)> = names.iter().copied().zip(managers.iter()).collect();
    every_stream_flows(&h, &members, 20).await;

    // The stats stream samples the conference: what a member sends, what it receives from
    // everyone, and the round trip to Janus.
    let m0 = &managers[0];
    m0.start_stats_collection(Duration::from_millis(500))
        .await
        .expect("stats");
    let sampled = eventually(T, || {
        m0.latest_stats().filter(|s| {
            s.video_out.bitrate > 0
                && s.video.bitrate > 0
                && s.audio.packets_received > 0
                && s.video.frame_width > 0
                && s.rtt_ms.is_some()
        })
    })
    .await;
    assert!(
        sampled.is_some(),
        "conference stats: {:?}",
        m0.latest_stats()
    );

    // The last member leaves: everyone else is told and stops receiving it; the rest go on.
    let (leaver, rest) = members.split_last().expect("members");
    let mut watch: Vec<_> = rest.iter().map(|(_, m)| m.subscribe()).collect();
    leaver.1.end_call().await.expect("leaves");
    let gone = h.jid(leaver.0).to_string();
    for events in &mut watch {
        wait_event(events, T, |e| {
            matches!(e, CallEvent::Participant { nx_id, membership: Membership::Left, .. } if *nx_id == gone)
        })
        .await;
    }
    if rest.len() >= 2 {
        every_stream_flows(&h, rest, most_received(rest) + 10).await;
        for (_, m) in rest {
            assert!(
                received(m).iter().all(|(id, _, _)| *id != gone),
                "nobody still receives the leaver"
            );
        }
    }
    // The first member invites someone new into the call under way: the invitation names the
    // conference, and once the newcomer accepts it and everyone still in receive each other.
    // By then everyone's first Janus tokens have expired: receiving the newcomer takes the
    // renewed ones.
    tokio::time::sleep_until((joined + Duration::from_secs(SHORT_TOKENS + 2)).into()).await;
    let late = h
        .manager_with("latecomer", |c| c.quality = Preset::Poor.quality())
        .await;
    let mut ringing = late.subscribe();
    rest[0].1.invite("latecomer").await.expect("invite");
    wait_event(&mut ringing, T, |e| {
        matches!(e, CallEvent::IncomingCall { .. })
    })
    .await;
    late.accept_call(true, true).await.expect("accept");
    let mut now_in: Vec<(&str, &CallManager)> = rest.to_vec();
    now_in.push(("latecomer", &late));
    every_stream_flows(&h, &now_in, 10).await;
    for (_, m) in &now_in {
        m.end_call().await.ok();
        wait_state(m, CallState::Idle, T).await;
    }
    wait_history_status(&h, &[names[0]], &room, "ended").await;
}
