//! Helpers for conference calls through a real Janus, which `scripts/sfu-media.sh` starts in
//! a private network namespace (`scripts/janus-netns.sh`) and names through `SIMU_JANUS_*`.

use crate::{eventually, wait_event, wait_state, Harness};
use call::{CallEvent, CallManager, CallState, Preset};
use server::config::SfuConfig;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How long a conference step may take.
pub const T: Duration = Duration::from_secs(40);

/// The namespaced Janus `scripts/sfu-media.sh` starts, if it did.
#[allow(clippy::print_stderr)] // a skipped test says why on its own output
pub fn janus() -> Option<SfuConfig> {
    let cfg = SfuConfig::from_env();
    if cfg.is_none() {
        eprintln!("skipping: no namespaced Janus (run scripts/sfu-media.sh)");
    }
    cfg
}

/// Video and audio frames `m` decoded from `from`.
pub fn decoded_from(m: &CallManager, from: &str) -> (u64, u64) {
    received(m)
        .into_iter()
        .find(|(id, _, _)| id == from)
        .map_or((0, 0), |(_, v, a)| (v, a))
}

/// Each member's counts (video, audio) from each other member it receives.
pub fn received(m: &CallManager) -> Vec<(String, u64, u64)> {
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

/// The most video frames any of `members` has decoded from any other.
pub fn most_received(members: &[(&str, &CallManager)]) -> u64 {
    members
        .iter()
        .flat_map(|(_, m)| received(m))
        .map(|(_, v, _)| v)
        .max()
        .unwrap_or(0)
}

/// Waits until each member decodes more than `min` video and audio frames from every other.
pub async fn every_stream_flows(h: &Harness, members: &[(&str, &CallManager)], min: u64) {
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

/// `names[0]` calls the others on the conference server (with video or not), everyone
/// accepts, and every member is connected; returns the members' managers (in `names` order)
/// and the call's room.
pub async fn conference_call(
    h: &Harness,
    names: &[&str],
    video: bool,
) -> (Vec<CallManager>, String) {
    group_call(h, names, video, true).await
}

/// As [`conference_call`], on the conference server or (`on_conference` false) in mesh as far
/// as the server's mesh limit allows.
pub async fn group_call(
    h: &Harness,
    names: &[&str],
    video: bool,
    on_conference: bool,
) -> (Vec<CallManager>, String) {
    let mut managers = Vec::new();
    for name in names {
        managers.push(
            h.manager_with(name, |c| c.quality = Preset::Poor.quality())
                .await,
        );
    }
    let mut incoming: Vec<_> = managers[1..].iter().map(|m| m.subscribe()).collect();
    let room = if on_conference {
        managers[0]
            .initiate_conference_call(&names[1..], true, video)
            .await
    } else {
        managers[0]
            .initiate_group_call(&names[1..], true, video)
            .await
    }
    .expect("dial");
    for events in &mut incoming {
        wait_event(events, T, |e| matches!(e, CallEvent::IncomingCall { .. })).await;
    }
    for m in &managers[1..] {
        m.accept_call(true, video).await.expect("accept");
    }
    for m in &managers {
        wait_state(m, CallState::Connected, T).await;
    }
    (managers, room)
}
