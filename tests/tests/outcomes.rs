//! Every way a call can end, as both parties and the history see it.

use call::{CallEvent, CallState, Outcome};
use e2e::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(10);

fn is_incoming(e: &CallEvent) -> bool {
    matches!(e, CallEvent::IncomingCall { .. })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_call_is_declined_for_both() {
    let h = Harness::start().await;
    let alice = h.manager("alice").await;
    let bob = h.manager("bob").await;
    let mut be = bob.subscribe();
    let mut ae = alice.subscribe();
    let room = alice.initiate_call("bob", true, false).await.expect("dial");
    wait_event(&mut be, T, is_incoming).await;
    bob.reject_call().await.expect("reject");
    let e = wait_event(&mut ae, T, |e| matches!(e, CallEvent::CallEnded { .. })).await;
    assert!(
        matches!(
            e,
            CallEvent::CallEnded {
                outcome: Outcome::Declined,
                ..
            }
        ),
        "{e:?}"
    );
    wait_state(&alice, CallState::Idle, T).await;
    wait_history_status(&h, &["alice", "bob"], &room, "declined").await;
    assert_eq!(history_row(&h, "alice", &room).await.call_type, "audio");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_call_is_missed_and_the_incoming_screen_goes_away() {
    let h = Harness::start().await;
    let short = |c: &mut call::CallConfig| c.timeouts.ring = Duration::from_secs(2);
    let alice = h.manager_with("alice", short).await;
    let bob = h.manager("bob").await;
    let mut be = bob.subscribe();
    let room = alice.initiate_call("bob", true, true).await.expect("dial");
    wait_event(&mut be, T, is_incoming).await;
    let e = wait_event(&mut be, T, |e| {
        matches!(e, CallEvent::IncomingWithdrawn { .. })
    })
    .await;
    assert!(
        matches!(
            e,
            CallEvent::IncomingWithdrawn {
                outcome: Outcome::Missed,
                ..
            }
        ),
        "{e:?}"
    );
    wait_state(&bob, CallState::Idle, T).await;
    wait_history_status(&h, &["alice", "bob"], &room, "missed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_hanging_up_while_ringing_is_cancelled() {
    let h = Harness::start().await;
    let alice = h.manager("alice").await;
    let bob = h.manager("bob").await;
    let mut be = bob.subscribe();
    let room = alice.initiate_call("bob", true, true).await.expect("dial");
    wait_event(&mut be, T, is_incoming).await;
    alice.end_call().await.expect("hang up");
    let e = wait_event(&mut be, T, |e| {
        matches!(e, CallEvent::IncomingWithdrawn { .. })
    })
    .await;
    assert!(
        matches!(
            e,
            CallEvent::IncomingWithdrawn {
                outcome: Outcome::Cancelled,
                ..
            }
        ),
        "{e:?}"
    );
    wait_history_status(&h, &["alice", "bob"], &room, "cancelled").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_caller_gets_busy_while_a_call_is_up() {
    let h = Harness::start().await;
    let alice = h.manager("alice").await;
    let bob = h.manager("bob").await;
    let carol = h.manager("carol").await;
    let mut ce = carol.subscribe();
    connected_call(&alice, &bob, "bob", false).await;
    let room = carol.initiate_call("bob", true, false).await.expect("dial");
    let e = wait_event(&mut ce, T, |e| matches!(e, CallEvent::CallEnded { .. })).await;
    assert!(
        matches!(
            e,
            CallEvent::CallEnded {
                outcome: Outcome::Declined,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(bob.state(), CallState::Connected, "bob's call goes on");
    assert_eq!(alice.state(), CallState::Connected);
    wait_history_status(&h, &["carol"], &room, "declined").await;
    alice.end_call().await.expect("end");
    wait_state(&bob, CallState::Idle, T).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_signals_from_an_old_room_are_dropped() {
    let h = Harness::start().await;
    let alice = h.manager("alice").await;
    let bob = h.manager("bob").await;
    connected_call(&alice, &bob, "bob", false).await;

    let (rest, raw, _ev) = {
        let rest = h.rest();
        let t = rest
            .login_or_register("bob", "harness-password")
            .await
            .expect("token");
        let (handle, ev, _task) =
            nx::XmppClient::start(nx::XmppConfig::new(t.nxws, h.jid("bob"), t.nxsm_token));
        (rest, handle, ev)
    };
    let _ = rest;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stale = nx::Signal::CallEnd {
        room_id: "call_1".into(),
        timestamp: 1,
        reason: None,
    };
    raw.send_body(&h.jid("alice"), stale.to_json())
        .await
        .expect("send");
    raw.send_body(
        &h.jid("alice"),
        "{\"type\":\"call_response\",\"roomId\":\"old\",\"accepted\":true}".into(),
    )
    .await
    .expect("send");
    raw.send_body(
        &h.jid("alice"),
        "{\"type\":\"unknown_type\",\"x\":1}".into(),
    )
    .await
    .expect("send");
    raw.send_body(&h.jid("alice"), "not json at all".into())
        .await
        .expect("send");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        alice.state(),
        CallState::Connected,
        "junk and stale signals change nothing"
    );
    raw.close().await;
    alice.end_call().await.expect("end");
    wait_state(&bob, CallState::Idle, T).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_offer_fails_the_call_with_a_clear_error() {
    let h = Harness::start().await;
    let bob = h.manager("bob").await;
    let mut be = bob.subscribe();
    let rest = h.rest();
    let t = rest
        .login_or_register("mallory", "harness-password")
        .await
        .expect("token");
    let (raw, mut rx, _task) =
        nx::XmppClient::start(nx::XmppConfig::new(t.nxws, h.jid("mallory"), t.nxsm_token));
    assert!(matches!(
        rx.recv().await,
        Some(nx::XmppEvent::Online { .. })
    ));
    let inv = nx::Signal::CallInvitation {
        room_id: "call_x".into(),
        call_type: nx::CallType::Video,
        from_nx_id: h.jid("mallory").to_string(),
        from_name: "M".into(),
        timestamp: nx::signal::now_ms(),
        participants: vec![],
        sfu: false,
        knock: false,
    };
    raw.send_body(&h.jid("bob"), inv.to_json())
        .await
        .expect("send");
    wait_event(&mut be, T, is_incoming).await;
    bob.accept_call(true, true).await.expect("accept");
    let offer = nx::Signal::Offer {
        room_id: "call_x".into(),
        sdp: "this is not SDP".into(),
        sdp_type: "offer".into(),
    };
    raw.send_body(&h.jid("bob"), offer.to_json())
        .await
        .expect("send");
    let err = wait_event(&mut be, T, |e| matches!(e, CallEvent::Error { .. })).await;
    assert!(
        matches!(&err, CallEvent::Error { message } if message.contains("SDP")),
        "{err:?}"
    );
    let e = wait_event(&mut be, T, |e| matches!(e, CallEvent::CallEnded { .. })).await;
    assert!(
        matches!(
            e,
            CallEvent::CallEnded {
                outcome: Outcome::Failed,
                ..
            }
        ),
        "{e:?}"
    );
    let mut got_end = false;
    while let Ok(Some(ev)) = tokio::time::timeout(T, rx.recv()).await {
        if let nx::XmppEvent::Message { body, .. } = ev {
            if body.contains("\"call_end\"") && body.contains("\"failed\"") {
                got_end = true;
                break;
            }
        }
    }
    assert!(got_end, "the peer is told the call failed");
    wait_state(&bob, CallState::Idle, T).await;
    raw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_caller_is_declined_without_ringing() {
    let h = Harness::start().await;
    let alice = h.manager("alice").await;
    let bob = h.manager("bob").await;
    let alice_id = alice.jid().clone();
    bob.set_call_filter(call::CallFilter::new(false, [alice_id]))
        .await
        .expect("filter");
    let mut be = bob.subscribe();
    let mut ae = alice.subscribe();
    let room = alice.initiate_call("bob", true, true).await.expect("dial");
    let e = wait_event(&mut ae, T, |e| matches!(e, CallEvent::CallEnded { .. })).await;
    assert!(
        matches!(
            e,
            CallEvent::CallEnded {
                outcome: Outcome::Declined,
                ..
            }
        ),
        "{e:?}"
    );
    let f = wait_event(&mut be, T, |e| {
        matches!(
            e,
            CallEvent::IncomingFiltered { .. } | CallEvent::IncomingCall { .. }
        )
    })
    .await;
    assert!(
        matches!(
            f,
            CallEvent::IncomingFiltered {
                filtered: call::Filtered::Blocked,
                ..
            }
        ),
        "{f:?}"
    );
    assert_eq!(bob.state(), CallState::Idle, "bob's phone never rang");
    wait_history_status(&h, &["alice", "bob"], &room, "declined").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn do_not_disturb_turns_a_call_into_a_missed_one_without_ringing() {
    let h = Harness::start().await;
    let short = |c: &mut call::CallConfig| c.timeouts.ring = Duration::from_secs(2);
    let alice = h.manager_with("alice", short).await;
    let bob = h.manager("bob").await;
    bob.set_call_filter(call::CallFilter::new(true, []))
        .await
        .expect("filter");
    let mut be = bob.subscribe();
    let mut ae = alice.subscribe();
    let room = alice.initiate_call("bob", true, true).await.expect("dial");
    let f = wait_event(&mut be, T, |e| {
        matches!(
            e,
            CallEvent::IncomingFiltered { .. } | CallEvent::IncomingCall { .. }
        )
    })
    .await;
    assert!(
        matches!(
            f,
            CallEvent::IncomingFiltered {
                filtered: call::Filtered::DoNotDisturb,
                ..
            }
        ),
        "{f:?}"
    );
    let e = wait_event(&mut ae, T, |e| matches!(e, CallEvent::CallEnded { .. })).await;
    assert!(
        matches!(
            e,
            CallEvent::CallEnded {
                outcome: Outcome::Missed,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(bob.state(), CallState::Idle, "bob's phone never rang");
    wait_history_status(&h, &["alice", "bob"], &room, "missed").await;
}
