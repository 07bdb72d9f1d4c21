//! Group calls in the pure core: membership paths and per-leg media, with the injected clock.

use super::test_support::{group_invitation, id, response, sends, sig, ALICE, BOB, CAROL};
use super::*;
use crate::roster::Membership;

pub(super) const DAVE: &str = "dave@x";

fn end(reason: EndReason) -> Signal {
    Signal::CallEnd {
        room_id: "g".into(),
        timestamp: 0,
        reason: Some(reason),
    }
}

pub(super) fn joined_at(ms: i64) -> Signal {
    Signal::GroupJoined {
        room_id: "g".into(),
        joined_at: ms,
    }
}

fn members_changed(actions: &[Action]) -> Vec<(String, Membership)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Emit(CallEvent::Participant {
                nx_id, membership, ..
            }) => Some((nx_id.clone(), *membership)),
            _ => None,
        })
        .collect()
}

pub(super) fn starts(actions: &[Action]) -> Vec<(String, Role)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::StartMedia { peer, role, .. } => Some((peer.to_string(), *role)),
            _ => None,
        })
        .collect()
}

fn ended(actions: &[Action]) -> Option<(Outcome, serde_json::Value)> {
    let outcome = actions.iter().find_map(|a| match a {
        Action::Emit(CallEvent::CallEnded { outcome, .. }) => Some(*outcome),
        _ => None,
    })?;
    let meta = actions.iter().find_map(|a| match a {
        Action::RecordAnalytics { metadata, .. } => Some(metadata.clone()),
        _ => None,
    })?;
    Some((outcome, meta))
}

/// Alice calls Bob and Carol; the call is registered and both ring.
fn ringing(t0: Instant) -> CallMachine {
    let mut m = CallMachine::new(id(ALICE), "Alice");
    let a = m.handle(
        Input::DialGroup {
            to: vec![id(BOB), id(CAROL)],
            room: "g".into(),
            audio: true,
            video: true,
            conference: false,
        },
        t0,
    );
    assert!(matches!(
        &a[..],
        [_, Action::RegisterGroupCall { participants, .. }] if participants.len() == 2
    ));
    let a = m.handle(Input::Registered { room: "g".into() }, t0);
    assert_eq!(
        sends(&a),
        [
            (BOB.to_string(), "call_invitation"),
            (CAROL.to_string(), "call_invitation")
        ]
    );
    let Some(Action::Send {
        signal: Signal::CallInvitation { participants, .. },
        ..
    }) = a.first()
    else {
        panic!("an invitation: {a:?}")
    };
    assert_eq!(participants, &[ALICE, BOB, CAROL], "everyone is listed");
    m
}

/// Both accept, and both legs connect.
pub(super) fn connected(t0: Instant) -> CallMachine {
    let mut m = ringing(t0);
    for who in [BOB, CAROL] {
        m.handle(sig(who, response(true)), t0);
        m.handle(
            Input::MediaReady {
                room: "g".into(),
                peer: id(who),
            },
            t0,
        );
        m.handle(Input::MediaConnected { peer: id(who) }, t0);
    }
    assert_eq!(m.state(), CallState::Connected);
    m
}

#[test]
fn each_invitee_accepting_gets_its_own_leg_offered_by_the_inviter() {
    let t0 = Instant::now();
    let mut m = ringing(t0);
    let a = m.handle(sig(BOB, response(true)), t0);
    assert_eq!(starts(&a), [(BOB.to_string(), Role::Caller)]);
    assert_eq!(members_changed(&a), [(BOB.to_string(), Membership::Joined)]);
    let a = m.handle(sig(CAROL, response(true)), t0);
    assert_eq!(starts(&a), [(CAROL.to_string(), Role::Caller)]);
    let a = m.handle(
        Input::MediaReady {
            room: "g".into(),
            peer: id(CAROL),
        },
        t0,
    );
    assert_eq!(
        a,
        [Action::Offer {
            room: "g".into(),
            peer: id(CAROL)
        }]
    );
}

