use super::*;

fn id(s: &str) -> NxId {
    NxId::parse_jid(s).expect("jid")
}

fn sends(actions: &[Action]) -> Vec<(String, &'static str)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { to, signal } => Some((to.to_string(), signal.kind())),
            _ => None,
        })
        .collect()
}

fn analytics(actions: &[Action]) -> Vec<(&'static str, u64)> {
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

fn states(actions: &[Action]) -> Vec<CallState> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Emit(CallEvent::StateChanged { state }) => Some(*state),
            _ => None,
        })
        .collect()
}

fn invitation(room: &str, from: &str) -> Signal {
    Signal::CallInvitation {
        room_id: room.into(),
        call_type: CallType::Video,
        from_nx_id: from.into(),
        from_name: "Bob".into(),
        timestamp: nx::signal::now_ms(),
        participants: vec![],
    }
}

fn sig(from: &str, signal: Signal) -> Input {
    Input::Signal {
        from: id(from),
        signal,
        delayed: false,
    }
}

fn accepted(room: &str) -> Signal {
    Signal::CallResponse {
        room_id: room.into(),
        accepted: true,
        timestamp: 0,
    }
}

const ALICE: &str = "alice@x";
const BOB: &str = "bob@x";

fn dialing(t0: Instant) -> CallMachine {
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
fn callee_accepts_then_applies_early_offer_and_candidates_in_order() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(id(BOB), "Bob");
    m.handle(sig(ALICE, invitation("call_1", ALICE)), t0);
    let offer = Signal::Offer {
        room_id: "call_1".into(),
        sdp: "v=0".into(),
        sdp_type: "offer".into(),
    };
    let cand = Signal::IceCandidate {
        room_id: "call_1".into(),
        candidate: "candidate:1".into(),
        sdp_mid: Some("0".into()),
        sdp_mline_index: Some(0),
    };
    assert!(m.handle(sig(ALICE, offer.clone()), t0).is_empty());
    assert!(m.handle(sig(ALICE, cand.clone()), t0).is_empty());
    let a = m.handle(
        Input::Accept {
            audio: true,
            video: false,
        },
        t0,
    );
    assert_eq!(
        sends(&a),
        [
            (ALICE.to_string(), "call_response"),
            (ALICE.to_string(), "group_joined")
        ],
        "the answer, then when Bob joined (ignored by clients without the group extension)"
    );
    let rest: Vec<&Action> = a
        .iter()
        .skip_while(|x| !matches!(x, Action::StartMedia { .. }))
        .collect();
    assert!(matches!(
        rest[0],
        Action::StartMedia {
            role: Role::Callee,
            video: false,
            ..
        }
    ));
    assert!(
        !a.iter().any(|x| matches!(x, Action::ApplyRemote { .. })),
        "nothing is applied before the media is ready"
    );
    let late = Signal::IceCandidate {
        room_id: "call_1".into(),
        candidate: "candidate:2".into(),
        sdp_mid: Some("0".into()),
        sdp_mline_index: Some(0),
    };
    assert!(m.handle(sig(ALICE, late.clone()), t0).is_empty());
    let a = m.handle(
        Input::MediaReady {
            room: "call_1".into(),
            peer: id(ALICE),
        },
        t0,
    );
    assert_eq!(
        a,
        [
            Action::ApplyRemote {
                peer: id(ALICE),
                signal: offer
            },
            Action::ApplyRemote {
                peer: id(ALICE),
                signal: cand
            },
            Action::ApplyRemote {
                peer: id(ALICE),
                signal: late
            }
        ],
        "the callee does not offer; what came early is applied in order"
    );
    assert_eq!(m.state(), CallState::Calling);
}

#[test]
fn caller_offers_once_its_media_is_ready_and_drops_answers_meant_for_replaced_media() {
    let t0 = Instant::now();
    let mut m = dialing(t0);
    let a = m.handle(sig(BOB, accepted("call_1")), t0);
    assert!(a.iter().any(|x| matches!(x, Action::StartMedia { .. })));
    assert!(!a.iter().any(|x| matches!(x, Action::Offer { .. })));
    let old_answer = Signal::Answer {
        room_id: "call_1".into(),
        sdp: "v=0".into(),
        sdp_type: "answer".into(),
    };
    assert!(m.handle(sig(BOB, old_answer.clone()), t0).is_empty());
    let ready = Input::MediaReady {
        room: "call_1".into(),
        peer: id(BOB),
    };
    let a = m.handle(ready.clone(), t0);
    assert_eq!(
        a,
        [Action::Offer {
            room: "call_1".into(),
            peer: id(BOB)
        }],
        "the answer to the replaced media's offer is not applied"
    );
    assert!(m.handle(ready, t0).is_empty(), "one offer per start");
    assert_eq!(
        m.handle(sig(BOB, old_answer.clone()), t0),
        [Action::ApplyRemote {
            peer: id(BOB),
            signal: old_answer
        }]
    );
}

