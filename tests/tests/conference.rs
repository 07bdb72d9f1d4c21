//! Group calls on the conference server, end to end: CallManagers through simu-server and a
//! real Janus, every member decoding every other, a member leaving and another invited into
//! the call under way after everyone's first Janus tokens expired (protocol.md §4.3). Janus
//! does ICE on 127.0.0.1 only in a private network namespace, so `scripts/sfu-media.sh` runs
//! this with `SIMU_JANUS_*` set; without them it skips.

use call::{CallEvent, CallManager, CallState, Membership, Preset};
use e2e::*;
use server::config::SfuConfig;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(40);

/// The namespaced Janus `scripts/sfu-media.sh` starts, if it did.
#[allow(clippy::print_stderr)] // a skipped test says why on its own output
fn janus() -> Option<SfuConfig> {
    let cfg = SfuConfig::from_env();
    if cfg.is_none() {
        eprintln!("skipping: no namespaced Janus (run scripts/sfu-media.sh)");
    }
    cfg
}

/// Each member's counts (video, audio) from each other member it receives.
fn received(m: &CallManager) -> Vec<(String, u64, u64)> {
    m.participants()
        .iter()
        .map(|p| {
            (
                p.nx_id.to_string(),
                p.counters.video_frames.load(Ordering::Relaxed),
                p.counters.audio_frames.load(Ordering::Relaxed),
            )
        })
        .collect()
}

/// Waits until each member decodes more than `min` video and audio frames from every other.
async fn every_stream_flows(h: &Harness, members: &[(&str, &CallManager)], min: u64) {
    for (who, m) in members {
        let others: Vec<String> = members
            .iter()
            .filter(|(n, _)| n != who)
            .map(|(n, _)| h.jid(n).to_string())
            .collect();
        let got = eventually(T, || {
            let r = received(m);
            others
                .iter()
                .all(|o| r.iter().any(|(id, v, a)| id == o && *v > min && *a > min))
                .then_some(())
        })
        .await;
        assert!(
            got.is_some(),
            "{who} decodes everyone through Janus: has {:?}",
            received(m)
        );
    }
}

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
    let mut managers = Vec::new();
    for name in &names {
        managers.push(
            h.manager_with(name, |c| c.quality = Preset::Poor.quality())
                .await,
        );
    }
    let mut incoming: Vec<_> = managers[1..].iter().map(|m| m.subscribe()).collect();
    let others: Vec<&str> = names[1..].iter().map(String::as_str).collect();
    let room = managers[0]
        .initiate_conference_call(&others, true, true)
        .await
        .expect("dial");
    for events in &mut incoming {
        wait_event(events, T, |e| matches!(e, CallEvent::IncomingCall { .. })).await;
    }
    for m in &managers[1..] {
        m.accept_call(true, true).await.expect("accept");
    }
    for m in &managers {
        wait_state(m, CallState::Connected, T).await;
    }
    let joined = Instant::now();
    let members: Vec<(&str, &CallManager)> = names
        .iter()
        .map(String::as_str)
        .zip(managers.iter())
        .collect();
    every_stream_flows(&h, &members, 20).await;

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
        let before = rest
            .iter()
            .flat_map(|(_, m)| received(m))
            .map(|(_, v, _)| v)
            .max()
            .unwrap_or(0);
        every_stream_flows(&h, rest, before + 10).await;
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
    wait_history_status(&h, &[names[0].as_str()], &room, "ended").await;
}
