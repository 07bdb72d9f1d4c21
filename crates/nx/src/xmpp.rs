//! XMPP over WebSocket (RFC 7395) as NX signaling uses it (protocol.md §3): SASL PLAIN with the
//! NX token, bind, session, presence, XEP-0199 pings, XEP-0184 receipts, and reconnection
//! with backoff. One actor task owns the socket; [`XmppHandle`] talks to it.

use crate::id::NxId;
use crate::ws::Ws;
use crate::xml::{Element, StanzaParser, XmlError};
use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub const NS_FRAMING: &str = "urn:ietf:params:xml:ns:xmpp-framing";
pub const NS_SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
pub const NS_BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
pub const NS_SESSION: &str = "urn:ietf:params:xml:ns:xmpp-session";
pub const NS_PING: &str = "urn:xmpp:ping";
pub const NS_RECEIPTS: &str = "urn:xmpp:receipts";
pub const NS_DELAY: &str = "urn:xmpp:delay";
pub const NS_STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
pub const NS_CLIENT: &str = "jabber:client";

/// How long one step of the login may take before the attempt counts as failed.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// Messages kept while offline, sent after reconnecting.
const OFFLINE_QUEUE: usize = 512;

/// What went wrong on the signaling connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmppError {
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    /// SASL `<failure/>`: `condition` is its child element's name (`not-authorized`, ...).
    #[error("authentication failed: {}", join(condition, text))]
    AuthFailed { condition: String, text: String },
    /// `<stream:error/>`: the server ended the stream.
    #[error("stream error from server: {}", join(condition, text))]
    StreamError { condition: String, text: String },
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("bad XML from server: {0}")]
    Xml(#[from] XmlError),
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    #[error("connection closed")]
    Closed,
    #[error("the signaling client has stopped")]
    Stopped,
}

impl XmppError {
    /// Auth failures and stream errors end the client; everything else is retried.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            XmppError::AuthFailed { .. } | XmppError::StreamError { .. } | XmppError::Stopped
        )
    }

    /// The server refused the token (expired, revoked or never valid): a new token may help.
    pub fn token_refused(&self) -> bool {
        match self {
            XmppError::AuthFailed { condition, .. } | XmppError::StreamError { condition, .. } => {
                matches!(condition.as_str(), "not-authorized" | "credentials-expired")
            }
            _ => false,
        }
    }
}

/// `condition: text`, or whichever of the two is there.
fn join(condition: &str, text: &str) -> String {
    match (condition.is_empty(), text.is_empty()) {
        (false, false) => format!("{condition}: {text}"),
        (false, true) => condition.to_string(),
        _ => text.to_string(),
    }
}

/// Settings of one signaling client.
#[derive(Debug, Clone)]
pub struct XmppConfig {
    /// The `nxws` URL.
    pub url: String,
    pub jid: NxId,
    /// The NX token, the SASL PLAIN password.
    pub token: String,
    /// Resource to bind; the server may assign another.
    pub resource: String,
    pub ping_interval: Duration,
    /// Upper bound of the reconnect delay (protocol.md §3: 30 s).
    pub max_backoff: Duration,
}

impl XmppConfig {
    pub fn new(url: impl Into<String>, jid: NxId, token: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            jid,
            token: token.into(),
            resource: format!("simu_{}", rand::random::<u32>()),
            ping_interval: Duration::from_secs(30),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// What the client reports.
#[derive(Debug, Clone, PartialEq)]
pub enum XmppEvent {
    /// Signed in and bound (after every reconnect too), with the full JID.
    Online { jid: String },
    /// A message with a body from a valid NX ID (others are dropped here).
    Message {
        /// The sender's bare NX ID, parsed from the stanza's `from`.
        from: NxId,
        /// `from` as the server stamped it (with its resource).
        from_jid: String,
        id: Option<String>,
        body: String,
        delayed: bool,
    },
    /// A `type="error"` message bounced back (for example, unknown recipient).
    Bounce {
        from: String,
        id: Option<String>,
        condition: String,
    },
    /// The connection dropped; a new attempt follows after `retry_in`.
    Offline { reason: String, retry_in: Duration },
    /// The client gave up for good.
    Failed(XmppError),
    /// Closed on request.
    Closed,
}

enum Command {
    Send(Element),
    SetToken(String),
    Close(oneshot::Sender<()>),
    Drop,
}

/// Handle to a running client; cloning shares the same connection.
#[derive(Clone, Debug)]
pub struct XmppHandle {
    tx: mpsc::Sender<Command>,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Command::Send(_) => "Send",
            Command::SetToken(_) => "SetToken",
            Command::Close(_) => "Close",
            Command::Drop => "Drop",
        })
    }
}