#[test]
fn one_declining_leaves_the_call_ringing_for_the_other() {
    let t0 = Instant::now();
    let mut m = ringing(t0);
    let a = m.handle(sig(BOB, response(false)), t0);
    assert_eq!(
        members_changed(&a),
        [(BOB.to_string(), Membership::Declined)]
    );
    assert!(ended(&a).is_none());
    assert_eq!(m.state(), CallState::Calling);
    let a = m.handle(sig(CAROL, end(EndReason::Busy)), t0);
    assert_eq!(members_changed(&a), [(CAROL.to_string(), Membership::Busy)]);
    let (outcome, meta) = ended(&a).expect("nobody is left to answer");
    assert_eq!(outcome, Outcome::Busy);
    assert_eq!(meta["is_group"], true);
    assert_eq!(meta["participants"].as_array().map(Vec::len), Some(2));
}

#[test]
fn each_invitee_rings_out_on_its_own_and_the_call_goes_on() {
    let t0 = Instant::now();
    let mut m = ringing(t0);
    m.handle(sig(BOB, response(true)), t0 + Duration::from_secs(5));
    let a = m.on_timeout(t0 + RING_TIMEOUT);
    assert_eq!(sends(&a), [(CAROL.to_string(), "call_end")]);
    assert_eq!(
        members_changed(&a),
        [(CAROL.to_string(), Membership::Missed)]
    );
    assert!(ended(&a).is_none(), "Alice and Bob go on");
}

#[test]
fn nobody_answering_is_a_missed_group_call() {
    let t0 = Instant::now();
    let mut m = ringing(t0);
    let a = m.on_timeout(t0 + RING_TIMEOUT);
    assert_eq!(
        sends(&a),
        [
            (BOB.to_string(), "call_end"),
            (CAROL.to_string(), "call_end")
        ]
    );
    assert_eq!(ended(&a).map(|e| e.0), Some(Outcome::Missed));
}

#[test]
fn a_member_leaving_closes_its_leg_only_and_the_last_but_one_ends_the_call() {
    let t0 = Instant::now();
    let mut m = connected(t0);
    let a = m.handle(
        sig(BOB, end(EndReason::Hangup)),
        t0 + Duration::from_secs(30),
    );
    assert_eq!(a[0], Action::StopMedia { peer: id(BOB) });
    assert_eq!(members_changed(&a), [(BOB.to_string(), Membership::Left)]);
    assert!(ended(&a).is_none());
    assert_eq!(m.state(), CallState::Connected);
    let a = m.handle(
        sig(CAROL, end(EndReason::Hangup)),
        t0 + Duration::from_secs(40),
    );
    assert!(a.contains(&Action::StopMedia { peer: id(CAROL) }));
    let (outcome, _) = ended(&a).expect("Alice is alone");
    assert_eq!(outcome, Outcome::Ended);
    assert_eq!(m.state(), CallState::Idle);
}

#[test]
fn hanging_up_tells_every_member() {
    let t0 = Instant::now();
    let mut m = connected(t0);
    let a = m.handle(Input::Hangup, t0 + Duration::from_secs(10));
    assert_eq!(
        sends(&a),
        [
            (BOB.to_string(), "call_end"),
            (CAROL.to_string(), "call_end")
        ]
    );
    assert!(a.contains(&Action::StopMedia { peer: id(BOB) }));
    assert!(a.contains(&Action::StopMedia { peer: id(CAROL) }));
}

