//! Property tests of the call state machine: for any sequence of user actions, signals (from
//! the peer or a stranger, for this call or another, live or replayed), media events and
//! passing time, it never panics, records at most one analytics outcome per call, and every
//! call it took on ends (after a final hang-up and enough time).

use super::*;
use proptest::prelude::*;
use std::collections::HashMap;
use std::time::Duration;

#[derive(Debug, Clone)]
enum Step {
    Input(Input),
    /// Time passes; the driver calls `on_timeout`.
    Wait(u64),
}

fn peer() -> impl Strategy<Value = NxId> {
    prop_oneof![Just("bob@simu.local"), Just("carol@simu.local")]
        .prop_map(|s| NxId::parse_jid(s).expect("jid"))
}

fn room() -> impl Strategy<Value = String> {
    prop_oneof![Just("r0"), Just("r1"), Just("r2")].prop_map(str::to_string)
}

fn signal() -> impl Strategy<Value = Signal> {
    let ts = prop_oneof![
        Just(0i64),
        Just(i64::MIN),
        Just(i64::MAX),
        Just(nx::signal::now_ms())
    ];
    prop_oneof![
        (room(), ts.clone(), peer(), any::<bool>()).prop_map(|(r, t, p, sfu)| {
            Signal::CallInvitation {
                room_id: r,
                call_type: CallType::Video,
                from_nx_id: p.to_string(),
                from_name: "X".into(),
                timestamp: t,
                participants: if sfu {
                    vec!["bob@simu.local".into(), "carol@simu.local".into()]
                } else {
                    vec![]
                },
                sfu,
                knock: false,
            }
        }),
        (room(), 0u64..4).prop_map(|(r, feed)| Signal::SfuFeed { room_id: r, feed }),
        (room(), any::<bool>()).prop_map(|(r, a)| Signal::CallResponse {
            room_id: r,
            accepted: a,
            timestamp: 0
        }),
        room().prop_map(|r| Signal::CallAccepted {
            room_id: r,
            timestamp: 0
        }),
        room().prop_map(|r| Signal::CallEnd {
            room_id: r,
            timestamp: 0,
            reason: None
        }),
        room().prop_map(|r| Signal::Offer {
            room_id: r,
            sdp: "v=0".into(),
            sdp_type: "offer".into()
        }),
        room().prop_map(|r| Signal::Answer {
            room_id: r,
            sdp: "v=0".into(),
            sdp_type: "answer".into()
        }),
        room().prop_map(|r| Signal::IceCandidate {
            room_id: r,
            candidate: "candidate:x".into(),
            sdp_mid: None,
            sdp_mline_index: Some(0)
        }),
        Just(Signal::Unknown),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (peer(), room(), any::<bool>()).prop_map(|(to, room, video)| Step::Input(Input::Dial {
            to,
            room,
            audio: true,
            video
        })),
        Just(Step::Input(Input::DialFailed {
            message: "x".into()
        })),
        room().prop_map(|room| Step::Input(Input::Registered { room })),
        (room(), peer()).prop_map(|(room, peer)| Step::Input(Input::MediaReady { room, peer })),
        (room(), peer()).prop_map(|(r, peer)| Step::Input(Input::PeerRestarted {
            peer,
            offer: Signal::Offer {
                room_id: r,
                sdp: "v=0".into(),
                sdp_type: "offer".into()
            }
        })),
        any::<bool>().prop_map(|v| Step::Input(Input::Accept {
            audio: true,
            video: v
        })),
        (any::<bool>(), any::<bool>())
            .prop_map(|(audio, video)| Step::Input(Input::LocalMedia { audio, video })),
        Just(Step::Input(Input::Reject)),
        Just(Step::Input(Input::Hangup)),
        (peer(), signal(), any::<bool>()).prop_map(|(from, signal, delayed)| Step::Input(
            Input::Signal {
                from,
                signal,
                delayed
            }
        )),
        peer().prop_map(|peer| Step::Input(Input::MediaConnected { peer })),
        peer().prop_map(|peer| Step::Input(Input::MediaDisconnected { peer })),
        peer().prop_map(|peer| Step::Input(Input::MediaFailed {
            peer,
            reason: "x".into()
        })),
        Just(Step::Input(Input::MediaError {
            message: "x".into()
        })),
        room().prop_map(|room| Step::Input(Input::OnConference { room })),
        (0u64..4).prop_map(|feed| Step::Input(Input::ConferenceJoined { feed })),
        prop::collection::vec(0u64..4, 0..3)
            .prop_map(|feeds| Step::Input(Input::FeedsPublished { feeds })),
        (0u64..4).prop_map(|feed| Step::Input(Input::FeedGone { feed })),
        Just(Step::Input(Input::ConferenceFlowing)),
        (0u64..120).prop_map(Step::Wait),
    ]
}

/// Which call an outcome belongs to: the call that was current when the step began.
#[derive(Default)]
struct Ledger {
    /// The current call (room, instance number) and the outcomes recorded for it.
    current: Option<(String, u32)>,
    instances: u32,
    outcomes: HashMap<u32, u32>,
    /// Every call instance the machine took on.
    calls: Vec<u32>,
}

impl Ledger {
    fn step(
        &mut self,
        before: Option<String>,
        actions: &[Action],
        after: Option<&str>,
    ) -> Result<(), TestCaseError> {
        for a in actions {
            if let Action::RecordAnalytics { room, .. } = a {
                let Some((cur, n)) = self
                    .current
                    .as_ref()
                    .filter(|(r, _)| Some(r) == before.as_ref())
                else {
                    return Err(TestCaseError::fail(format!(
                        "an outcome for {room} with no call under way"
                    )));
                };
                prop_assert_eq!(cur, room);
                let count = self.outcomes.entry(*n).or_default();
                *count += 1;
                prop_assert!(
                    *count <= 1,
                    "two analytics outcomes for one call in {}",
                    room
                );
            }
        }
        let ended = self
            .current
            .as_ref()
            .is_some_and(|(_, n)| self.outcomes.contains_key(n));
        match after {
            Some(r) if ended || self.current.as_ref().is_none_or(|(c, _)| c != r) => {
                self.instances += 1;
                self.current = Some((r.to_string(), self.instances));
                self.calls.push(self.instances);
            }
            Some(_) => {}
            None => self.current = None,
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_sequence_ends_every_call_once(steps in proptest::collection::vec(step(), 1..40)) {
        let me = NxId::parse_jid("alice@simu.local").expect("jid");
        let mut m = CallMachine::new(me, "Alice");
        let mut now = Instant::now();
        let mut ledger = Ledger::default();
        let finale = [Step::Input(Input::Hangup), Step::Wait(3600)];
        for s in steps.into_iter().chain(finale) {
            let before = m.room().map(str::to_string);
            let actions = match s {
                Step::Input(i) => m.handle(i, now),
                Step::Wait(secs) => {
                    now += Duration::from_secs(secs);
                    m.on_timeout(now)
                }
            };
            ledger.step(before, &actions, m.room())?;
        }
        prop_assert_eq!(m.state(), CallState::Idle);
        prop_assert!(m.room().is_none());
        for n in &ledger.calls {
            prop_assert_eq!(ledger.outcomes.get(n).copied().unwrap_or(0), 1, "call #{} ended without an outcome", n);
        }
    }
}
