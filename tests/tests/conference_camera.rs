//! Turning the camera on in a conference call that started without video (protocol.md §4.3
//! rule 5): the member publishes it to Janus by a renegotiation, Janus announces the feed's
//! new stream, and every other member subscribes anew and sees it, while the voices go on.
//! `scripts/sfu-media.sh` runs this beside a namespaced Janus; without one it skips.

use call::{CallEvent, CallManager};
use e2e::conference::{conference_call, decoded_from, janus, T};
use e2e::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_camera_turned_on_in_an_audio_only_conference_is_seen_by_every_other_member() {
    let Some(sfu) = janus() else { return };
    let h = Harness::start_with(|c| c.sfu = sfu).await;
    let names = ["member0", "member1", "member2"];
    let (managers, room) = conference_call(&h, &names, false).await;
    let members: Vec<(&str, &CallManager)> = names.iter().copied().zip(managers.iter()).collect();
    let first = h.jid(names[0]).to_string();
    for (who, m) in &members[1..] {
        let heard = eventually(T, || (decoded_from(m, &first).1 > 20).then_some(())).await;
        assert!(heard.is_some(), "{who} hears member0 before any camera");
        assert_eq!(decoded_from(m, &first).0, 0, "no video in an audio call");
    }

    let mut told: Vec<_> = managers[1..].iter().map(|m| m.subscribe()).collect();
    managers[0].start_video().await.expect("camera on");
    for e in &mut told {
        wait_event(e, T, |e| {
            matches!(e, CallEvent::ParticipantMedia { nx_id, video: true, .. } if *nx_id == first)
        })
        .await;
    }
    for (who, m) in &members[1..] {
        let seen = eventually(T, || (decoded_from(m, &first).0 > 20).then_some(())).await;
        assert!(
            seen.is_some(),
            "{who} sees member0's camera: {:?}",
            decoded_from(m, &first)
        );
        // The subscription made anew still carries the other member's voice.
        let other = h.jid(if *who == "member1" {
            "member2"
        } else {
            "member1"
        });
        let before = decoded_from(m, &other.to_string()).1;
        let goes_on = eventually(T, || {
            (decoded_from(m, &other.to_string()).1 > before + 20).then_some(())
        })
        .await;
        assert!(goes_on.is_some(), "{who} still hears {other}");
    }
    for m in &managers {
        m.end_call().await.ok();
    }
    wait_history_status(&h, &[names[0]], &room, "ended").await;
}
