//! The Janus WebSocket API (subprotocol `janus-protocol`, docs/protocol.md §4.3) as Simu speaks it
//! to the SFU: one Janus session per socket, plugin handles, transactions matched to replies,
//! keepalives. One actor task owns the socket; [`JanusSession`] and [`JanusHandle`] talk to it.

mod reply;
pub mod videoroom;

pub use reply::{classify, BadMessage, Incoming, JanusEvent, Jsep, JsepKind, PluginEvent, Reply};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// How long one request may wait for Janus's answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Janus ends a session after 60 s without a request (`session_timeout`); we ping well before.
pub const KEEPALIVE_EVERY: Duration = Duration::from_secs(25);
/// The largest message accepted from Janus (an SDP for many streams is a few tens of KiB).
pub const MAX_MESSAGE: usize = 1 << 20;
/// Requests waiting for an answer at once; more is a caller's bug, refused.
pub const MAX_PENDING: usize = 256;
/// Events queued for the owner of the session before the socket stops being read.
pub const EVENT_QUEUE: usize = 256;

/// What went wrong talking to Janus.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JanusError {
    #[error("cannot connect to Janus at {url}: {reason}")]
    Connect { url: String, reason: String },
    /// Janus core refused the request (403: bad or missing token, 458: no such session...).
    #[error("Janus refused the request ({code}): {reason}")]
    Refused { code: i64, reason: String },
    /// The plugin refused it (VideoRoom 426: no such room, 433: unauthorized...).
    #[error("the Janus plugin refused the request ({code}): {reason}")]
    Plugin { code: i64, reason: String },
    #[error("unexpected answer from Janus: {0}")]
    Protocol(String),
    #[error("Janus did not answer within {0:?}")]
    Timeout(Duration),
    #[error("too many Janus requests waiting for an answer")]
    Busy,
    #[error("the Janus session has ended")]
    Closed,
}

impl JanusError {
    /// Janus or its plugin said the token does not let us in.
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            self,
            JanusError::Refused {
                code: 403 | 405,
                ..
            }
        ) || matches!(self, JanusError::Plugin { code: 433, .. })
    }
}

/// Where Janus is and the token that lets this client in (`None` where Janus has no token auth).
#[derive(Debug, Clone)]
pub struct JanusConfig {
    pub url: String,
    pub token: Option<String>,
}

/// A plugin's answer: its `plugindata.data` and any SDP.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginReply {
    pub data: Value,
    pub jsep: Option<Jsep>,
}

/// One request to the actor: the message (without transaction) and where its answer goes.
struct Request {
    body: Value,
    /// Trickle and keepalive are done when Janus acknowledges them.
    done_on_ack: bool,
    reply: oneshot::Sender<Result<Reply, JanusError>>,
}

/// What the session handle and its plugin handles share.
struct Inner {
    requests: mpsc::Sender<Request>,
    session_id: u64,
    /// Sent with every request; replaced when a renewed grant brings a new one.
    token: std::sync::RwLock<Option<String>>,
    actor: JoinHandle<()>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.actor.abort();
    }
}

/// One Janus session; dropping the last clone (and every handle) closes the socket.
#[derive(Clone)]
pub struct JanusSession {
    inner: Arc<Inner>,
}

/// One plugin handle inside a session.
#[derive(Clone)]
pub struct JanusHandle {
    inner: Arc<Inner>,
    id: u64,
}

impl JanusSession {
    /// Opens the socket and creates a session; Janus's own events arrive on the receiver.
    pub async fn connect(
        cfg: &JanusConfig,
    ) -> Result<(JanusSession, mpsc::Receiver<JanusEvent>), JanusError> {
        let ws = crate::ws::connect(
            &cfg.url,
            "janus-protocol",
            Some(MAX_MESSAGE),
            REQUEST_TIMEOUT,
        )
        .await
        .map_err(|e| match e {
            crate::ws::ConnectError::TimedOut => JanusError::Timeout(REQUEST_TIMEOUT),
            crate::ws::ConnectError::Failed(reason) => JanusError::Connect {
                url: cfg.url.clone(),
                reason,
            },
        })?;
        let (requests, requests_rx) = mpsc::channel(64);
        let (events_tx, events) = mpsc::channel(EVENT_QUEUE);
        let actor = tokio::spawn(run(ws, requests_rx, events_tx));
        let mut create = json!({"janus": "create"});
        add_token(&mut create, cfg.token.as_deref());
        let reply = send(&requests, create, false).await?;
        let session_id = success(reply)?
            .pointer("/data/id")
            .and_then(Value::as_u64)
            .ok_or_else(|| JanusError::Protocol("create: no session id".into()))?;
        let inner = Arc::new(Inner {
            requests,
            session_id,
            token: std::sync::RwLock::new(cfg.token.clone()),
            actor,
        });
        spawn_keepalive(Arc::downgrade(&inner));
        Ok((JanusSession { inner }, events))
    }

