//! A mesh call that grows over the server's mesh limit moves onto the conference server
//! (protocol.md §4.3 rule 6): the invitation of one too many makes the call's Janus room,
//! every member closes its legs and joins it, the newcomer joins it on answering, and every
//! one of the N x (N-1) streams is decoded again; nobody leaves. `scripts/sfu-media.sh` runs
//! this beside a namespaced Janus; without one it skips.

use call::{CallEvent, CallManager, CallState, Membership, Preset};
use e2e::conference::{every_stream_flows, group_call, janus, most_received, T};
use e2e::*;
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[allow(clippy::print_stderr)] // the move's duration, for the record
async fn a_mesh_call_that_grows_over_the_mesh_limit_moves_onto_janus_and_keeps_everyone() {
    let Some(sfu) = janus() else { return };
    let h = Harness::start_with(|c| {
        c.sfu = sfu;
        c.limits.mesh_members = 3;
    })
    .await;
    let names = ["member0", "member1", "member2"];
    let (managers, room) = group_call(&h, &names, true, false).await;
    let members: Vec<(&str, &CallManager)> = names.iter().copied().zip(managers.iter()).collect();
    every_stream_flows(&h, &members, 20).await;

    let late = h
        .manager_with("member3", |c| c.quality = Preset::Poor.quality())
        .await;
    let mut ringing = late.subscribe();
    let mut watch: Vec<_> = managers.iter().map(|m| m.subscribe()).collect();
    let invited = Instant::now();
    managers[1].invite("member3").await.expect("invite");
    wait_event(&mut ringing, T, |e| {
        matches!(e, CallEvent::IncomingCall { .. })
    })
    .await;
    let accepted = Instant::now();
    late.accept_call(true, true).await.expect("accept");
    let newcomer = h.jid("member3").to_string();
    for e in &mut watch {
        wait_event(e, T, |e| {
            matches!(e, CallEvent::Participant { nx_id, membership: Membership::Joined, .. } if *nx_id == newcomer)
        })
        .await;
    }
    let mut now_in = members.clone();
    now_in.push(("member3", &late));
    every_stream_flows(&h, &now_in, most_received(&members) + 20).await;
    eprintln!(
        "measure: invite to every one of the 12 streams decoding 20 more frames through Janus: \
         {:.1} s ({:.1} s of it after the newcomer accepted)",
        invited.elapsed().as_secs_f64(),
        accepted.elapsed().as_secs_f64()
    );
    for (who, m) in &now_in {
        assert_eq!(m.state(), CallState::Connected, "{who} is in the call");
        assert_eq!(m.participants().len(), 3, "{who} receives the three others");
    }
    for (_, m) in &now_in {
        m.end_call().await.ok();
        wait_state(m, CallState::Idle, T).await;
    }
    wait_history_status(&h, &[names[0]], &room, "ended").await;
}
