//! Group calls on the conference server in the pure core: joining the room, naming feeds over
//! NX, receiving a feed once it is both published and claimed, members leaving or failing.

use super::test_support::{
    bob_published, group_invitation, id, response, sends, sig, ALICE, BOB, CAROL,
};
use super::*;
use crate::roster::Membership;

fn feed(n: u64) -> Signal {
    Signal::SfuFeed {
        room_id: "g".into(),
        feed: n,
    }
}

fn receives(actions: &[Action]) -> Vec<(String, u64)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Receive { peer, feed } => Some((peer.to_string(), *feed)),
            _ => None,
        })
        .collect()
}

fn stops(actions: &[Action]) -> Vec<(String, u64)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::StopReceiving { peer, feed } => Some((peer.to_string(), *feed)),
            _ => None,
        })
        .collect()
}

/// Alice calls Bob and Carol on the conference server: registered, invitations say so, and
/// she joins the room at once.
fn ringing(t0: Instant) -> CallMachine {
    let mut m = CallMachine::new(id(ALICE), "Alice");
    let a = m.handle(
        Input::DialGroup {
            to: vec![id(BOB), id(CAROL)],
            room: "g".into(),
            audio: true,
            video: true,
            conference: true,
        },
        t0,
    );
    assert!(
        a.iter().any(|x| matches!(
            x,
            Action::RegisterGroupCall {
                conference: true,
                ..
            }
        )),
        "{a:?}"
    );
    assert!(m
        .handle(Input::OnConference { room: "g".into() }, t0)
        .is_empty());
    let a = m.handle(Input::Registered { room: "g".into() }, t0);
    let sfu_invitations = a
        .iter()
        .filter(|x| {
            matches!(
                x,
                Action::Send {
                    signal: Signal::CallInvitation { sfu: true, .. },
                    ..
                }
            )
        })
        .count();
    assert_eq!(sfu_invitations, 2, "both invitations name the conference");
    assert!(a.contains(&Action::JoinConference { room: "g".into() }));
    m
}

#[test]
fn the_caller_publishes_then_tells_each_member_who_joins_its_feed_and_no_legs_open() {
    let t0 = Instant::now();
    let mut m = ringing(t0);
    let a = m.handle(Input::ConferenceJoined { feed: 11 }, t0);
    assert!(sends(&a).is_empty(), "nobody has joined to be told");
    let a = m.handle(sig(BOB, response(true)), t0);
    assert_eq!(sends(&a), [(BOB.to_string(), "sfu_feed")]);
    assert!(
        !a.iter().any(|x| matches!(x, Action::StartMedia { .. })),
        "no peer-to-peer leg on a conference: {a:?}"
    );
    // Bob's feed is received once he names it and Janus says it publishes, in either order.
    assert!(receives(&m.handle(sig(BOB, feed(22)), t0)).is_empty());
    let a = m.handle(
        Input::FeedsPublished {
            feeds: vec![22, 99],
        },
        t0,
    );
    assert_eq!(receives(&a), [(BOB.to_string(), 22)]);
    assert!(
        receives(&m.handle(Input::FeedsPublished { feeds: vec![22] }, t0)).is_empty(),
        "received once"
    );
    let a = m.handle(Input::ConferenceFlowing, t0);
    assert!(a.contains(&Action::Emit(CallEvent::StateChanged {
        state: CallState::Connected
    })));
    // Carol joins after Janus said her feed publishes: received when she names it.
    let a = m.handle(sig(CAROL, response(true)), t0);
    assert_eq!(sends(&a), [(CAROL.to_string(), "sfu_feed")]);
    m.handle(Input::FeedsPublished { feeds: vec![33] }, t0);
    assert_eq!(
        receives(&m.handle(sig(CAROL, feed(33)), t0)),
        [(CAROL.to_string(), 33)]
    );
}

#[test]
fn an_invitee_joins_the_room_on_accepting_and_answers_with_its_feed() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(id(BOB), "Bob");
    m.handle(sig(ALICE, group_invitation(0, true)), t0);
    let a = m.handle(
        Input::Accept {
            audio: true,
            video: true,
        },
        t0,
    );
    assert!(a.contains(&Action::JoinConference { room: "g".into() }));
    assert!(!a.iter().any(|x| matches!(x, Action::StartMedia { .. })));
    let a = m.handle(Input::ConferenceJoined { feed: 22 }, t0);
    assert_eq!(
        sends(&a),
        [(ALICE.to_string(), "sfu_feed")],
        "the inviter is told; Carol is not in yet"
    );
    let a = m.handle(
        sig(
            CAROL,
            Signal::GroupJoined {
                room_id: "g".into(),
                joined_at: 5,
            },
        ),
        t0,
    );
    assert!(sends(&a).contains(&(CAROL.to_string(), "sfu_feed")));
    // Offers never open a leg on a conference call.
    let a = m.handle(
        sig(
            CAROL,
            Signal::Offer {
                room_id: "g".into(),
                sdp: "v=0".into(),
                sdp_type: "offer".into(),
            },
        ),
        t0,
    );
    assert!(a.is_empty(), "{a:?}");
}

