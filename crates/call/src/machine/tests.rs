use super::test_support::*;
use super::*;

#[test]
fn caller_connects_and_records_an_ended_call_with_its_duration() {
    let t0 = Instant::now();
    let mut m = dialing(t0);
    let a = m.handle(
        sig(
            BOB,
            Signal::CallResponse {
                room_id: "call_1".into(),
                accepted: true,
                timestamp: 0,
            },
        ),
        t0 + Duration::from_secs(3),
    );
    assert!(matches!(
        a[0],
        Action::StartMedia {
            role: Role::Caller,
            ..
        }
    ));
    let a = m.handle(
        Input::MediaConnected { peer: id(BOB) },
        t0 + Duration::from_secs(4),
    );
    assert_eq!(states(&a), [CallState::Connected]);
    let a = m.handle(Input::Hangup, t0 + Duration::from_secs(46));
    assert_eq!(sends(&a), [(BOB.to_string(), "call_end")]);
    assert!(a.contains(&Action::StopMedia { peer: id(BOB) }));
    assert_eq!(analytics(&a), [("ended", 42)]);
    assert_eq!(states(&a), [CallState::Ended, CallState::Idle]);
}

#[test]
fn declined_call_records_declined() {
    let t0 = Instant::now();
    let mut m = dialing(t0);
    let a = m.handle(
        sig(
            BOB,
            Signal::CallResponse {
                room_id: "call_1".into(),
                accepted: false,
                timestamp: 0,
            },
        ),
        t0,
    );
    assert_eq!(analytics(&a), [("declined", 0)]);
    assert_eq!(m.state(), CallState::Idle);
}

#[test]
fn unanswered_call_is_missed_after_sixty_seconds() {
    let t0 = Instant::now();
    let mut m = dialing(t0);
    assert_eq!(m.next_deadline(), Some(t0 + RING_TIMEOUT));
    assert!(m.on_timeout(t0 + Duration::from_secs(59)).is_empty());
    let a = m.on_timeout(t0 + RING_TIMEOUT);
    assert_eq!(sends(&a), [(BOB.to_string(), "call_end")]);
    assert!(a.iter().any(|x| matches!(
        x,
        Action::Send {
            signal: Signal::CallEnd {
                reason: Some(EndReason::Timeout),
                ..
            },
            ..
        }
    )));
    assert_eq!(analytics(&a), [("missed", 0)]);
    assert_eq!(m.state(), CallState::Idle);
}

#[test]
fn callee_screen_is_withdrawn_when_the_call_rings_out() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(id(BOB), "Bob");
    let a = m.handle(sig(ALICE, invitation("call_1", ALICE)), t0);
    assert_eq!(states(&a), [CallState::Incoming]);
    assert!(a.iter().any(|x| matches!(x, Action::Emit(CallEvent::IncomingCall { caller_name, .. }) if caller_name == "Bob")));
    let a = m.handle(
        sig(
            ALICE,
            Signal::CallEnd {
                room_id: "call_1".into(),
                timestamp: 0,
                reason: Some(EndReason::Timeout),
            },
        ),
        t0 + RING_TIMEOUT,
    );
    assert!(a.iter().any(|x| matches!(
        x,
        Action::Emit(CallEvent::IncomingWithdrawn {
            outcome: Outcome::Missed,
            ..
        })
    )));
    assert_eq!(analytics(&a), [("missed", 0)]);
    let mut m = CallMachine::new(id(BOB), "Bob");
    m.handle(sig(ALICE, invitation("call_2", ALICE)), t0);
    let a = m.on_timeout(t0 + RING_TIMEOUT);
    assert!(a
        .iter()
        .any(|x| matches!(x, Action::Emit(CallEvent::IncomingWithdrawn { .. }))));
    assert!(sends(&a).is_empty(), "callee's own ring-out sends nothing");
}