#[test]
fn a_failed_leg_restarts_its_own_ice_and_is_dropped_if_it_never_recovers() {
    let t0 = Instant::now();
    let mut m = connected(t0);
    let a = m.handle(
        Input::MediaFailed {
            peer: id(CAROL),
            reason: "ice".into(),
        },
        t0 + Duration::from_secs(10),
    );
    assert!(a.contains(&Action::RestartIce { peer: id(CAROL) }));
    assert!(!a.contains(&Action::RestartIce { peer: id(BOB) }));
    let a = m.on_timeout(t0 + Duration::from_secs(10) + RECOVER_TIMEOUT);
    assert_eq!(sends(&a), [(CAROL.to_string(), "call_end")]);
    assert!(a.contains(&Action::StopMedia { peer: id(CAROL) }));
    assert!(ended(&a).is_none(), "Alice and Bob go on");
    assert_eq!(m.state(), CallState::Connected);
}

#[test]
fn a_late_invite_is_registered_then_rings_the_newcomer_and_tells_the_members() {
    let t0 = Instant::now();
    let mut m = connected(t0);
    for who in [BOB, CAROL] {
        m.handle(sig(who, joined_at(1_000)), t0);
    }
    let a = m.handle(Input::Invite { to: id(DAVE) }, t0 + Duration::from_secs(60));
    assert!(
        sends(&a).is_empty(),
        "nobody is rung before the server has the newcomer"
    );
    assert!(a.contains(&Action::RegisterMembers {
        room: "g".into(),
        participants: vec![id(DAVE)]
    }));
    let a = m.handle(
        Input::Registered { room: "g".into() },
        t0 + Duration::from_secs(61),
    );
    assert_eq!(
        sends(&a),
        [
            (DAVE.to_string(), "call_invitation"),
            (BOB.to_string(), "group_invited"),
            (CAROL.to_string(), "group_invited")
        ]
    );
    assert_eq!(
        members_changed(&a),
        [(DAVE.to_string(), Membership::Ringing)]
    );
    let a = m.handle(sig(DAVE, response(true)), t0 + Duration::from_secs(65));
    assert_eq!(starts(&a), [(DAVE.to_string(), Role::Caller)]);
}

#[test]
fn a_late_invite_the_server_refuses_rings_nobody_and_the_call_goes_on() {
    let t0 = Instant::now();
    let mut m = connected(t0);
    for who in [BOB, CAROL] {
        m.handle(sig(who, joined_at(1_000)), t0);
    }
    m.handle(Input::Invite { to: id(DAVE) }, t0);
    let a = m.handle(
        Input::DialFailed {
            message: "a call of more than 4 people needs a conference server".into(),
        },
        t0,
    );
    assert!(sends(&a).is_empty());
    assert!(a.iter().any(|x| matches!(x, Action::Emit(CallEvent::Error { message }) if message.contains("conference server"))));
    assert_eq!(
        members_changed(&a),
        [(DAVE.to_string(), Membership::Declined)]
    );
    assert_eq!(m.state(), CallState::Connected);
}

#[test]
fn a_member_without_the_group_extension_keeps_the_call_one_to_one() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(id(ALICE), "Alice");
    m.handle(
        Input::Dial {
            to: id(BOB),
            room: "g".into(),
            audio: true,
            video: false,
        },
        t0,
    );
    m.handle(Input::Registered { room: "g".into() }, t0);
    m.handle(sig(BOB, response(true)), t0);
    let a = m.handle(Input::Invite { to: id(CAROL) }, t0);
    assert!(sends(&a).is_empty());
    assert!(matches!(
        &a[..],
        [Action::Emit(CallEvent::Error { message })] if message.contains("cannot hold group calls")
    ));
}

#[test]
fn an_invitee_answers_the_inviter_and_offers_to_those_who_joined_before_it() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(id(BOB), "Bob");
    let a = m.handle(sig(ALICE, group_invitation(0, false)), t0);
    assert!(a.iter().any(|x| matches!(
        x,
        Action::Emit(CallEvent::IncomingCall { others, .. }) if *others == [CAROL.to_string()]
    )));
    // Carol joined first (her clock said 1000); Bob joins later, so he offers to her.
    assert!(sends(&m.handle(sig(CAROL, joined_at(1_000)), t0)).is_empty());
    let a = m.handle(
        Input::Accept {
            audio: true,
            video: true,
        },
        t0,
    );
    assert_eq!(
        sends(&a),
        [
            (ALICE.to_string(), "call_response"),
            (ALICE.to_string(), "group_joined"),
            (CAROL.to_string(), "group_joined")
        ]
    );
    assert_eq!(
        starts(&a),
        [
            (ALICE.to_string(), Role::Callee),
            (CAROL.to_string(), Role::Caller)
        ]
    );
}