impl XmppHandle {
    /// Sends a chat message with a JSON body and a receipt request; queued while offline.
    pub async fn send_body(&self, to: &NxId, body: String) -> Result<String, XmppError> {
        let id = format!("m{}", rand::random::<u64>());
        let el = Element::new("message")
            .attr("xmlns", NS_CLIENT)
            .attr("type", "chat")
            .attr("to", to.to_string())
            .attr("id", id.clone())
            .child(Element::new("body").text(body))
            .child(Element::new("request").attr("xmlns", NS_RECEIPTS));
        self.send_stanza(el).await?;
        Ok(id)
    }

    /// Sends any stanza.
    pub async fn send_stanza(&self, el: Element) -> Result<(), XmppError> {
        self.tx
            .send(Command::Send(el))
            .await
            .map_err(|_| XmppError::Stopped)
    }

    /// Replaces the token used for the next login (after a refresh).
    pub async fn set_token(&self, token: String) -> Result<(), XmppError> {
        self.tx
            .send(Command::SetToken(token))
            .await
            .map_err(|_| XmppError::Stopped)
    }

    /// Drops the socket without `<close/>`, as a network failure would (tests, diagnostics).
    pub async fn drop_connection(&self) -> Result<(), XmppError> {
        self.tx
            .send(Command::Drop)
            .await
            .map_err(|_| XmppError::Stopped)
    }

    /// Sends `<close/>`, closes the socket and stops the client.
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Command::Close(tx)).await.is_ok() {
            let _ = timeout(Duration::from_secs(5), rx).await;
        }
    }
}

/// Starts clients.
pub struct XmppClient;

impl XmppClient {
    /// Starts the actor: it connects, signs in and keeps the connection up until closed.
    /// Returns the handle, the event stream and the task.
    pub fn start(
        cfg: XmppConfig,
    ) -> (
        XmppHandle,
        mpsc::Receiver<XmppEvent>,
        tokio::task::JoinHandle<()>,
    ) {
        let (cmd_tx, cmd_rx) = mpsc::channel(256);
        let (ev_tx, ev_rx) = mpsc::channel(1024);
        let task = tokio::spawn(run(cfg, cmd_rx, ev_tx));
        (XmppHandle { tx: cmd_tx }, ev_rx, task)
    }
}

/// Reconnect delay for attempt `n` (0-based): 1 s, then +2 s per try, capped.
pub fn backoff(attempt: u32, max: Duration) -> Duration {
    Duration::from_secs(1 + 2 * u64::from(attempt)).min(max)
}

async fn run(
    mut cfg: XmppConfig,
    mut cmds: mpsc::Receiver<Command>,
    events: mpsc::Sender<XmppEvent>,
) {
    let mut queue: VecDeque<Element> = VecDeque::new();
    let mut attempt: u32 = 0;
    loop {
        let outcome = match login(&cfg).await {
            Ok(mut conn) => {
                attempt = 0;
                if events
                    .send(XmppEvent::Online {
                        jid: conn.full_jid.clone(),
                    })
                    .await
                    .is_err()
                {
                    conn.close().await;
                    return;
                }
                conn.session(&mut cfg, &mut cmds, &events, &mut queue).await
            }
            Err(e) => SessionEnd::Error(e),
        };
        let err = match outcome {
            SessionEnd::Closed => {
                let _ = events.send(XmppEvent::Closed).await;
                return;
            }
            SessionEnd::Error(e) => e,
        };
        if err.is_final() {
            tracing::warn!(error = %err, "signaling stopped");
            let _ = events.send(XmppEvent::Failed(err)).await;
            return;
        }
        let delay = backoff(attempt, cfg.max_backoff);
        attempt = attempt.saturating_add(1);
        tracing::info!(error = %err, ?delay, "signaling offline, reconnecting");
        let _ = events
            .send(XmppEvent::Offline {
                reason: err.to_string(),
                retry_in: delay,
            })
            .await;
        let deadline = Instant::now() + delay;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                cmd = cmds.recv() => match cmd {
                    Some(Command::Send(el)) => enqueue(&mut queue, el),
                    Some(Command::SetToken(t)) => cfg.token = t,
                    Some(Command::Drop) => {}
                    Some(Command::Close(done)) => {
                        let _ = events.send(XmppEvent::Closed).await;
                        let _ = done.send(());
                        return;
                    }
                    None => return,
                },
            }
        }
    }
}