#[test]
fn feeds_claimed_by_strangers_or_twice_are_not_received() {
    let t0 = Instant::now();
    let mut m = ringing(t0);
    m.handle(Input::ConferenceJoined { feed: 11 }, t0);
    m.handle(sig(BOB, response(true)), t0);
    m.handle(
        Input::FeedsPublished {
            feeds: vec![22, 44],
        },
        t0,
    );
    assert!(receives(&m.handle(sig("mallory@x", feed(44)), t0)).is_empty());
    assert!(
        receives(&m.handle(sig(CAROL, feed(44)), t0)).is_empty(),
        "Carol has not joined"
    );
    assert!(
        receives(&m.handle(sig(BOB, feed(11)), t0)).is_empty(),
        "that is this side's own feed"
    );
    assert_eq!(
        receives(&m.handle(sig(BOB, feed(22)), t0)),
        [(BOB.to_string(), 22)]
    );
}

#[test]
fn a_member_who_leaves_stops_being_received_and_a_vanished_feed_counts_as_failed() {
    let t0 = Instant::now();
    let mut m = ringing(t0);
    m.handle(Input::ConferenceJoined { feed: 11 }, t0);
    for (who, f) in [(BOB, 22), (CAROL, 33)] {
        m.handle(sig(who, response(true)), t0);
        m.handle(sig(who, feed(f)), t0);
    }
    m.handle(
        Input::FeedsPublished {
            feeds: vec![22, 33],
        },
        t0,
    );
    m.handle(Input::ConferenceFlowing, t0);
    let a = m.handle(
        sig(
            BOB,
            Signal::CallEnd {
                room_id: "g".into(),
                timestamp: 0,
                reason: Some(EndReason::Hangup),
            },
        ),
        t0,
    );
    assert_eq!(stops(&a), [(BOB.to_string(), 22)]);
    assert_eq!(m.state(), CallState::Connected, "Carol is still there");
    // Carol's feed leaves Janus without a word from her: she is told and counts as gone; with
    // nobody left the call ends and this side leaves the room.
    let a = m.handle(Input::FeedGone { feed: 33 }, t0);
    assert_eq!(stops(&a), [(CAROL.to_string(), 33)]);
    assert!(sends(&a).contains(&(CAROL.to_string(), "call_end")));
    assert!(a.contains(&Action::LeaveConference));
    assert_eq!(m.state(), CallState::Idle);
    assert!(m.members().iter().all(|(_, s)| *s != Membership::Joined));
}

#[test]
fn a_conference_call_that_nobody_answers_leaves_the_room() {
    let t0 = Instant::now();
    let mut m = ringing(t0);
    m.handle(Input::ConferenceJoined { feed: 11 }, t0);
    let a = m.handle(Input::Hangup, t0);
    assert!(a.contains(&Action::LeaveConference), "{a:?}");
    assert_eq!(sends(&a).len(), 2, "both invitations withdrawn");
}

#[test]
fn turning_the_camera_on_in_an_audio_only_conference_publishes_it_once() {
    let t0 = Instant::now();
    let mut m = bob_published(t0, false);
    m.handle(Input::ConferenceFlowing, t0);
    assert_eq!(m.state(), CallState::Connected);
    let a = m.handle(Input::StartVideo, t0);
    assert!(
        a.contains(&Action::PublishVideo { room: "g".into() }),
        "{a:?}"
    );
    assert!(a.contains(&Action::Emit(CallEvent::LocalMediaAvailable {
        audio: true,
        video: true
    })));
    assert_eq!(m.call_type(), Some(CallType::Video));
    assert!(
        m.handle(Input::StartVideo, t0).is_empty(),
        "video is sent already"
    );
}

#[test]
fn a_received_feed_announced_again_is_subscribed_anew_to_get_its_new_streams() {
    let t0 = Instant::now();
    let mut m = ringing(t0);
    m.handle(Input::ConferenceJoined { feed: 11 }, t0);
    m.handle(sig(BOB, response(true)), t0);
    m.handle(sig(BOB, feed(22)), t0);
    let a = m.handle(Input::FeedsPublished { feeds: vec![22] }, t0);
    assert_eq!(receives(&a), [(BOB.to_string(), 22)]);
    assert!(!a
        .iter()
        .any(|x| matches!(x, Action::RestartConferenceLink { .. })));
    // Bob turned his camera on: Janus lists his feed again, with its new video stream.
    let a = m.handle(Input::FeedsPublished { feeds: vec![22] }, t0);
    assert_eq!(
        a,
        [Action::RestartConferenceLink {
            link: ConferenceLink::Subscribe
        }]
    );
    // A feed not received yet (Carol's, unclaimed) is no reason to.
    assert!(m
        .handle(Input::FeedsPublished { feeds: vec![33] }, t0)
        .is_empty());
}