/// Carol's side: Alice invited her with Bob, and she accepted (her clock said 1000).
pub(super) fn carol_accepted(t0: Instant) -> CallMachine {
    let mut m = CallMachine::new(id(CAROL), "Carol").with_wall_clock(WallClock::fixed(t0, 1_000));
    m.handle(sig(ALICE, group_invitation(0, false)), t0);
    m.handle(
        Input::Accept {
            audio: true,
            video: true,
        },
        t0,
    );
    m
}

#[test]
fn a_member_who_joined_earlier_waits_for_the_newcomers_offer() {
    let t0 = Instant::now();
    let mut m = carol_accepted(t0);
    let a = m.handle(sig(BOB, joined_at(5_000)), t0);
    assert_eq!(
        sends(&a),
        [],
        "Carol told Bob when she joined as she joined"
    );
    assert_eq!(starts(&a), [(BOB.to_string(), Role::Callee)]);
    assert_eq!(members_changed(&a), [(BOB.to_string(), Membership::Joined)]);
    let a = m.handle(
        Input::MediaReady {
            room: "g".into(),
            peer: id(BOB),
        },
        t0,
    );
    assert!(a.is_empty(), "Carol does not offer to Bob");
}

#[test]
fn strangers_cannot_join_or_send_media_into_a_call() {
    let t0 = Instant::now();
    let mut m = connected(t0);
    let before = m.dropped_stale();
    let offer = Signal::Offer {
        room_id: "g".into(),
        sdp: "v=0".into(),
        sdp_type: "offer".into(),
    };
    assert!(m.handle(sig("mallory@x", joined_at(9_000)), t0).is_empty());
    assert!(m.handle(sig("mallory@x", offer), t0).is_empty());
    assert!(m
        .handle(
            sig(
                "mallory@x",
                Signal::GroupInvited {
                    room_id: "g".into(),
                    participants: vec!["eve@x".into()],
                    sfu: true,
                }
            ),
            t0
        )
        .is_empty());
    assert_eq!(m.dropped_stale(), before + 3);
    assert_eq!(m.members().len(), 2);
}

#[test]
fn a_member_gone_quiet_is_dropped_after_the_recovery_time_unless_it_comes_back() {
    let t0 = Instant::now();
    let mut m = connected(t0);
    m.handle(Input::MediaDisconnected { peer: id(BOB) }, t0);
    m.handle(
        Input::MediaConnected { peer: id(BOB) },
        t0 + Duration::from_secs(3),
    );
    assert!(
        ended(&m.on_timeout(t0 + RECOVER_TIMEOUT)).is_none()
            && m.members().iter().all(|(_, s)| *s == Membership::Joined),
        "Bob came back in time"
    );
    let t1 = t0 + Duration::from_secs(60);
    m.handle(Input::MediaDisconnected { peer: id(CAROL) }, t1);
    let a = m.on_timeout(t1 + RECOVER_TIMEOUT);
    assert!(a.contains(&Action::StopMedia { peer: id(CAROL) }));
    assert_eq!(members_changed(&a), [(CAROL.to_string(), Membership::Left)]);
    assert_eq!(m.state(), CallState::Connected, "Alice and Bob go on");
}