fn enqueue(queue: &mut VecDeque<Element>, el: Element) {
    if queue.len() >= OFFLINE_QUEUE {
        tracing::warn!("offline signaling queue full, dropping oldest message");
        queue.pop_front();
    }
    queue.push_back(el);
}

enum SessionEnd {
    Closed,
    Error(XmppError),
}

struct Conn {
    ws: Ws,
    parser: StanzaParser,
    pending: VecDeque<Element>,
    full_jid: String,
}

impl Conn {
    async fn send(&mut self, el: &Element) -> Result<(), XmppError> {
        self.ws
            .send(WsMessage::Text(el.to_xml().into()))
            .await
            .map_err(|e| XmppError::Connect {
                url: String::new(),
                reason: e.to_string(),
            })
    }

    /// Next top-level element, or an error when the socket ends.
    async fn next(&mut self) -> Result<Element, XmppError> {
        loop {
            if let Some(el) = self.pending.pop_front() {
                return Ok(el);
            }
            match self.ws.next().await {
                Some(Ok(WsMessage::Text(t))) => self.pending.extend(self.parser.push(t.as_str())?),
                Some(Ok(WsMessage::Binary(b))) => {
                    let s = String::from_utf8_lossy(&b).into_owned();
                    self.pending.extend(self.parser.push(&s)?)
                }
                Some(Ok(WsMessage::Close(_))) | None => return Err(XmppError::Closed),
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    return Err(XmppError::Connect {
                        url: String::new(),
                        reason: e.to_string(),
                    })
                }
            }
        }
    }

    async fn next_timeout(&mut self, what: &'static str) -> Result<Element, XmppError> {
        match timeout(STEP_TIMEOUT, self.next()).await {
            Ok(r) => r,
            Err(_) => Err(XmppError::Timeout(what)),
        }
    }

    /// Opens a stream and returns its `<features>`.
    async fn open_stream(&mut self, domain: &str) -> Result<Element, XmppError> {
        let open = Element::new("open")
            .attr("xmlns", NS_FRAMING)
            .attr("to", domain)
            .attr("version", "1.0");
        self.send(&open).await?;
        loop {
            let el = self.next_timeout("stream features").await?;
            match el.local_name() {
                "open" => {}
                "features" => return Ok(el),
                "error" => return Err(stream_error(&el)),
                other => tracing::debug!(element = other, "ignored before features"),
            }
        }
    }

    async fn close(&mut self) {
        let _ = self
            .send(&Element::new("close").attr("xmlns", NS_FRAMING))
            .await;
        let _ = timeout(Duration::from_secs(2), async {
            while let Ok(el) = self.next().await {
                if el.local_name() == "close" {
                    break;
                }
            }
        })
        .await;
        let _ = self.ws.close(None).await;
    }

    async fn session(
        &mut self,
        cfg: &mut XmppConfig,
        cmds: &mut mpsc::Receiver<Command>,
        events: &mpsc::Sender<XmppEvent>,
        queue: &mut VecDeque<Element>,
    ) -> SessionEnd {
        while let Some(el) = queue.pop_front() {
            if let Err(e) = self.send(&el).await {
                queue.push_front(el);
                return SessionEnd::Error(e);
            }
        }
        let mut ping =
            tokio::time::interval_at(Instant::now() + cfg.ping_interval, cfg.ping_interval);
        let mut ping_outstanding: Option<(String, Instant)> = None;
        loop {
            tokio::select! {
                el = self.next() => {
                    let el = match el {
                        Ok(el) => el,
                        Err(e) => return SessionEnd::Error(e),
                    };
                    match self.handle_incoming(el, events, &mut ping_outstanding).await {
                        Ok(true) => {}
                        Ok(false) => return SessionEnd::Closed,
                        Err(e) => return SessionEnd::Error(e),
                    }
                }
                cmd = cmds.recv() => match cmd {
                    Some(Command::Send(el)) => {
                        if let Err(e) = self.send(&el).await {
                            enqueue(queue, el);
                            return SessionEnd::Error(e);
                        }
                    }
                    Some(Command::SetToken(t)) => cfg.token = t,
                    Some(Command::Drop) => {
                        return SessionEnd::Error(XmppError::Closed);
                    }
                    Some(Command::Close(done)) => {
                        self.close().await;
                        let _ = done.send(());
                        return SessionEnd::Closed;
                    }
                    None => {
                        self.close().await;
                        return SessionEnd::Closed;
                    }
                },
                _ = ping.tick() => {
                    if let Some((_, sent)) = &ping_outstanding {
                        if sent.elapsed() >= cfg.ping_interval {
                            return SessionEnd::Error(XmppError::Timeout("ping reply"));
                        }
                    }
                    let id = format!("ping{}", rand::random::<u32>());
                    let iq = Element::new("iq").attr("xmlns", NS_CLIENT).attr("type", "get").attr("id", id.clone())
                        .child(Element::new("ping").attr("xmlns", NS_PING));
                    if let Err(e) = self.send(&iq).await {
                        return SessionEnd::Error(e);
                    }
                    ping_outstanding = Some((id, Instant::now()));
                }
            }
        }
    }

    /// Returns `Ok(false)` when the server closed the stream cleanly.
    async fn handle_incoming(
        &mut self,
        el: Element,
        events: &mpsc::Sender<XmppEvent>,
        ping_outstanding: &mut Option<(String, Instant)>,
    ) -> Result<bool, XmppError> {
        match el.local_name() {
            "message" => self.handle_message(el, events).await?,
            "iq" => {
                let ty = el.get_attr("type").unwrap_or_default();
                let id = el.get_attr("id").unwrap_or_default().to_string();
                match ty {
                    "get" | "set" => {
                        let mut reply = Element::new("iq").attr("xmlns", NS_CLIENT).attr("id", id);
                        if let Some(from) = el.get_attr("from") {
                            reply = reply.attr("to", from);
                        }
                        if el.find_ns("ping", NS_PING).is_some() {
                            reply = reply.attr("type", "result");
                        } else {
                            reply = reply.attr("type", "error").child(
                                Element::new("error").attr("type", "cancel").child(
                                    Element::new("feature-not-implemented")
                                        .attr("xmlns", NS_STANZAS),
                                ),
                            );
                        }
                        self.send(&reply).await?;
                    }
                    _ => {
                        if ping_outstanding.as_ref().is_some_and(|(pid, _)| *pid == id) {
                            *ping_outstanding = None;
                        }
                    }
                }
            }
            "close" => return Err(XmppError::Closed),
            "error" => return Err(stream_error(&el)),
            "presence" => {}
            other => tracing::debug!(element = other, "ignored stanza"),
        }
        Ok(true)
    }

    async fn handle_message(
        &mut self,
        el: Element,
        events: &mpsc::Sender<XmppEvent>,
    ) -> Result<(), XmppError> {
        let from = el.get_attr("from").unwrap_or_default().to_string();
        let id = el.get_attr("id").map(str::to_string);
        if el.get_attr("type") == Some("error") {
            let condition = el
                .find("error")
                .and_then(|e| e.elements().next())
                .map(|c| c.local_name().to_string())
                .unwrap_or_else(|| "undefined-condition".into());
            let _ = events
                .send(XmppEvent::Bounce {
                    from,
                    id,
                    condition,
                })
                .await;
            return Ok(());
        }
        if el.find_ns("request", NS_RECEIPTS).is_some() {
            if let Some(mid) = &id {
                let receipt = Element::new("message")
                    .attr("xmlns", NS_CLIENT)
                    .attr("to", from.clone())
                    .attr("id", format!("r{}", rand::random::<u32>()))
                    .child(
                        Element::new("received")
                            .attr("xmlns", NS_RECEIPTS)
                            .attr("id", mid.clone()),
                    );
                self.send(&receipt).await?;
            }
        }
        if let Some(body) = el.find("body") {
            let Ok(sender) = NxId::parse_jid(&from) else {
                tracing::debug!(%from, "dropping a message whose sender is no NX ID");
                return Ok(());
            };
            let delayed = el.find_ns("delay", NS_DELAY).is_some();
            let _ = events
                .send(XmppEvent::Message {
                    from: sender,
                    from_jid: from,
                    id,
                    body: body.text_content(),
                    delayed,
                })
                .await;
        }
        Ok(())
    }
}