    pub fn id(&self) -> u64 {
        self.inner.session_id
    }

    /// Sends `token` with every request from now on, keepalives included: Janus checks a
    /// signed token's expiry on each request, so a session outlives its first token only if
    /// it is given a new one in time.
    pub fn set_token(&self, token: String) {
        match self.inner.token.write() {
            Ok(mut t) => *t = Some(token),
            Err(poisoned) => *poisoned.into_inner() = Some(token),
        }
    }

    /// Attaches to a plugin (`janus.plugin.videoroom`...).
    pub async fn attach(&self, plugin: &str) -> Result<JanusHandle, JanusError> {
        let reply = self
            .inner
            .call(json!({"janus": "attach", "plugin": plugin}), None, false)
            .await?;
        let id = success(reply)?
            .pointer("/data/id")
            .and_then(Value::as_u64)
            .ok_or_else(|| JanusError::Protocol("attach: no handle id".into()))?;
        Ok(JanusHandle {
            inner: self.inner.clone(),
            id,
        })
    }

    /// Ends the session on Janus's side (its handles and their peer connections go with it).
    pub async fn destroy(&self) -> Result<(), JanusError> {
        let reply = self
            .inner
            .call(json!({"janus": "destroy"}), None, false)
            .await?;
        success(reply).map(|_| ())
    }
}

impl JanusHandle {
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Sends a plugin message; done on the plugin's synchronous answer or its asynchronous event.
    pub async fn message(
        &self,
        body: Value,
        jsep: Option<&Jsep>,
    ) -> Result<PluginReply, JanusError> {
        let mut msg = json!({"janus": "message", "body": body});
        if let Some(j) = jsep {
            msg["jsep"] =
                serde_json::to_value(j).map_err(|e| JanusError::Protocol(e.to_string()))?;
        }
        let reply = self.inner.call(msg, Some(self.id), false).await?;
        let out = match reply {
            Reply::Event(e) => PluginReply {
                data: e.data,
                jsep: e.jsep,
            },
            other => {
                let v = success(other)?;
                PluginReply {
                    data: v
                        .pointer("/plugindata/data")
                        .cloned()
                        .unwrap_or(Value::Null),
                    jsep: None,
                }
            }
        };
        if let Some(code) = out.data.get("error_code").and_then(Value::as_i64) {
            let reason = out.data.get("error").and_then(Value::as_str).unwrap_or("");
            return Err(JanusError::Plugin {
                code,
                reason: reason.to_string(),
            });
        }
        Ok(out)
    }

    /// Gives Janus one ICE candidate (`candidate:...` with its mid), or `None` when gathering ended.
    pub async fn trickle(&self, candidate: Option<(&str, &str)>) -> Result<(), JanusError> {
        let c = match candidate {
            Some((candidate, mid)) => json!({"candidate": candidate, "sdpMid": mid}),
            None => json!({"completed": true}),
        };
        let reply = self
            .inner
            .call(
                json!({"janus": "trickle", "candidate": c}),
                Some(self.id),
                true,
            )
            .await?;
        match reply {
            Reply::Error { code, reason } => Err(JanusError::Refused { code, reason }),
            _ => Ok(()),
        }
    }

    /// Detaches from the plugin (its peer connection closes).
    pub async fn detach(&self) -> Result<(), JanusError> {
        let reply = self
            .inner
            .call(json!({"janus": "detach"}), Some(self.id), false)
            .await?;
        success(reply).map(|_| ())
    }
}

