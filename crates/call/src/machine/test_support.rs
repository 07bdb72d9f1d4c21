//! Inputs, signals and readings of actions shared by the machine's tests.

use super::*;

pub(super) fn id(s: &str) -> NxId {
    NxId::parse_jid(s).expect("jid")
}

pub(super) fn sends(actions: &[Action]) -> Vec<(String, &'static str)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { to, signal } => Some((to.to_string(), signal.kind())),
            _ => None,
        })
        .collect()
}

pub(super) fn analytics(actions: &[Action]) -> Vec<(&'static str, u64)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::RecordAnalytics {
                status,
                duration_seconds,
                ..
            } => Some((*status, *duration_seconds)),
            _ => None,
        })
        .collect()
}

pub(super) fn states(actions: &[Action]) -> Vec<CallState> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Emit(CallEvent::StateChanged { state }) => Some(*state),
            _ => None,
        })
        .collect()
}

pub(super) fn invitation(room: &str, from: &str) -> Signal {
    Signal::CallInvitation {
        room_id: room.into(),
        call_type: CallType::Video,
        from_nx_id: from.into(),
        from_name: "Bob".into(),
        timestamp: nx::signal::now_ms(),
        participants: vec![],
        sfu: false,
        knock: false,
    }
}

/// Alice's invitation (sent at `timestamp`) to the group call "g" of Alice, Bob and Carol, on
/// the conference server if `sfu`.
pub(super) fn group_invitation(timestamp: i64, sfu: bool) -> Signal {
    Signal::CallInvitation {
        room_id: "g".into(),
        call_type: CallType::Video,
        from_nx_id: ALICE.into(),
        from_name: "Alice".into(),
        timestamp,
        participants: vec![ALICE.into(), BOB.into(), CAROL.into()],
        sfu,
        knock: false,
    }
}

pub(super) fn sig(from: &str, signal: Signal) -> Input {
    Input::Signal {
        from: id(from),
        signal,
        delayed: false,
    }
}

pub(super) fn accepted(room: &str) -> Signal {
    Signal::CallResponse {
        room_id: room.into(),
        accepted: true,
        timestamp: 0,
    }
}

pub(super) const ALICE: &str = "alice@x";
pub(super) const BOB: &str = "bob@x";
pub(super) const CAROL: &str = "carol@x";

/// A member's answer to a group call's (room `g`) invitation.
pub(super) fn response(accepted: bool) -> Signal {
    Signal::CallResponse {
        room_id: "g".into(),
        accepted,
        timestamp: 0,
    }
}

pub(super) fn dialing(t0: Instant) -> CallMachine {
    let mut m = CallMachine::new(id(ALICE), "Alice");
    let a = m.handle(
        Input::Dial {
            to: id(BOB),
            room: "call_1".into(),
            audio: true,
            video: true,
        },
        t0,
    );
    assert_eq!(states(&a), [CallState::Calling]);
    assert!(a.contains(&Action::RegisterCall {
        to: id(BOB),
        room: "call_1".into(),
        call_type: CallType::Video
    }));
    assert!(
        sends(&a).is_empty(),
        "the invitation waits for the registration"
    );
    let a = m.handle(
        Input::Registered {
            room: "call_1".into(),
        },
        t0,
    );
    assert_eq!(sends(&a), [(BOB.to_string(), "call_invitation")]);
    m
}

/// Bob accepted Alice's conference invitation (with video or not) and publishes as feed 7.
pub(super) fn bob_published(t0: Instant, video: bool) -> CallMachine {
    let mut m = CallMachine::new(id(BOB), "Bob");
    m.handle(sig(ALICE, group_invitation(0, true)), t0);
    m.handle(Input::Accept { audio: true, video }, t0);
    m.handle(Input::ConferenceJoined { feed: 7 }, t0);
    m
}
