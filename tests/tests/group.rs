//! Group calls in mesh: every member exchanges media with every other through its own leg,
//! through a real simu-server on loopback (docs/protocol.md §4.2).

use call::{CallEvent, CallManager, CallState, Membership};
use e2e::*;
use std::sync::atomic::Ordering;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

fn is_incoming(e: &CallEvent) -> bool {
    matches!(e, CallEvent::IncomingCall { .. })
}

/// Waits until `m` decodes video and audio from each of `from` (NX IDs) on its own leg.
async fn receives_from_each(m: &CallManager, who: &str, from: &[String]) {
    let got = eventually(T, || {
        let legs = m.participants();
        from.iter()
            .all(|id| {
                legs.iter().any(|p| {
                    p.nx_id.to_string() == *id
                        && p.counters.video_frames.load(Ordering::Relaxed) > 20
                        && p.counters.audio_frames.load(Ordering::Relaxed) > 50
                })
            })
            .then_some(())
    })
    .await;
    let seen: Vec<_> = m
        .participants()
        .iter()
        .map(|p| {
            (
                p.nx_id.to_string(),
                p.counters.video_frames.load(Ordering::Relaxed),
                p.counters.audio_frames.load(Ordering::Relaxed),
            )
        })
        .collect();
    assert!(
        got.is_some(),
        "{who} decodes video and audio from each of {from:?}; has {seen:?}"
    );
}

/// Starts a group call from `members[0]` to the rest, who all accept.
async fn group_call(h: &Harness, members: &[&CallManager], names: &[&str]) -> String {
    let mut incoming: Vec<_> = members[1..].iter().map(|m| m.subscribe()).collect();
    let room = members[0]
        .initiate_group_call(&names[1..], true, true)
        .await
        .expect("dial");
    for (i, events) in incoming.iter_mut().enumerate() {
        let e = wait_event(events, T, is_incoming).await;
        let CallEvent::IncomingCall {
            others, room: r, ..
        } = e
        else {
            unreachable!()
        };
        assert_eq!(r, room);
        let mut expected: Vec<String> = names[1..]
            .iter()
            .filter(|n| **n != names[i + 1])
            .map(|n| h.jid(n).to_string())
            .collect();
        expected.sort();
        let mut others = others;
        others.sort();
        assert_eq!(
            others,
            expected,
            "{} is told who else is invited",
            names[i + 1]
        );
    }
    for m in &members[1..] {
        m.accept_call(true, true).await.expect("accept");
    }
    for m in members {
        wait_state(m, CallState::Connected, T).await;
    }
    room
}