#[test]
fn caller_hanging_up_while_ringing_is_cancelled_on_both_sides() {
    let t0 = Instant::now();
    let mut caller = dialing(t0);
    let a = caller.handle(Input::Hangup, t0 + Duration::from_secs(5));
    assert_eq!(analytics(&a), [("cancelled", 0)]);
    let mut callee = CallMachine::new(id(BOB), "Bob");
    callee.handle(sig(ALICE, invitation("call_1", ALICE)), t0);
    let end = a.iter().find_map(|x| match x {
        Action::Send { signal, .. } => Some(signal.clone()),
        _ => None,
    });
    let b = callee.handle(
        sig(ALICE, end.expect("call_end sent")),
        t0 + Duration::from_secs(5),
    );
    assert_eq!(analytics(&b), [("cancelled", 0)]);
    assert_eq!(callee.state(), CallState::Idle);
}

#[test]
fn rejects_call_when_busy() {
    let t0 = Instant::now();
    let mut m = dialing(t0);
    let a = m.handle(sig("carol@x", invitation("call_9", "carol@x")), t0);
    assert_eq!(
        sends(&a),
        [
            ("carol@x".to_string(), "call_response"),
            ("carol@x".to_string(), "call_end")
        ]
    );
    assert!(matches!(
        &a[0],
        Action::Send {
            signal: Signal::CallResponse {
                accepted: false,
                ..
            },
            ..
        }
    ));
    assert_eq!(m.room(), Some("call_1"), "the current call is untouched");
}

#[test]
fn drops_stale_signals_from_other_rooms_and_replayed_invitations() {
    let t0 = Instant::now();
    let mut m = dialing(t0);
    let a = m.handle(
        sig(
            BOB,
            Signal::CallResponse {
                room_id: "old_room".into(),
                accepted: true,
                timestamp: 0,
            },
        ),
        t0,
    );
    assert!(a.is_empty());
    let a = m.handle(
        sig(
            "eve@x",
            Signal::CallResponse {
                room_id: "call_1".into(),
                accepted: true,
                timestamp: 0,
            },
        ),
        t0,
    );
    assert!(a.is_empty(), "a third party cannot answer our call");
    assert_eq!(m.dropped_stale(), 2);

    // Wall time comes from the injected clock: 10 000 s after the epoch at t0.
    let mut idle =
        CallMachine::new(id(BOB), "Bob").with_wall_clock(WallClock::fixed(t0, 10_000_000));
    assert!(idle
        .handle(
            sig(
                ALICE,
                Signal::CallEnd {
                    room_id: "x".into(),
                    timestamp: 0,
                    reason: None
                }
            ),
            t0
        )
        .is_empty());
    let old = Signal::CallInvitation {
        room_id: "r".into(),
        call_type: CallType::Audio,
        from_nx_id: ALICE.into(),
        from_name: String::new(),
        timestamp: 10_000_000 - 120_000,
        participants: vec![],
        sfu: false,
        knock: false,
    };
    assert!(idle
        .handle(
            Input::Signal {
                from: id(ALICE),
                signal: old,
                delayed: true
            },
            t0
        )
        .is_empty());
    assert_eq!(idle.state(), CallState::Idle);
}

#[test]
fn invitation_age_and_signal_timestamps_follow_the_injected_clock() {
    let t0 = Instant::now();
    let wall = WallClock::fixed(t0, 5_000);
    // Sent at 1 970-01-01 00:00:01; 4 s old by the injected clock (not stale), decades by the
    // system's: only the injected clock may decide.
    let mut m = CallMachine::new(id(BOB), "Bob").with_wall_clock(wall);
    let mut inv = invitation("r", ALICE);
    if let Signal::CallInvitation { timestamp, .. } = &mut inv {
        *timestamp = 1_000;
    }
    m.handle(
        Input::Signal {
            from: id(ALICE),
            signal: inv,
            delayed: true,
        },
        t0,
    );
    assert_eq!(m.state(), CallState::Incoming, "a 4 s old invitation rings");
    let a = m.handle(Input::Hangup, t0 + Duration::from_millis(250));
    let stamped = a.iter().find_map(|x| match x {
        Action::Send {
            signal: Signal::CallResponse { timestamp, .. },
            ..
        } => Some(*timestamp),
        _ => None,
    });
    assert_eq!(stamped, Some(5_250), "{a:?}");
}