#[test]
fn muting_is_told_to_every_member_and_a_members_mute_reaches_the_app() {
    let t0 = Instant::now();
    let mut m = connected(t0);
    let a = m.handle(
        Input::LocalMedia {
            audio: false,
            video: true,
        },
        t0,
    );
    assert_eq!(
        sends(&a),
        [
            (BOB.to_string(), "media_state"),
            (CAROL.to_string(), "media_state")
        ]
    );
    let a = m.handle(
        sig(
            BOB,
            Signal::MediaState {
                room_id: "g".into(),
                audio: true,
                video: false,
            },
        ),
        t0,
    );
    assert_eq!(
        a,
        [Action::Emit(CallEvent::ParticipantMedia {
            room: "g".into(),
            nx_id: BOB.into(),
            audio: true,
            video: false
        })]
    );
    assert!(
        m.handle(
            sig(
                "mallory@x",
                Signal::MediaState {
                    room_id: "g".into(),
                    audio: false,
                    video: false
                }
            ),
            t0
        )
        .is_empty(),
        "only members"
    );
}

#[test]
fn a_member_who_left_rings_again_when_invited_back_but_never_for_a_copy_of_the_first() {
    let t0 = Instant::now();
    let wall = WallClock::fixed(t0, 1_000_000);
    let mut m = CallMachine::new(id(BOB), "Bob").with_wall_clock(wall);
    let invite = |timestamp: i64| group_invitation(timestamp, false);
    m.handle(sig(ALICE, invite(999_000)), t0);
    assert_eq!(m.state(), CallState::Incoming);
    m.handle(
        Input::Accept {
            audio: true,
            video: true,
        },
        t0,
    );
    let a = m.handle(Input::Hangup, t0 + Duration::from_secs(5));
    assert!(
        sends(&a).contains(&(ALICE.to_string(), "call_end")),
        "{a:?}"
    );
    assert_eq!(m.state(), CallState::Idle);

    let copy = m.handle(sig(ALICE, invite(999_000)), t0 + Duration::from_secs(6));
    assert!(
        copy.is_empty(),
        "a copy of the first invitation does not ring: {copy:?}"
    );
    assert_eq!(m.state(), CallState::Idle);

    let back = m.handle(sig(ALICE, invite(1_007_000)), t0 + Duration::from_secs(7));
    assert!(
        back.iter().any(
            |x| matches!(x, Action::Emit(CallEvent::IncomingCall { room, .. }) if room == "g")
        ),
        "invited back into the call under way, Bob rings again: {back:?}"
    );
    assert_eq!(m.state(), CallState::Incoming);
    m.handle(Input::Reject, t0 + Duration::from_secs(8));
    let again = m.handle(sig(ALICE, invite(1_007_000)), t0 + Duration::from_secs(9));
    assert!(
        again.is_empty(),
        "once declined, that invitation's copies stay quiet: {again:?}"
    );
}

#[test]
fn a_member_who_left_and_is_invited_back_by_another_is_told_again_when_this_side_joined() {
    let t0 = Instant::now();
    let mut m = carol_accepted(t0);
    m.handle(sig(BOB, joined_at(5_000)), t0);
    let a = m.handle(sig(BOB, end(EndReason::Hangup)), t0);
    assert_eq!(members_changed(&a), [(BOB.to_string(), Membership::Left)]);

    let back = Signal::GroupInvited {
        room_id: "g".into(),
        participants: vec![BOB.into()],
        sfu: false,
    };
    let a = m.handle(sig(ALICE, back.clone()), t0);
    assert_eq!(
        members_changed(&a),
        [(BOB.to_string(), Membership::Ringing)],
        "Alice invited Bob back: he rings again as far as Carol can tell"
    );
    assert!(
        members_changed(&m.handle(sig(ALICE, back), t0)).is_empty(),
        "a copy of the invitation is no news"
    );
    let a = m.handle(sig(BOB, joined_at(9_000)), t0);
    assert_eq!(members_changed(&a), [(BOB.to_string(), Membership::Joined)]);
    assert_eq!(
        sends(&a),
        [(BOB.to_string(), "group_joined")],
        "Bob's new stay needs Carol's join time again, or neither would offer"
    );
    assert_eq!(starts(&a), [(BOB.to_string(), Role::Callee)]);
}