#[test]
fn a_registration_that_fails_ends_the_dial_and_a_late_one_invites_nobody() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(id(ALICE), "Alice");
    m.handle(
        Input::Dial {
            to: id(BOB),
            room: "call_1".into(),
            audio: true,
            video: false,
        },
        t0,
    );
    let a = m.handle(
        Input::DialFailed {
            message: "server said no".into(),
        },
        t0,
    );
    assert_eq!(analytics(&a), [("failed", 0)]);
    assert!(
        sends(&a).is_empty(),
        "nobody was invited, so nobody is told"
    );
    let a = m.handle(
        Input::Registered {
            room: "call_1".into(),
        },
        t0,
    );
    assert!(sends(&a).is_empty());
    assert_eq!(m.state(), CallState::Idle);
}

#[test]
fn an_offer_from_the_peers_new_connection_starts_new_media_then_answers_it() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(id(BOB), "Bob");
    m.handle(sig(ALICE, invitation("call_1", ALICE)), t0);
    m.handle(
        Input::Accept {
            audio: true,
            video: true,
        },
        t0,
    );
    m.handle(
        Input::MediaReady {
            room: "call_1".into(),
            peer: id(ALICE),
        },
        t0,
    );
    let offer = Signal::Offer {
        room_id: "call_1".into(),
        sdp: "v=0 new".into(),
        sdp_type: "offer".into(),
    };
    let a = m.handle(
        Input::PeerRestarted {
            peer: id(ALICE),
            offer: offer.clone(),
        },
        t0,
    );
    assert!(matches!(
        a[..],
        [Action::StartMedia {
            role: Role::Callee,
            ..
        }]
    ));
    let a = m.handle(
        Input::MediaReady {
            room: "call_1".into(),
            peer: id(ALICE),
        },
        t0,
    );
    assert_eq!(
        a,
        [Action::ApplyRemote {
            peer: id(ALICE),
            signal: offer
        }]
    );
}

#[test]
fn failed_media_restarts_ice_once_then_fails_the_call() {
    let t0 = Instant::now();
    let mut m = dialing(t0);
    m.handle(
        sig(
            BOB,
            Signal::CallAccepted {
                room_id: "call_1".into(),
                timestamp: 0,
            },
        ),
        t0,
    );
    m.handle(Input::MediaConnected { peer: id(BOB) }, t0);
    let a = m.handle(
        Input::MediaFailed {
            peer: id(BOB),
            reason: "ice failed".into(),
        },
        t0 + Duration::from_secs(10),
    );
    assert!(a.contains(&Action::RestartIce { peer: id(BOB) }));
    let a = m.handle(
        Input::MediaFailed {
            peer: id(BOB),
            reason: "ice failed".into(),
        },
        t0 + Duration::from_secs(12),
    );
    assert!(
        !a.contains(&Action::RestartIce { peer: id(BOB) }),
        "only one restart"
    );
    let a = m.on_timeout(t0 + Duration::from_secs(10) + RECOVER_TIMEOUT);
    assert_eq!(analytics(&a), [("failed", 0)]);
    assert_eq!(sends(&a), [(BOB.to_string(), "call_end")]);
}

#[test]
fn a_call_that_never_connected_is_set_up_again_quietly_within_the_connect_deadline() {
    let t0 = Instant::now();
    let mut m = dialing(t0);
    m.handle(
        sig(
            BOB,
            Signal::CallAccepted {
                room_id: "call_1".into(),
                timestamp: 0,
            },
        ),
        t0,
    );
    for attempt in 1..=MAX_REBUILDS {
        let a = m.handle(
            Input::MediaFailed {
                peer: id(BOB),
                reason: "DTLS handshake gave up".into(),
            },
            t0 + Duration::from_secs(8 * u64::from(attempt)),
        );
        assert!(
            a.iter().any(|x| matches!(
                x,
                Action::StartMedia {
                    role: Role::Caller,
                    ..
                }
            )),
            "attempt {attempt}: new media and a new offer: {a:?}"
        );
        assert!(
            !a.iter()
                .any(|x| matches!(x, Action::Emit(CallEvent::Reconnecting { .. }))),
            "the user is not told"
        );
    }
    let a = m.handle(
        Input::MediaFailed {
            peer: id(BOB),
            reason: "DTLS handshake gave up".into(),
        },
        t0 + Duration::from_secs(29),
    );
    assert!(
        !a.iter().any(|x| matches!(x, Action::StartMedia { .. })),
        "at most {MAX_REBUILDS}"
    );
    let a = m.on_timeout(t0 + CONNECT_TIMEOUT);
    assert_eq!(analytics(&a), [("failed", 0)]);
}