#[test]
fn duplicate_invitation_for_the_same_room_is_ignored() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(id(BOB), "Bob");
    m.handle(sig(ALICE, invitation("call_1", ALICE)), t0);
    assert!(m
        .handle(sig(ALICE, invitation("call_1", ALICE)), t0)
        .is_empty());
    let a = m.handle(Input::Reject, t0);
    assert!(a.contains(&Action::DeclineOverRest {
        room: "call_1".into()
    }));
    assert!(
        m.handle(sig(ALICE, invitation("call_1", ALICE)), t0)
            .is_empty(),
        "an ended room does not ring again"
    );
}

#[test]
fn busy_reply_ends_the_callers_attempt_as_declined() {
    let t0 = Instant::now();
    let mut m = dialing(t0);
    let a = m.handle(
        sig(
            BOB,
            Signal::CallResponse {
                room_id: "call_1".into(),
                accepted: false,
                timestamp: 0,
            },
        ),
        t0,
    );
    assert_eq!(analytics(&a), [("declined", 0)]);
    assert!(m
        .handle(
            sig(
                BOB,
                Signal::CallEnd {
                    room_id: "call_1".into(),
                    timestamp: 0,
                    reason: Some(EndReason::Busy)
                }
            ),
            t0
        )
        .is_empty());
}

#[test]
fn cannot_call_yourself_or_dial_twice() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(id(ALICE), "Alice");
    let a = m.handle(
        Input::Dial {
            to: id(ALICE),
            room: "r".into(),
            audio: true,
            video: false,
        },
        t0,
    );
    assert!(matches!(a[0], Action::Emit(CallEvent::Error { .. })));
    let mut m = dialing(t0);
    let a = m.handle(
        Input::Dial {
            to: id("carol@x"),
            room: "r2".into(),
            audio: true,
            video: false,
        },
        t0,
    );
    assert!(matches!(a[0], Action::Emit(CallEvent::Error { .. })));
    assert_eq!(m.room(), Some("call_1"));
}

fn filtered_events(actions: &[Action]) -> Vec<Filtered> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Emit(CallEvent::IncomingFiltered { filtered, .. }) => Some(*filtered),
            _ => None,
        })
        .collect()
}

#[test]
fn declines_a_blocked_caller_without_ringing() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(id(ALICE), "Alice");
    m.set_filter(CallFilter::new(false, [id(BOB)]));
    let a = m.handle(sig(BOB, invitation("call_5", BOB)), t0);
    assert_eq!(sends(&a), [(BOB.to_string(), "call_response")]);
    assert!(a.contains(&Action::DeclineOverRest {
        room: "call_5".into()
    }));
    assert_eq!(filtered_events(&a), [Filtered::Blocked]);
    assert!(states(&a).is_empty(), "nothing rings");
    assert_eq!(m.state(), CallState::Idle);
    let again = m.handle(sig(BOB, invitation("call_5", BOB)), t0);
    assert!(again.is_empty(), "a repeated invitation is dropped");
    let carol = m.handle(sig("carol@x", invitation("call_6", "carol@x")), t0);
    assert_eq!(states(&carol), [CallState::Incoming], "others still ring");
}

#[test]
fn do_not_disturb_leaves_the_call_unanswered_and_reports_it() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(id(ALICE), "Alice");
    m.set_filter(CallFilter::new(true, []));
    let a = m.handle(sig(BOB, invitation("call_7", BOB)), t0);
    assert!(
        sends(&a).is_empty(),
        "the caller's ring runs out as a missed call"
    );
    assert_eq!(filtered_events(&a), [Filtered::DoNotDisturb]);
    assert!(states(&a).is_empty());
    let end = m.handle(
        sig(
            BOB,
            Signal::CallEnd {
                room_id: "call_7".into(),
                timestamp: nx::signal::now_ms(),
                reason: Some(EndReason::Timeout),
            },
        ),
        t0 + Duration::from_secs(60),
    );
    assert!(end.is_empty(), "the caller's end is for no call here");
    m.set_filter(CallFilter::default());
    let b = m.handle(sig(BOB, invitation("call_8", BOB)), t0);
    assert_eq!(
        states(&b),
        [CallState::Incoming],
        "rings again once it is off"
    );
}
