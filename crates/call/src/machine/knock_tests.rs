//! Guests knocking through a call link while a call goes on: admitted into the call, turned
//! away, giving up, or left over when the call ends.

use super::group_tests::{connected, joined_at, starts};
use super::test_support::{id, invitation, sends, sig, BOB, CAROL};
use super::*;

const GUEST: &str = "guest-00000000000000a1@x";
const KNOCK_ROOM: &str = "call_g00000000000000a1";

fn knock(name: &str) -> Signal {
    Signal::CallInvitation {
        room_id: KNOCK_ROOM.into(),
        call_type: CallType::Video,
        from_nx_id: GUEST.into(),
        from_name: name.into(),
        timestamp: nx::signal::now_ms(),
        participants: vec![],
        sfu: false,
        knock: true,
    }
}

/// Alice's group call with Bob and Carol, both announced, and a guest knocking.
fn knocked(t0: Instant) -> (CallMachine, Vec<Action>) {
    let mut m = connected(t0);
    for who in [BOB, CAROL] {
        m.handle(sig(who, joined_at(1_000)), t0);
    }
    let a = m.handle(sig(GUEST, knock("Jane")), t0);
    (m, a)
}

fn refusal_to_guest(a: &[Action]) -> bool {
    a.iter().any(|x| {
        matches!(x, Action::Send { to, signal: Signal::CallResponse { room_id, accepted: false, .. } }
            if to.to_string() == GUEST && room_id == KNOCK_ROOM)
    })
}

#[test]
fn a_guest_knocking_during_a_call_is_announced_instead_of_answered_busy() {
    let t0 = Instant::now();
    let (m, a) = knocked(t0);
    assert!(sends(&a).is_empty(), "no busy answer: {a:?}");
    assert!(a.contains(&Action::Emit(CallEvent::Knock {
        room: "g".into(),
        guest: GUEST.into(),
        name: "Jane".into(),
    })));
    assert_eq!(m.state(), CallState::Connected);
}

#[test]
fn an_account_calling_during_a_call_is_still_answered_busy() {
    let t0 = Instant::now();
    let mut m = connected(t0);
    let mut inv = knock("Dave");
    if let Signal::CallInvitation { from_nx_id, .. } = &mut inv {
        *from_nx_id = "dave@x".into();
    }
    let a = m.handle(sig("dave@x", inv), t0);
    assert_eq!(
        sends(&a),
        [
            ("dave@x".to_string(), "call_response"),
            ("dave@x".to_string(), "call_end")
        ]
    );
}

#[test]
fn an_admitted_guest_is_registered_then_invited_into_the_call_with_everyone_listed() {
    let t0 = Instant::now();
    let (mut m, _) = knocked(t0);
    let a = m.handle(Input::Admit { guest: id(GUEST) }, t0);
    assert!(
        sends(&a).is_empty(),
        "nobody is told before the server lists the guest"
    );
    assert!(a.contains(&Action::RegisterMembers {
        room: "g".into(),
        participants: vec![id(GUEST)]
    }));
    let a = m.handle(Input::Registered { room: "g".into() }, t0);
    assert_eq!(
        sends(&a),
        [
            (GUEST.to_string(), "call_invitation"),
            (BOB.to_string(), "group_invited"),
            (CAROL.to_string(), "group_invited")
        ]
    );
    let Some(Action::Send {
        signal:
            Signal::CallInvitation {
                room_id,
                participants,
                ..
            },
        ..
    }) = a.first()
    else {
        panic!("an invitation: {a:?}")
    };
    assert_eq!(room_id, "g", "the guest is asked into the call itself");
    assert_eq!(
        participants.len(),
        4,
        "Alice, Bob, Carol and the guest: {participants:?}"
    );
    let a = m.handle(
        sig(
            GUEST,
            Signal::CallResponse {
                room_id: "g".into(),
                accepted: true,
                timestamp: 0,
            },
        ),
        t0,
    );
    assert_eq!(starts(&a), [(GUEST.to_string(), Role::Caller)]);
    let a = m.handle(Input::Deny { guest: id(GUEST) }, t0);
    assert!(a.is_empty(), "the knock is over once the guest is in");
}

#[test]
fn a_denied_guest_is_refused_on_its_own_invitation() {
    let t0 = Instant::now();
    let (mut m, _) = knocked(t0);
    let a = m.handle(Input::Deny { guest: id(GUEST) }, t0);
    assert!(refusal_to_guest(&a));
    assert_eq!(m.state(), CallState::Connected);
    let a = m.handle(Input::Admit { guest: id(GUEST) }, t0);
    assert!(
        sends(&a).is_empty(),
        "a denied guest cannot be admitted after all"
    );
}

#[test]
fn a_guest_the_server_will_not_add_is_turned_away_rather_than_left_waiting() {
    let t0 = Instant::now();
    let (mut m, _) = knocked(t0);
    m.handle(Input::Admit { guest: id(GUEST) }, t0);
    let a = m.handle(
        Input::DialFailed {
            message: "guests can join calls of up to 4 people".into(),
        },
        t0,
    );
    assert!(refusal_to_guest(&a));
    assert_eq!(m.state(), CallState::Connected);
}

#[test]
fn a_guest_giving_up_withdraws_its_knock() {
    let t0 = Instant::now();
    let (mut m, _) = knocked(t0);
    let end = Signal::CallEnd {
        room_id: KNOCK_ROOM.into(),
        timestamp: 0,
        reason: None,
    };
    let a = m.handle(sig(GUEST, end), t0);
    assert_eq!(
        a,
        [Action::Emit(CallEvent::KnockWithdrawn {
            guest: GUEST.into()
        })]
    );
    assert_eq!(m.state(), CallState::Connected, "the call goes on");
}

#[test]
fn guests_still_knocking_when_the_call_ends_are_turned_away() {
    let t0 = Instant::now();
    let (mut m, _) = knocked(t0);
    let a = m.handle(Input::Hangup, t0);
    assert!(refusal_to_guest(&a));
    assert!(a.contains(&Action::Emit(CallEvent::KnockWithdrawn {
        guest: GUEST.into()
    })));
    assert_eq!(m.state(), CallState::Idle);
}

#[test]
fn a_guest_knocking_while_nothing_goes_on_rings_as_a_knock_and_only_a_guest_can_knock() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(id("alice@x"), "Alice");
    let a = m.handle(sig(GUEST, knock("Jane")), t0);
    assert!(a
        .iter()
        .any(|x| matches!(x, Action::Emit(CallEvent::IncomingCall { knock: true, .. }))));
    let mut m = CallMachine::new(id("alice@x"), "Alice");
    let mut inv = knock("Dave");
    if let Signal::CallInvitation { from_nx_id, .. } = &mut inv {
        *from_nx_id = "dave@x".into();
    }
    let a = m.handle(sig("dave@x", inv), t0);
    assert!(
        a.iter().any(|x| matches!(
            x,
            Action::Emit(CallEvent::IncomingCall { knock: false, .. })
        )),
        "an account's call is a call whatever it says"
    );
}

#[test]
fn a_guest_this_side_cannot_let_in_hears_busy_first() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(id("alice@x"), "Alice");
    m.handle(sig(BOB, invitation("call_1", BOB)), t0);
    let a = m.handle(sig(GUEST, knock("Jane")), t0);
    assert_eq!(
        sends(&a),
        [
            (GUEST.to_string(), "call_end"),
            (GUEST.to_string(), "call_response")
        ],
        "a call still ringing here cannot take a guest in"
    );
}
