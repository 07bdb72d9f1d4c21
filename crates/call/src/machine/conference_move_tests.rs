//! A mesh call that grows over the mesh limit moves onto the conference server (protocol.md
//! §4.3 rule 6), in the pure core: the inviter's side, a member's side, one still ringing, and a
//! member who hears of the move first from another member's feed.

use super::group_tests::{carol_accepted, connected, joined_at, starts, DAVE};
use super::test_support::{group_invitation, id, sends, sig, ALICE, BOB, CAROL};
use super::*;

fn stopped(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::StopMedia { peer } => Some(peer.to_string()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_inviter_of_one_too_many_moves_the_mesh_call_onto_the_conference_server() {
    let t0 = Instant::now();
    let mut m = connected(t0);
    for who in [BOB, CAROL] {
        m.handle(sig(who, joined_at(1_000)), t0);
    }
    m.handle(Input::Invite { to: id(DAVE) }, t0);
    // The server answered `media: "sfu"`: the legs close and this side joins the room.
    let a = m.handle(Input::OnConference { room: "g".into() }, t0);
    assert_eq!(stopped(&a), [BOB, CAROL]);
    assert!(a.contains(&Action::JoinConference { room: "g".into() }));
    let a = m.handle(Input::Registered { room: "g".into() }, t0);
    assert!(a.iter().any(|x| matches!(
        x,
        Action::Send { to, signal: Signal::CallInvitation { sfu: true, .. } } if *to == id(DAVE)
    )));
    let moved: Vec<String> = a
        .iter()
        .filter_map(|x| match x {
            Action::Send {
                to,
                signal: Signal::GroupInvited { sfu: true, .. },
            } => Some(to.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(moved, [BOB, CAROL], "every member is told to move");
    assert!(
        !a.contains(&Action::JoinConference { room: "g".into() }),
        "joined once"
    );
    assert_eq!(
        m.state(),
        CallState::Connected,
        "the call goes on through the move"
    );
    let a = m.handle(Input::ConferenceJoined { feed: 11 }, t0);
    assert_eq!(
        sends(&a),
        [
            (BOB.to_string(), "sfu_feed"),
            (CAROL.to_string(), "sfu_feed")
        ]
    );
    // A member's late offer for the old leg opens nothing.
    let offer = Signal::Offer {
        room_id: "g".into(),
        sdp: "v=0".into(),
        sdp_type: "offer".into(),
    };
    assert!(starts(&m.handle(sig(BOB, offer), t0)).is_empty());
}

#[test]
fn a_member_told_of_the_move_closes_its_legs_and_joins_the_room() {
    let t0 = Instant::now();
    let mut m = carol_accepted(t0);
    m.handle(sig(BOB, joined_at(5_000)), t0);
    let moved = Signal::GroupInvited {
        room_id: "g".into(),
        participants: vec![DAVE.into()],
        sfu: true,
    };
    let a = m.handle(sig(ALICE, moved), t0);
    let mut closed = stopped(&a);
    closed.sort();
    assert_eq!(closed, [ALICE, BOB]);
    assert!(a.contains(&Action::JoinConference { room: "g".into() }));
    // Once it publishes, it names its feed to the members who joined.
    let a = m.handle(Input::ConferenceJoined { feed: 33 }, t0);
    let mut told: Vec<(String, &str)> = sends(&a);
    told.sort();
    assert_eq!(
        told,
        [
            (ALICE.to_string(), "sfu_feed"),
            (BOB.to_string(), "sfu_feed")
        ]
    );
}

#[test]
fn a_members_feed_heard_before_the_move_itself_moves_this_side_too() {
    let t0 = Instant::now();
    let mut m = carol_accepted(t0);
    m.handle(sig(BOB, joined_at(5_000)), t0);
    let feed = Signal::SfuFeed {
        room_id: "g".into(),
        feed: 22,
    };
    let a = m.handle(sig(BOB, feed), t0);
    assert!(
        a.contains(&Action::JoinConference { room: "g".into() }),
        "{a:?}"
    );
    let a = m.handle(Input::FeedsPublished { feeds: vec![22] }, t0);
    assert!(a.contains(&Action::Receive {
        peer: id(BOB),
        feed: 22
    }));
}

#[test]
fn someone_still_ringing_when_the_call_moves_joins_the_room_on_answering() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(id(CAROL), "Carol");
    m.handle(sig(ALICE, group_invitation(0, false)), t0);
    let moved = Signal::GroupInvited {
        room_id: "g".into(),
        participants: vec![DAVE.into()],
        sfu: true,
    };
    let a = m.handle(sig(ALICE, moved), t0);
    assert!(
        !a.contains(&Action::JoinConference { room: "g".into() }),
        "not before answering: {a:?}"
    );
    let a = m.handle(
        Input::Accept {
            audio: true,
            video: true,
        },
        t0,
    );
    assert!(
        a.contains(&Action::JoinConference { room: "g".into() }),
        "{a:?}"
    );
    assert!(starts(&a).is_empty(), "no mesh legs: {a:?}");
}
