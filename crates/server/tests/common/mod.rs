//! Shared set-up: a server on 127.0.0.1:0 with a throwaway data directory.

#![allow(dead_code)]

use nx::{NxId, RestClient, RestConfig, XmppClient, XmppConfig, XmppEvent, XmppHandle};
use server::{ServerConfig, ServerHandle};
use std::time::Duration;
use tokio::sync::mpsc;

pub struct TestServer {
    pub handle: ServerHandle,
    _dir: tempfile::TempDir,
}

pub async fn server_with(f: impl FnOnce(&mut ServerConfig)) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = ServerConfig { listen: "127.0.0.1:0".parse().expect("addr"), data_dir: dir.path().to_path_buf(), echo: false, ..Default::default() };
    f(&mut cfg);
    let handle = server::start(cfg).await.expect("server starts");
    TestServer { handle, _dir: dir }
}

pub async fn server() -> TestServer {
    server_with(|_| {}).await
}

impl TestServer {
    pub fn rest(&self) -> RestClient {
        let c = &self.handle.state.cfg;
        RestClient::new(RestConfig::new(self.handle.base_url(), c.api_key.clone(), c.secret_key.clone())).expect("client")
    }

    pub fn jid(&self, user: &str) -> NxId {
        NxId::normalize(user, Some(&self.handle.state.cfg.domain)).expect("jid")
    }

    /// Signs a user in over REST (creating it) and connects signaling; waits until online.
    pub async fn online(&self, user: &str) -> (RestClient, XmppHandle, mpsc::Receiver<XmppEvent>) {
        let rest = self.rest();
        let t = rest.login_or_register(user, "harness-password").await.expect("token");
        let jid = NxId::parse_jid(&t.nxid).expect("jid");
        let (h, mut ev, _task) = XmppClient::start(XmppConfig::new(t.nxws, jid, t.nxsm_token));
        match tokio::time::timeout(Duration::from_secs(10), ev.recv()).await {
            Ok(Some(XmppEvent::Online { .. })) => {}
            other => panic!("{user} did not come online: {other:?}"),
        }
        (rest, h, ev)
    }
}

/// Next event that is a message body, skipping others.
pub async fn next_body(ev: &mut mpsc::Receiver<XmppEvent>) -> (String, String, bool) {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), ev.recv()).await {
            Ok(Some(XmppEvent::Message { from, body, delayed, .. })) => return (from, body, delayed),
            Ok(Some(_)) => continue,
            other => panic!("no message: {other:?}"),
        }
    }
}
