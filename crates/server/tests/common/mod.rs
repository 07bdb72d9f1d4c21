//! Shared set-up: a server on 127.0.0.1:0 with a throwaway data directory.

#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use nx::{NxId, RestClient, RestConfig, XmppClient, XmppConfig, XmppEvent, XmppHandle};
use server::{ServerConfig, ServerHandle};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

pub struct TestServer {
    pub handle: ServerHandle,
    _dir: tempfile::TempDir,
}

pub async fn server_with(f: impl FnOnce(&mut ServerConfig)) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = ServerConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        data_dir: dir.path().to_path_buf(),
        echo: false,
        ..Default::default()
    };
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
        RestClient::new(RestConfig::new(
            self.handle.base_url(),
            c.api_key.clone(),
            c.secret_key.clone(),
        ))
        .expect("client")
    }

    pub fn jid(&self, user: &str) -> NxId {
        NxId::normalize(user, Some(&self.handle.state.cfg.domain)).expect("jid")
    }

    /// Signs a user in over REST (creating it) and connects signaling; waits until online.
    pub async fn online(&self, user: &str) -> (RestClient, XmppHandle, mpsc::Receiver<XmppEvent>) {
        let rest = self.rest();
        let t = rest
            .login_or_register(user, "harness-password")
            .await
            .expect("token");
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
            Ok(Some(XmppEvent::Message {
                from_jid,
                body,
                delayed,
                ..
            })) => return (from_jid, body, delayed),
            Ok(Some(_)) => continue,
            other => panic!("no message: {other:?}"),
        }
    }
}

pub type RawWs =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A raw WebSocket speaking XMPP by hand, for input no client library would send.
pub async fn raw(s: &TestServer) -> RawWs {
    let (ws, _) = tokio_tungstenite::connect_async(s.handle.ws_url())
        .await
        .expect("ws");
    ws
}

/// Reads text frames until one contains `needle`; returns all text seen.
pub async fn read_until(ws: &mut RawWs, needle: &str) -> String {
    let mut seen = String::new();
    while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        if let Message::Text(t) = m {
            seen.push_str(t.as_str());
            if seen.contains(needle) {
                return seen;
            }
        }
    }
    panic!("never saw {needle:?}; got {seen}");
}

/// Sends one text frame.
pub async fn send_text(ws: &mut RawWs, text: &str) {
    ws.send(Message::Text(text.to_string().into()))
        .await
        .expect("send");
}

/// Opens the stream and authenticates with `token` as `user`; returns what the server said.
pub async fn raw_auth(s: &TestServer, ws: &mut RawWs, user: &str, token: &str) -> String {
    use base64::Engine as _;
    let domain = s.handle.state.cfg.domain.clone();
    let open =
        format!("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{domain}' version='1.0'/>");
    send_text(ws, &open).await;
    read_until(ws, "mechanisms").await;
    let payload = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{token}"));
    send_text(
        ws,
        &format!(
            "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{payload}</auth>"
        ),
    )
    .await;
    let mut seen = String::new();
    while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        if let Message::Text(t) = m {
            seen.push_str(t.as_str());
            if seen.contains("success") || seen.contains("failure") {
                break;
            }
        }
    }
    seen
}

/// Opens again after SASL success and binds a resource.
pub async fn raw_bind(s: &TestServer, ws: &mut RawWs) {
    let domain = s.handle.state.cfg.domain.clone();
    send_text(
        ws,
        &format!("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{domain}' version='1.0'/>"),
    )
    .await;
    read_until(ws, "bind").await;
    send_text(ws, "<iq type='set' id='b1' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>raw</resource></bind></iq>").await;
    read_until(ws, "<jid>").await;
}

/// Whether the server closes `ws` within `within` (reading and dropping what it sends).
pub async fn closed_within(ws: &mut RawWs, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return false,
            Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return true,
            Ok(Some(Ok(_))) => continue,
        }
    }
}