/// Every member decodes every other member: N x (N-1) directed streams.
async fn every_stream_flows(h: &Harness, members: &[&CallManager], names: &[&str]) {
    for (i, m) in members.iter().enumerate() {
        let others: Vec<String> = names
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, n)| h.jid(n).to_string())
            .collect();
        receives_from_each(m, names[i], &others).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_three_party_mesh_call_carries_all_six_streams_and_ends_when_two_leave() {
    let h = Harness::start().await;
    let names = ["alice", "bob", "carol"];
    let alice = h.manager("alice").await;
    let bob = h.manager("bob").await;
    let carol = h.manager("carol").await;
    let members = [&alice, &bob, &carol];
    let mut alice_events = alice.subscribe();
    let room = group_call(&h, &members, &names).await;
    every_stream_flows(&h, &members, &names).await;
    // One encoder per member sends the same picture to both others, shrunk to fit them.
    for (who, m) in names.iter().zip(members) {
        for p in m.participants() {
            let (w, h) = p.video.size();
            assert!(
                w > 0 && w <= 640 && h <= 360,
                "{who} receives {} at {w}x{h}",
                p.nx_id
            );
        }
    }

    // Bob leaves: Alice and Carol carry on, each told he left.
    bob.end_call().await.expect("bob leaves");
    let bob_id = h.jid("bob").to_string();
    wait_event(&mut alice_events, T, |e| {
        matches!(e, CallEvent::Participant { nx_id, membership: Membership::Left, .. } if *nx_id == bob_id)
    })
    .await;
    wait_state(&bob, CallState::Idle, T).await;
    assert_eq!(alice.state(), CallState::Connected);
    assert_eq!(carol.state(), CallState::Connected);
    let carol_id = h.jid("carol").to_string();
    let before = alice
        .participants()
        .iter()
        .find(|p| p.nx_id.to_string() == carol_id)
        .map(|p| p.counters.video_frames.load(Ordering::Relaxed))
        .expect("Alice still has Carol's leg");
    let moved = eventually(T, || {
        alice
            .participants()
            .iter()
            .any(|p| {
                p.nx_id.to_string() == carol_id
                    && p.counters.video_frames.load(Ordering::Relaxed) > before + 20
            })
            .then_some(())
    })
    .await;
    assert!(moved.is_some(), "Carol's video keeps coming to Alice");
    assert_eq!(alice.participants().len(), 1, "Bob's leg is closed");
    let full_size = eventually(T, || {
        alice
            .participants()
            .iter()
            .any(|p| p.video.size().0 > 640)
            .then_some(())
    })
    .await;
    assert!(
        full_size.is_some(),
        "with one receiver left, Carol's encoder goes back to the full picture"
    );

    // Carol leaves: Alice is alone, so the call is over for her too.
    carol.end_call().await.expect("carol leaves");
    wait_state(&alice, CallState::Idle, T).await;
    // Each member's history has one group row naming everyone, with their own outcome.
    wait_history_status(&h, &names, &room, "ended").await;
    let everyone: Vec<String> = names.iter().map(|n| h.jid(n).to_string()).collect();
    for n in names {
        let row = history_row(&h, n, &room).await;
        assert_eq!(row.call_type, "group", "{n}");
        let mut listed = row.participants.clone();
        listed.sort();
        assert_eq!(listed, everyone, "{n}'s row names everyone");
        assert_eq!(row.metadata["is_group"], true, "{n}");
        assert!(row.duration_seconds > 0, "{n}: the call lasted");
    }
    for m in members {
        m.dispose().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_larger_than_mesh_carries_is_refused_with_the_reason() {
    let h = Harness::start().await;
    let alice = h.manager("alice").await;
    for n in ["bob", "carol", "dave", "erin"] {
        h.manager(n).await.dispose().await;
    }
    let mut events = alice.subscribe();
    alice
        .initiate_group_call(&["bob", "carol", "dave", "erin"], true, true)
        .await
        .expect("dial");
    let e = wait_event(&mut events, T, |e| matches!(e, CallEvent::Error { .. })).await;
    let CallEvent::Error { message } = e else {
        unreachable!()
    };
    assert!(
        message.contains("conference server"),
        "the user is told why: {message}"
    );
    wait_state(&alice, CallState::Idle, T).await;
    alice.dispose().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conference_call_to_one_person_is_refused_and_nobody_rings() {
    let h = Harness::start().await;
    let alice = h.manager("alice").await;
    let bob = h.manager("bob").await;
    let mut rings = bob.subscribe();
    let refused = alice.initiate_conference_call(&["bob"], true, true).await;
    assert!(
        matches!(refused, Err(call::CallError::ConferenceTooSmall)),
        "a one-person conference is refused with its reason: {refused:?}"
    );
    assert_eq!(alice.state(), CallState::Idle, "no call was started");
    let rang = tokio::time::timeout(
        Duration::from_secs(2),
        wait_event(&mut rings, T, is_incoming),
    )
    .await;
    assert!(rang.is_err(), "bob was not rung");
    alice.dispose().await;
    bob.dispose().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_four_party_mesh_call_carries_all_twelve_streams() {
    let h = Harness::start().await;
    let names = ["alice", "bob", "carol", "dave"];
    let mut managers = Vec::new();
    for n in names {
        managers.push(h.manager(n).await);
    }
    let members: Vec<&CallManager> = managers.iter().collect();
    group_call(&h, &members, &names).await;
    every_stream_flows(&h, &members, &names).await;
    for m in &members {
        m.end_call().await.expect("end");
    }
    for m in &members {
        wait_state(m, CallState::Idle, T).await;
        m.dispose().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_one_to_one_call_becomes_a_three_party_call() {
    let h = Harness::start().await;
    let alice = h.manager("alice").await;
    let bob = h.manager("bob").await;
    let carol = h.manager("carol").await;
    let room = connected_call(&alice, &bob, "bob", true).await;
    let mut carol_events = carol.subscribe();
    alice.invite("carol").await.expect("invite");
    let e = wait_event(&mut carol_events, T, is_incoming).await;
    let CallEvent::IncomingCall { others, .. } = e else {
        unreachable!()
    };
    assert!(
        others.contains(&h.jid("bob").to_string()),
        "Carol is told Bob is in the call: {others:?}"
    );
    carol.accept_call(true, true).await.expect("accept");
    wait_state(&carol, CallState::Connected, T).await;
    let names = ["alice", "bob", "carol"];
    every_stream_flows(&h, &[&alice, &bob, &carol], &names).await;
    let carols = history_row(&h, "carol", &room).await;
    assert_eq!(
        carols.call_type, "group",
        "Carol's history has the call she was added to"
    );
    for m in [&alice, &bob, &carol] {
        m.end_call().await.expect("end");
    }
    for m in [&alice, &bob, &carol] {
        wait_state(m, CallState::Idle, T).await;
        m.dispose().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_invitee_declining_leaves_the_group_call_to_the_others() {
    let h = Harness::start().await;
    let alice = h.manager("alice").await;
    let bob = h.manager("bob").await;
    let carol = h.manager("carol").await;
    let (mut be, mut ce, mut ae) = (bob.subscribe(), carol.subscribe(), alice.subscribe());
    alice
        .initiate_group_call(&["bob", "carol"], true, true)
        .await
        .expect("dial");
    wait_event(&mut be, T, is_incoming).await;
    wait_event(&mut ce, T, is_incoming).await;
    carol.reject_call().await.expect("carol declines");
    let carol_id = h.jid("carol").to_string();
    wait_event(&mut ae, T, |e| {
        matches!(e, CallEvent::Participant { nx_id, membership: Membership::Declined, .. } if *nx_id == carol_id)
    })
    .await;
    assert_eq!(alice.state(), CallState::Calling, "Bob may still answer");
    bob.accept_call(true, true).await.expect("bob accepts");
    wait_state(&alice, CallState::Connected, T).await;
    wait_state(&bob, CallState::Connected, T).await;
    receives_from_each(&alice, "alice", &[h.jid("bob").to_string()]).await;
    for m in [&alice, &bob, &carol] {
        m.dispose().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_who_left_is_invited_back_rings_again_and_rejoins_the_same_call() {
    let h = Harness::start().await;
    let alice = h.manager("alice").await;
    let bob = h.manager("bob").await;
    let carol = h.manager("carol").await;
    let names = ["alice", "bob", "carol"];
    let room = group_call(&h, &[&alice, &bob, &carol], &names).await;
    every_stream_flows(&h, &[&alice, &bob, &carol], &names).await;

    // Carol leaves; the call goes on between Alice and Bob.
    let carol_id = h.jid("carol").to_string();
    let mut ae = alice.subscribe();
    carol.end_call().await.expect("carol leaves");
    wait_state(&carol, CallState::Idle, T).await;
    wait_event(&mut ae, T, |e| {
        matches!(e, CallEvent::Participant { nx_id, membership: Membership::Left, .. } if *nx_id == carol_id)
    })
    .await;
    assert_eq!(alice.state(), CallState::Connected);
    let gone = eventually(T, || {
        (!alice
            .participants()
            .iter()
            .any(|p| p.nx_id.to_string() == carol_id))
        .then_some(())
    })
    .await;
    assert!(gone.is_some(), "Carol's leg and its counters went with her");

    // Alice invites her back: the same call rings on Carol's side again.
    let mut ce = carol.subscribe();
    alice.invite("carol").await.expect("invite back");
    let e = wait_event(&mut ce, T, is_incoming).await;
    let CallEvent::IncomingCall { room: again, .. } = e else {
        unreachable!()
    };
    assert_eq!(again, room, "the invitation is to the call she left");
    carol.accept_call(true, true).await.expect("carol rejoins");
    wait_state(&carol, CallState::Connected, T).await;
    every_stream_flows(&h, &[&alice, &bob, &carol], &names).await;
    for m in [&alice, &bob, &carol] {
        m.end_call().await.ok();
    }
    for m in [&alice, &bob, &carol] {
        wait_state(m, CallState::Idle, T).await;
        m.dispose().await;
    }
}