#[test]
fn a_set_up_attempt_that_hangs_is_replaced_and_the_last_one_ends_the_call() {
    // webrtc 0.21.1 does not always report a DTLS handshake that gave up: the attempt times out.
    let t0 = Instant::now();
    let mut m = dialing(t0);
    m.handle(
        sig(
            BOB,
            Signal::CallAccepted {
                room_id: "call_1".into(),
                timestamp: 0,
            },
        ),
        t0,
    );
    let mut t = t0;
    for attempt in 1..=MAX_REBUILDS {
        t += SETUP_ATTEMPT;
        assert_eq!(m.next_deadline(), Some(t), "attempt {attempt}");
        let a = m.on_timeout(t);
        assert!(
            a.iter().any(|x| matches!(x, Action::StartMedia { .. })),
            "attempt {attempt}: {a:?}"
        );
    }
    t += SETUP_ATTEMPT;
    let a = m.on_timeout(t);
    assert_eq!(
        analytics(&a),
        [("failed", 0)],
        "the last attempt ends it at once"
    );
    assert!(t < t0 + CONNECT_TIMEOUT);
}

#[test]
fn a_callee_waits_for_the_callers_new_offer_when_set_up_fails() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(id(BOB), "Bob");
    m.handle(sig(ALICE, invitation("call_1", ALICE)), t0);
    m.handle(
        Input::Accept {
            audio: true,
            video: true,
        },
        t0,
    );
    let a = m.handle(
        Input::MediaFailed {
            peer: id(BOB),
            reason: "DTLS handshake gave up".into(),
        },
        t0 + Duration::from_secs(8),
    );
    assert!(a.is_empty(), "nothing to do until the offer: {a:?}");
    assert_eq!(m.state(), CallState::Calling);
}

#[test]
fn recovery_clears_the_failure_deadline() {
    let t0 = Instant::now();
    let mut m = dialing(t0);
    m.handle(
        sig(
            BOB,
            Signal::CallAccepted {
                room_id: "call_1".into(),
                timestamp: 0,
            },
        ),
        t0,
    );
    m.handle(Input::MediaConnected { peer: id(BOB) }, t0);
    m.handle(
        Input::MediaFailed {
            peer: id(BOB),
            reason: "ice failed".into(),
        },
        t0,
    );
    m.handle(
        Input::MediaConnected { peer: id(BOB) },
        t0 + Duration::from_secs(2),
    );
    assert_eq!(m.next_deadline(), None);
    assert_eq!(m.state(), CallState::Connected);
}

#[test]
fn media_that_never_connects_fails_the_call() {
    let t0 = Instant::now();
    let mut m = dialing(t0);
    m.handle(
        sig(
            BOB,
            Signal::CallAccepted {
                room_id: "call_1".into(),
                timestamp: 0,
            },
        ),
        t0,
    );
    let a = m.on_timeout(t0 + CONNECT_TIMEOUT);
    assert_eq!(analytics(&a), [("failed", 0)]);
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

#[test]
fn turning_the_camera_on_upgrades_an_audio_call_once_and_only_when_connected() {
    let t0 = Instant::now();
    let mut m = CallMachine::new(id(ALICE), "Alice");
    m.handle(
        Input::Dial {
            to: id(BOB),
            room: "call_1".into(),
            audio: true,
            video: false,
        },
        t0,
    );
    assert!(
        m.handle(Input::StartVideo, t0).is_empty(),
        "nothing to upgrade while it rings"
    );
    m.handle(
        sig(
            BOB,
            Signal::CallResponse {
                room_id: "call_1".into(),
                accepted: true,
                timestamp: 0,
            },
        ),
        t0,
    );
    m.handle(
        Input::MediaReady {
            room: "call_1".into(),
            peer: id(BOB),
        },
        t0,
    );
    m.handle(
        Input::MediaConnected { peer: id(BOB) },
        t0 + Duration::from_secs(1),
    );
    let a = m.handle(Input::StartVideo, t0 + Duration::from_secs(5));
    assert!(a.contains(&Action::AddVideo {
        room: "call_1".into(),
        peer: id(BOB)
    }));
    assert!(a.contains(&Action::Emit(CallEvent::LocalMediaAvailable {
        audio: true,
        video: true
    })));
    assert!(
        m.handle(Input::StartVideo, t0 + Duration::from_secs(6))
            .is_empty(),
        "video is already on"
    );
    let end = m.handle(Input::Hangup, t0 + Duration::from_secs(10));
    assert!(end.iter().any(|x| matches!(
        x,
        Action::RecordAnalytics {
            call_type: CallType::Video,
            ..
        }
    )));
}
