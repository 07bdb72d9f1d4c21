//! Recovery of this side's connections to the conference server in the pure core: a quiet
//! connection restarted after a grace, a failed one at once and again until the deadline, and
//! one that never came up failing the call.

use super::conference_recovery::{RESTART_EVERY, RESTART_GRACE};
use super::test_support::{bob_published, sends, ALICE};
use super::*;
use std::time::Duration;

/// Bob in Alice's conference call with both connections up.
fn in_conference(t0: Instant) -> CallMachine {
    let mut m = bob_published(t0, true);
    for link in [ConferenceLink::Publish, ConferenceLink::Subscribe] {
        assert!(m.handle(Input::ConferenceLinkUp { link }, t0).is_empty());
    }
    m.handle(Input::ConferenceFlowing, t0);
    assert_eq!(m.state(), CallState::Connected);
    m
}

fn restarts(actions: &[Action]) -> Vec<ConferenceLink> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::RestartConferenceLink { link } => Some(*link),
            _ => None,
        })
        .collect()
}

fn down(link: ConferenceLink, failed: Option<&str>) -> Input {
    Input::ConferenceLinkDown {
        link,
        failed: failed.map(str::to_string),
    }
}

#[test]
fn a_quiet_conference_connection_is_restarted_after_a_grace_and_the_call_goes_on_once_it_is_back() {
    let t0 = Instant::now();
    let mut m = in_conference(t0);
    let a = m.handle(down(ConferenceLink::Publish, None), t0);
    assert!(restarts(&a).is_empty(), "it may come back by itself: {a:?}");
    assert!(a.contains(&Action::Emit(CallEvent::Reconnecting { room: "g".into() })));
    assert_eq!(m.next_deadline(), Some(t0 + RESTART_GRACE));
    let t1 = t0 + RESTART_GRACE;
    assert_eq!(restarts(&m.on_timeout(t1)), [ConferenceLink::Publish]);
    assert!(m
        .handle(
            Input::ConferenceLinkUp {
                link: ConferenceLink::Publish
            },
            t1
        )
        .is_empty());
    // Past the recovery deadline (Carol is still ringing): no restart, and the call goes on.
    let later = t0 + RECOVER_TIMEOUT + Duration::from_secs(1);
    assert!(restarts(&m.on_timeout(later)).is_empty());
    assert_eq!(m.state(), CallState::Connected);
}

#[test]
fn a_failed_conference_connection_is_restarted_at_once_then_again_until_the_deadline_fails_the_call(
) {
    let t0 = Instant::now();
    let mut m = in_conference(t0);
    let a = m.handle(down(ConferenceLink::Subscribe, Some("ICE failed")), t0);
    assert_eq!(restarts(&a), [ConferenceLink::Subscribe]);
    // The restart's own failure does not start another at once: one every RESTART_EVERY.
    let t1 = t0 + Duration::from_secs(1);
    assert!(restarts(&m.handle(down(ConferenceLink::Subscribe, Some("again")), t1)).is_empty());
    assert!(restarts(&m.on_timeout(t1)).is_empty());
    assert_eq!(
        restarts(&m.on_timeout(t0 + RESTART_EVERY)),
        [ConferenceLink::Subscribe]
    );
    // Still down at the recovery deadline: the call fails and the members are told.
    let a = m.on_timeout(t0 + RECOVER_TIMEOUT);
    assert!(a.iter().any(|x| matches!(
        x,
        Action::Emit(CallEvent::Error { message }) if message.contains("conference server")
    )));
    assert!(
        sends(&a).contains(&(ALICE.to_string(), "call_end")),
        "{a:?}"
    );
    assert!(a.contains(&Action::LeaveConference));
    assert_eq!(m.state(), CallState::Idle);
}

#[test]
fn both_connections_must_be_back_before_the_recovery_deadline_is_lifted() {
    let t0 = Instant::now();
    let mut m = in_conference(t0);
    m.handle(down(ConferenceLink::Publish, Some("ICE failed")), t0);
    let a = m.handle(down(ConferenceLink::Subscribe, None), t0);
    assert!(
        !a.contains(&Action::Emit(CallEvent::Reconnecting { room: "g".into() })),
        "said once"
    );
    m.handle(
        Input::ConferenceLinkUp {
            link: ConferenceLink::Publish,
        },
        t0,
    );
    let t1 = t0 + RESTART_GRACE;
    assert_eq!(restarts(&m.on_timeout(t1)), [ConferenceLink::Subscribe]);
    assert_eq!(m.state(), CallState::Connected);
    let a = m.on_timeout(t0 + RECOVER_TIMEOUT);
    assert_eq!(
        m.state(),
        CallState::Idle,
        "the subscriber never came back: {a:?}"
    );
}

#[test]
fn a_conference_connection_that_never_came_up_fails_the_call_when_ice_gives_up() {
    let t0 = Instant::now();
    let mut m = bob_published(t0, true);
    assert!(
        m.handle(down(ConferenceLink::Publish, None), t0).is_empty(),
        "quiet while setting up: ICE goes on trying"
    );
    let a = m.handle(down(ConferenceLink::Publish, Some("ICE failed")), t0);
    assert!(restarts(&a).is_empty(), "nothing to restart: {a:?}");
    assert!(a.contains(&Action::LeaveConference));
    assert_eq!(m.state(), CallState::Idle);
}