/// The condition (first child's name) and text of a `<stream:error/>` or SASL `<failure/>`.
fn condition_and_text(el: &Element) -> (String, String) {
    let condition = el
        .elements()
        .find(|c| c.local_name() != "text")
        .map(|c| c.local_name().to_string())
        .unwrap_or_default();
    let text = el
        .find("text")
        .map(|t| t.text_content())
        .unwrap_or_default();
    (condition, text)
}

fn stream_error(el: &Element) -> XmppError {
    let (condition, text) = condition_and_text(el);
    XmppError::StreamError { condition, text }
}

fn sasl_plain(jid: &NxId, token: &str) -> String {
    let raw = format!("\0{}\0{}", jid.local(), token);
    base64::engine::general_purpose::STANDARD.encode(raw.as_bytes())
}

async fn login(cfg: &XmppConfig) -> Result<Conn, XmppError> {
    let ws = crate::ws::connect(&cfg.url, "xmpp", None, STEP_TIMEOUT)
        .await
        .map_err(|e| match e {
            crate::ws::ConnectError::TimedOut => XmppError::Timeout("websocket connect"),
            crate::ws::ConnectError::Failed(reason) => XmppError::Connect {
                url: cfg.url.clone(),
                reason,
            },
        })?;
    let mut conn = Conn {
        ws,
        parser: StanzaParser::default(),
        pending: VecDeque::new(),
        full_jid: String::new(),
    };
    let domain = cfg.jid.domain().to_string();

    let features = conn.open_stream(&domain).await?;
    let mechs = features
        .find("mechanisms")
        .map(|m| m.elements().map(|e| e.text_content()).collect::<Vec<_>>());
    if !mechs.unwrap_or_default().iter().any(|m| m == "PLAIN") {
        return Err(XmppError::AuthFailed {
            condition: String::new(),
            text: "server offers no SASL PLAIN".into(),
        });
    }
    let auth = Element::new("auth")
        .attr("xmlns", NS_SASL)
        .attr("mechanism", "PLAIN")
        .text(sasl_plain(&cfg.jid, &cfg.token));
    conn.send(&auth).await?;
    let reply = conn.next_timeout("SASL result").await?;
    match reply.local_name() {
        "success" => {}
        "failure" => {
            let (condition, text) = condition_and_text(&reply);
            return Err(XmppError::AuthFailed { condition, text });
        }
        "error" => return Err(stream_error(&reply)),
        other => {
            return Err(XmppError::Protocol(format!(
                "unexpected <{other}> during SASL"
            )))
        }
    }

    let features = conn.open_stream(&domain).await?;
    if features.find("bind").is_none() {
        return Err(XmppError::Protocol(
            "server offers no resource binding".into(),
        ));
    }
    conn.full_jid = bind(&mut conn, &cfg.resource).await?;
    if features
        .find("session")
        .is_some_and(|s| s.find("optional").is_none())
    {
        let iq = Element::new("iq")
            .attr("xmlns", NS_CLIENT)
            .attr("type", "set")
            .attr("id", "sess1")
            .child(Element::new("session").attr("xmlns", NS_SESSION));
        conn.send(&iq).await?;
        wait_iq(&mut conn, "sess1", "session").await?;
    }
    conn.send(&Element::new("presence").attr("xmlns", NS_CLIENT))
        .await?;
    tracing::debug!(jid = %conn.full_jid, "signaling online");
    Ok(conn)
}

