//! A user signed in with a password stays reachable after the NX token expires: login hands
//! out an NX refresh token, and the CallManager renews its token when the server ends the
//! session (the NX token lifetime is shortened to seconds here in place of a day).

use call::CallEvent;
use e2e::{wait_event, Harness};
use std::time::Duration;

#[tokio::test]
async fn a_password_user_stays_reachable_after_the_token_expires() {
    let h = Harness::start_with(|c| c.nx_token_ttl = 6).await;
    let alice = h.manager("alice").await;
    let bob = h.manager("bob").await;
    let mut online = alice.signaling_online();
    let dropped = tokio::time::timeout(Duration::from_secs(10), online.wait_for(|o| !*o))
        .await
        .map(|r| r.is_ok());
    assert_eq!(
        dropped,
        Ok(true),
        "the server ends a session whose token expired"
    );
    let back = tokio::time::timeout(Duration::from_secs(10), online.wait_for(|o| *o)).await;
    assert!(
        matches!(back, Ok(Ok(_))),
        "alice renewed her token and came back online"
    );
    let mut ae = alice.subscribe();
    bob.initiate_call("alice", true, false).await.expect("dial");
    wait_event(&mut ae, Duration::from_secs(15), |e| {
        matches!(e, CallEvent::IncomingCall { .. })
    })
    .await;
    bob.dispose().await;
    alice.dispose().await;
}