impl Inner {
    /// Sends a request on this session (and handle) and waits for its answer.
    async fn call(
        &self,
        mut body: Value,
        handle: Option<u64>,
        done_on_ack: bool,
    ) -> Result<Reply, JanusError> {
        body["session_id"] = self.session_id.into();
        if let Some(h) = handle {
            body["handle_id"] = h.into();
        }
        let token = match self.token.read() {
            Ok(t) => t.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        add_token(&mut body, token.as_deref());
        send(&self.requests, body, done_on_ack).await
    }
}

fn add_token(body: &mut Value, token: Option<&str>) {
    if let Some(t) = token {
        body["token"] = t.into();
    }
}

/// The message of a `success` reply; a core error or anything else is an error.
fn success(reply: Reply) -> Result<Value, JanusError> {
    match reply {
        Reply::Success(v) => Ok(v),
        Reply::Error { code, reason } => Err(JanusError::Refused { code, reason }),
        other => Err(JanusError::Protocol(format!(
            "expected success, got {other:?}"
        ))),
    }
}

async fn send(
    requests: &mpsc::Sender<Request>,
    body: Value,
    done_on_ack: bool,
) -> Result<Reply, JanusError> {
    let (tx, rx) = oneshot::channel();
    let req = Request {
        body,
        done_on_ack,
        reply: tx,
    };
    requests.send(req).await.map_err(|_| JanusError::Closed)?;
    match timeout(REQUEST_TIMEOUT, rx).await {
        Err(_) => Err(JanusError::Timeout(REQUEST_TIMEOUT)),
        Ok(Err(_)) => Err(JanusError::Closed),
        Ok(Ok(r)) => r,
    }
}

/// Pings the session until it is gone, so Janus does not time it out.
fn spawn_keepalive(session: std::sync::Weak<Inner>) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(KEEPALIVE_EVERY).await;
            let Some(inner) = session.upgrade() else {
                return;
            };
            let sent = inner.call(json!({"janus": "keepalive"}), None, true).await;
            drop(inner);
            if let Err(e) = sent {
                tracing::warn!(error = %e, "janus keepalive failed");
                if e == JanusError::Closed {
                    return;
                }
            }
        }
    });
}

/// A request sent and not yet answered.
struct Pending {
    done_on_ack: bool,
    reply: oneshot::Sender<Result<Reply, JanusError>>,
}

/// The actor: writes requests with fresh transaction ids, routes replies and events.
async fn run<S>(ws: S, mut requests: mpsc::Receiver<Request>, events: mpsc::Sender<JanusEvent>)
where
    S: futures_util::Stream<Item = Result<WsMessage, tokio_tungstenite::tungstenite::Error>>
        + futures_util::Sink<WsMessage>
        + Unpin,
{
    let (mut sink, mut stream) = ws.split();
    let mut pending: HashMap<String, Pending> = HashMap::new();
    let mut next_transaction: u64 = 0;
    loop {
        tokio::select! {
            req = requests.recv() => {
                let Some(Request { mut body, done_on_ack, reply }) = req else { break };
                pending.retain(|_, p| !p.reply.is_closed());
                if pending.len() >= MAX_PENDING {
                    let _ = reply.send(Err(JanusError::Busy));
                    continue;
                }
                next_transaction += 1;
                let transaction = format!("t{next_transaction}");
                body["transaction"] = transaction.clone().into();
                if sink.send(WsMessage::text(body.to_string())).await.is_err() {
                    let _ = reply.send(Err(JanusError::Closed));
                    break;
                }
                pending.insert(transaction, Pending { done_on_ack, reply });
            }
            msg = stream.next() => {
                let text = match msg {
                    Some(Ok(WsMessage::Text(t))) => t,
                    Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => continue,
                };
                match classify(text.as_str()) {
                    Err(e) => tracing::warn!(error = %e, "ignored a message from Janus"),
                    Ok(Incoming::Ignored) => {}
                    Ok(Incoming::Reply { transaction, reply }) => {
                        if reply == Reply::Ack
                            && pending.get(&transaction).is_some_and(|p| !p.done_on_ack)
                        {
                            continue;
                        }
                        if let Some(p) = pending.remove(&transaction) {
                            let _ = p.reply.send(Ok(reply));
                        }
                    }
                    Ok(Incoming::Event(e)) => {
                        if events.send(e).await.is_err() {
                            tracing::debug!("janus event dropped: nobody listens");
                        }
                    }
                }
            }
        }
    }
    for (_, p) in pending {
        let _ = p.reply.send(Err(JanusError::Closed));
    }
}