async fn bind(conn: &mut Conn, resource: &str) -> Result<String, XmppError> {
    for (n, res) in [
        resource.to_string(),
        format!("{resource}_{}", rand::random::<u16>()),
    ]
    .iter()
    .enumerate()
    {
        let id = format!("bind{n}");
        let iq = Element::new("iq")
            .attr("xmlns", NS_CLIENT)
            .attr("type", "set")
            .attr("id", id.clone())
            .child(
                Element::new("bind")
                    .attr("xmlns", NS_BIND)
                    .child(Element::new("resource").text(res.clone())),
            );
        conn.send(&iq).await?;
        let reply = wait_iq(conn, &id, "bind result").await?;
        if reply.get_attr("type") == Some("result") {
            let jid = reply
                .find("bind")
                .and_then(|b| b.find("jid"))
                .map(|j| j.text_content());
            return jid.ok_or_else(|| XmppError::Protocol("bind result without jid".into()));
        }
        tracing::info!(resource = %res, "resource bind refused, trying another");
    }
    Err(XmppError::Protocol("resource binding refused".into()))
}

/// Waits for the iq reply with this id; other stanzas before it are kept for later.
async fn wait_iq(conn: &mut Conn, id: &str, what: &'static str) -> Result<Element, XmppError> {
    let mut held = Vec::new();
    let result = loop {
        let el = conn.next_timeout(what).await?;
        if el.local_name() == "iq" && el.get_attr("id") == Some(id) {
            break el;
        }
        if el.local_name() == "error" {
            return Err(stream_error(&el));
        }
        held.push(el);
    };
    for el in held.into_iter().rev() {
        conn.pending.push_front(el);
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_by_two_seconds_up_to_the_cap() {
        let max = Duration::from_secs(30);
        let got: Vec<u64> = (0..20).map(|n| backoff(n, max).as_secs()).collect();
        assert_eq!(&got[..5], &[1, 3, 5, 7, 9]);
        assert_eq!(got[19], 30);
    }

    #[test]
    fn sasl_plain_uses_empty_authzid_and_localpart() {
        let jid = NxId::parse_jid("+255788811191@example.org").expect("jid");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(sasl_plain(&jid, "tok"))
            .expect("b64");
        assert_eq!(decoded, b"\0+255788811191\0tok");
    }

    #[test]
    fn only_auth_and_stream_errors_are_final() {
        let failure = |c: &str| XmppError::AuthFailed {
            condition: c.into(),
            text: String::new(),
        };
        assert!(failure("x").is_final());
        assert!(XmppError::StreamError {
            condition: "conflict".into(),
            text: String::new()
        }
        .is_final());
        assert!(!XmppError::Closed.is_final());
        assert!(!XmppError::Timeout("x").is_final());
    }

    #[test]
    fn a_refused_token_is_told_apart_from_other_failures() {
        let parse = |xml: &str| {
            let mut p = StanzaParser::default();
            p.push(xml).expect("xml").pop().expect("one element")
        };
        let expired = parse("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/><text>token expired</text></failure>");
        let (condition, text) = condition_and_text(&expired);
        let e = XmppError::AuthFailed { condition, text };
        assert!(e.token_refused());
        assert_eq!(
            e.to_string(),
            "authentication failed: not-authorized: token expired"
        );
        let kicked = stream_error(&parse("<stream:error xmlns:stream='http://etherx.jabber.org/streams'><text>flood</text><policy-violation/></stream:error>"));
        assert!(!kicked.token_refused());
        assert_eq!(
            kicked.to_string(),
            "stream error from server: policy-violation: flood"
        );
        assert!(!XmppError::Closed.token_refused());
    }
}
