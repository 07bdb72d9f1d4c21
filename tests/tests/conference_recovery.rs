//! A conference call rides out trouble on the path to the conference server (protocol.md
//! §4.3): an ICE restart through Janus keeps every stream, and a break in the path long enough
//! for ICE to notice is recovered without anyone leaving. The break is made by dropping
//! Janus's media ports in the private network namespace `scripts/sfu-media.sh` runs this in
//! (`SIMU_JANUS_RTP_PORTS` says which); it is the only test in this binary, so nothing else
//! shares the namespace while the path is cut.

use call::{CallEvent, CallManager, CallState};
use e2e::conference::{conference_call, every_stream_flows, janus, most_received, T};
use e2e::*;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Longer than ICE's 5 s without a packet before it calls the path disconnected, plus the
/// grace before a restart: the restarts run into the break, and the path comes back after.
const OUTAGE: Duration = Duration::from_secs(10);

/// Janus's media ports dropped both ways in this namespace while it lives.
struct Cut;

impl Cut {
    fn start(ports: &str) -> Self {
        nft(&format!(
            "table inet simu_cut {{\n chain input {{\n type filter hook input priority 0;\n \
             udp dport {ports} drop\n udp sport {ports} drop\n }}\n}}\n"
        ));
        Cut
    }
}

impl Drop for Cut {
    fn drop(&mut self) {
        nft("delete table inet simu_cut");
    }
}

fn nft(script: &str) {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("nft runs (scripts/deps.sh faults)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("script written");
    assert!(child.wait().expect("nft ends").success(), "nft: {script}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_conference_rides_out_an_ice_restart_and_a_break_in_the_path_to_janus() {
    let Some(sfu) = janus() else { return };
    let Some(ports) = infra_env("SIMU_JANUS_RTP_PORTS") else {
        return;
    };
    let h = Harness::start_with(|c| c.sfu = sfu).await;
    let names = ["member0", "member1", "member2"];
    let (managers, room) = conference_call(&h, &names, true).await;
    let members: Vec<(&str, &CallManager)> = names.iter().copied().zip(managers.iter()).collect();
    every_stream_flows(&h, &members, 20).await;

    // An ICE restart of both of one member's connections (what a network change asks for):
    // Janus takes the new offer, the subscription is made anew, and every stream goes on.
    managers[0].restart_ice().await.expect("restart");
    every_stream_flows(&h, &members, most_received(&members) + 20).await;

    // The path to Janus breaks for longer than ICE waits before calling it disconnected: every
    // member says it is reconnecting, restarts, and gets every stream back; nobody leaves.
    let mut events: Vec<_> = managers.iter().map(|m| m.subscribe()).collect();
    {
        let _cut = Cut::start(&ports);
        tokio::time::sleep(OUTAGE).await;
    }
    for e in &mut events {
        wait_event(e, T, |e| matches!(e, CallEvent::Reconnecting { .. })).await;
    }
    every_stream_flows(&h, &members, most_received(&members) + 20).await;
    for (who, m) in &members {
        assert_eq!(
            m.state(),
            CallState::Connected,
            "{who} is still in the call"
        );
        assert_eq!(
            m.participants().len(),
            2,
            "{who} still receives both others"
        );
    }
    for m in &managers {
        m.end_call().await.ok();
        wait_state(m, CallState::Idle, T).await;
    }
    wait_history_status(&h, &[names[0]], &room, "ended").await;
}
