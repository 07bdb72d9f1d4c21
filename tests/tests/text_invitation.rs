//! A reference client's plain-text invitation (`Incoming p2p call. Click to join: <url>`) rings
//! as a call from the stanza's sender, never from the URL's `caller=` (protocol.md §2.2), and
//! answering it tells that sender.

use call::CallEvent;
use e2e::*;
use nx::{NxId, XmppClient, XmppConfig, XmppEvent};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_click_to_join_text_rings_as_a_call_from_its_sender() {
    let h = Harness::start().await;
    let bob = h.manager("bob").await;
    let mut bob_events = bob.subscribe();
    let t = h
        .rest()
        .login_or_register("alice", "harness-password")
        .await
        .expect("alice");
    let alice = NxId::parse_jid(&t.nxid).expect("jid");
    let (sdk, mut sdk_events, _task) =
        XmppClient::start(XmppConfig::new(t.nxws, alice.clone(), t.nxsm_token));
    match tokio::time::timeout(Duration::from_secs(10), sdk_events.recv()).await {
        Ok(Some(XmppEvent::Online { .. })) => {}
        other => panic!("alice did not come online: {other:?}"),
    }
    let text = "Incoming p2p call. Click to join: http://h.example/nexacon-call.html?room=call_txt1&caller=mallory&type=video";
    sdk.send_body(&h.jid("bob"), text.to_string())
        .await
        .expect("send");
    match wait_event(&mut bob_events, Duration::from_secs(10), |e| {
        matches!(e, CallEvent::IncomingCall { .. })
    })
    .await
    {
        CallEvent::IncomingCall {
            room,
            caller,
            call_type,
            ..
        } => {
            assert_eq!(room, "call_txt1");
            assert_eq!(
                caller,
                alice.to_string(),
                "from the stanza, not caller=mallory"
            );
            assert_eq!(call_type, nx::CallType::Video);
        }
        _ => unreachable!(),
    }
    bob.accept_call(true, true).await.expect("accept");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, sdk_events.recv()).await {
            Ok(Some(XmppEvent::Message { body, .. })) if body.contains("call_response") => {
                assert!(
                    body.contains("\"accepted\":true") && body.contains("call_txt1"),
                    "{body}"
                );
                break;
            }
            Ok(Some(_)) => continue,
            other => panic!("no call_response for alice: {other:?}"),
        }
    }
}
