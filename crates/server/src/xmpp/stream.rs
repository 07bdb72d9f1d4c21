//! One client connection: stream negotiation, SASL PLAIN with an NX token, bind, and stanza
//! handling with the server stamping every `from`.

use super::guest_scope::{self, Refused};
use super::router::{Delivery, Outbound, Router};
use super::stanza;
use crate::tokens::{TokenKind, Tokens};
use axum::extract::ws::{Message, WebSocket};
use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use nx::xml::{Element, StanzaParser, XmlError};
use nx::xmpp::{NS_BIND, NS_PING, NS_SASL, NS_SESSION};
use nx::NxId;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Settings a session needs from the server.
#[derive(Clone)]
pub struct StreamCtx {
    pub router: Arc<Router>,
    pub tokens: Tokens,
    pub max_stanza: usize,
    pub rate: u32,
    pub burst: u32,
    pub store: crate::store::Store,
    /// Bytes buffered before authentication.
    pub pre_auth_bytes: usize,
    /// Sustained bytes and frames per second (bursts of a few seconds' worth pass).
    pub bytes_per_second: u32,
    pub frames_per_second: u32,
    /// Silence before the server pings; as long again without an answer closes the session.
    pub idle_ping: Duration,
}

/// How long a client may take to authenticate and bind a resource.
const AUTH_DEADLINE: Duration = Duration::from_secs(30);
const MAX_AUTH_FAILURES: u32 = 3;

#[derive(PartialEq)]
enum Phase {
    PreAuth,
    Authed,
    Bound,
}

/// Token bucket limiting stanzas per connection.
struct RateLimit {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl RateLimit {
    fn new(rate: u32, burst: u32) -> Self {
        Self {
            tokens: f64::from(burst),
            rate: f64::from(rate),
            burst: f64::from(burst),
            last: Instant::now(),
        }
    }

    fn allow(&mut self) -> bool {
        self.take(1.0)
    }

    /// Takes `n` tokens if there are that many.
    fn take(&mut self, n: f64) -> bool {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }
}

struct Conn {
    ctx: StreamCtx,
    phase: Phase,
    jid: Option<NxId>,
    full: String,
    session_id: u64,
    auth_failures: u32,
    out_rx: Option<mpsc::Receiver<Outbound>>,
    sent_initial_presence: bool,
    /// Offline messages are due to be replayed (after the initial presence).
    replay_due: bool,
    /// When the NX token used to authenticate expires.
    token_expires: Option<Instant>,
    /// Holds this connection's place in the user's session count from authentication on.
    seat: Option<super::router::Seat>,
    /// The pass of a guest let in by a call link (`guest_scope` bounds what it may reach).
    guest: Option<crate::store::Guest>,
}

/// Why a session ends.
enum End {
    /// Client closed cleanly or went away.
    Gone,
    /// A stream error was sent.
    StreamError,
}

/// Serves one WebSocket until it closes.
pub async fn serve(socket: WebSocket, ctx: StreamCtx) {
    let (mut sink, mut stream) = socket.split();
    // Small until the peer has authenticated.
    let mut parser = StanzaParser::new(ctx.pre_auth_bytes.min(ctx.max_stanza));
    let mut limit = RateLimit::new(ctx.rate, ctx.burst);
    let mut conn = Conn {
        ctx,
        phase: Phase::PreAuth,
        jid: None,
        full: String::new(),
        session_id: 0,
        auth_failures: 0,
        out_rx: None,
        sent_initial_presence: false,
        replay_due: false,
        token_expires: None,
        seat: None,
        guest: None,
    };
    let frame_rate = conn.ctx.frames_per_second;
    let byte_rate = conn.ctx.bytes_per_second;
    let mut frames = RateLimit::new(frame_rate, frame_rate.saturating_mul(5));
    let mut bytes = RateLimit::new(byte_rate, byte_rate.saturating_mul(5));
    let auth_deadline = tokio::time::sleep(AUTH_DEADLINE);
    tokio::pin!(auth_deadline);
    let idle_ping = conn.ctx.idle_ping;
    let mut last_heard = Instant::now();
    let mut ping_sent: Option<Instant> = None;
    let mut idle_tick = tokio::time::interval(Duration::from_secs(1).min(idle_ping));
    let far_future = tokio::time::Instant::now() + Duration::from_secs(100 * 365 * 86400);
    let token_deadline = tokio::time::sleep_until(far_future);
    tokio::pin!(token_deadline);
    let mut replies: Vec<Element> = Vec::new();
    let end = loop {
        let out_next = async {
            match conn.out_rx.as_mut() {
                Some(rx) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            frame = stream.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(t))) => t.to_string(),
                    Some(Ok(Message::Binary(b))) => String::from_utf8_lossy(&b).into_owned(),
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break End::Gone,
                    Some(Ok(_)) => continue,
                };
                last_heard = Instant::now();
                ping_sent = None;
                // Frames and bytes count, not only whole stanzas: a stanza dribbled in many
                // small frames costs the server per frame.
                if !frames.allow() || !bytes.take(text.len() as f64) {
                    tracing::info!(jid = %conn.full, "closing a connection that sends too fast");
                    let _ = send_all(&mut sink, &[stanza::stream_error("policy-violation", "too much traffic; slow down"), stanza::close()]).await;
                    break End::StreamError;
                }
                let elements = match parser.push(&text) {
                    Ok(v) => v,
                    Err(e) => {
                        let (cond, msg) = match &e {
                            XmlError::TooLarge(_) => ("policy-violation", e.to_string()),
                            XmlError::Doctype => ("restricted-xml", e.to_string()),
                            _ => ("not-well-formed", e.to_string()),
                        };
                        tracing::info!(jid = %conn.full, error = %e, "closing stream on bad XML");
                        let _ = send_all(&mut sink, &[stanza::stream_error(cond, &msg), stanza::close()]).await;
                        break End::StreamError;
                    }
                };
                let mut ended = None;
                for el in elements {
                    if !limit.allow() {
                        replies.push(stanza::stream_error("policy-violation", "too many stanzas; slow down"));
                        replies.push(stanza::close());
                        ended = Some(End::StreamError);
                        break;
                    }
                    if let Some(e) = conn.handle(el, &mut replies).await {
                        ended = Some(e);
                        break;
                    }
                }
                if send_all(&mut sink, &replies).await.is_err() {
                    break End::Gone;
                }
                replies.clear();
                if let Some(e) = ended {
                    break e;
                }
                if conn.phase != Phase::PreAuth {
                    parser.set_max(conn.ctx.max_stanza);
                }
                if let Some(exp) = conn.token_expires.take() {
                    token_deadline.as_mut().reset(tokio::time::Instant::from_std(exp));
                }
                if conn.replay_due {
                    conn.replay_due = false;
                    if conn.replay_offline(&mut sink).await.is_err() {
                        break End::Gone;
                    }
                }
            }
            out = out_next => match out {
                Some(Outbound::Stanza(xml)) => {
                    if sink.send(Message::Text(xml.to_string().into())).await.is_err() {
                        break End::Gone;
                    }
                }
                Some(Outbound::Kick) | None => break End::Gone,
            },
            _ = &mut auth_deadline, if conn.phase != Phase::Bound => {
                let _ = send_all(&mut sink, &[stanza::stream_error("connection-timeout", "authentication and binding took too long"), stanza::close()]).await;
                break End::StreamError;
            }
            _ = &mut token_deadline => {
                tracing::info!(jid = %conn.full, "closing a session whose token expired");
                let _ = send_all(&mut sink, &[stanza::stream_error("not-authorized", "token expired; sign in again"), stanza::close()]).await;
                break End::StreamError;
            }
            _ = idle_tick.tick() => {
                let quiet = last_heard.elapsed();
                if let Some(sent) = ping_sent {
                    if sent.elapsed() >= idle_ping {
                        tracing::info!(jid = %conn.full, "closing a session that stopped answering");
                        let _ = send_all(&mut sink, &[stanza::stream_error("connection-timeout", "no answer to ping"), stanza::close()]).await;
                        break End::StreamError;
                    }
                } else if quiet >= idle_ping {
                    ping_sent = Some(Instant::now());
                    let ping = Element::new("iq")
                        .attr("xmlns", stanza::NS_CLIENT)
                        .attr("type", "get")
                        .attr("id", format!("srv-ping-{:08x}", rand::random::<u32>()))
                        .attr("from", conn.domain().to_string())
                        .child(Element::new("ping").attr("xmlns", NS_PING));
                    if send_all(&mut sink, &[ping]).await.is_err() {
                        break End::Gone;
                    }
                }
            }
        }
    };
    if let Some(jid) = &conn.jid {
        if conn.session_id != 0 {
            conn.ctx.router.unbind(&jid.to_string(), conn.session_id);
            let _ = conn.ctx.store.touch_last_seen(jid.local()).await;
        }
    }
    if let Some(g) = &conn.guest {
        guest_scope::on_session_end(&conn.ctx.store, &conn.ctx.router, &g.jid, &conn.full).await;
    }
    drop(conn.seat.take());
    if matches!(end, End::StreamError) {
        let _ = sink.close().await;
    }
    tracing::debug!(jid = %conn.full, "session ended");
}

async fn send_all<S>(sink: &mut S, els: &[Element]) -> Result<(), axum::Error>
where
    S: SinkExt<Message, Error = axum::Error> + Unpin,
{
    for el in els {
        sink.send(Message::Text(el.to_xml().into())).await?;
    }
    Ok(())
}

impl Conn {
    fn domain(&self) -> &str {
        self.ctx.router.domain()
    }

    /// Handles one element; `Some` ends the session after the replies are sent.
    async fn handle(&mut self, el: Element, out: &mut Vec<Element>) -> Option<End> {
        let mut el = el;
        if matches!(el.name.as_str(), "message" | "iq" | "presence") {
            stanza::qualify(&mut el);
        }
        match (el.local_name(), &self.phase) {
            ("open", _) => {
                if let Some(to) = el.get_attr("to") {
                    if !to.eq_ignore_ascii_case(self.domain()) {
                        out.push(stanza::open(self.domain()));
                        out.push(stanza::stream_error(
                            "host-unknown",
                            "this server does not serve that domain",
                        ));
                        out.push(stanza::close());
                        return Some(End::StreamError);
                    }
                }
                out.push(stanza::open(self.domain()));
                out.push(if self.phase == Phase::PreAuth {
                    stanza::features_pre_auth()
                } else {
                    stanza::features_post_auth()
                });
                None
            }
            ("close", _) => {
                out.push(stanza::close());
                Some(End::Gone)
            }
            ("auth", Phase::PreAuth) => self.auth(&el, out).await,
            (_, Phase::PreAuth) => {
                out.push(stanza::stream_error("not-authorized", "authenticate first"));
                out.push(stanza::close());
                Some(End::StreamError)
            }
            ("iq", _) => self.iq(el, out).await,
            (_, Phase::Authed) => {
                out.push(stanza::stream_error(
                    "not-authorized",
                    "bind a resource first",
                ));
                out.push(stanza::close());
                Some(End::StreamError)
            }
            ("message", Phase::Bound) => {
                self.message(el, out).await;
                None
            }
            ("presence", Phase::Bound) => {
                self.presence(el, out).await;
                None
            }
            ("r" | "a" | "enable", _) => None,
            (other, _) => {
                out.push(stanza::stream_error(
                    "unsupported-stanza-type",
                    &format!("<{other}> is not supported"),
                ));
                out.push(stanza::close());
                Some(End::StreamError)
            }
        }
    }

    async fn auth(&mut self, el: &Element, out: &mut Vec<Element>) -> Option<End> {
        if el.get_attr("mechanism") != Some("PLAIN") {
            out.push(stanza::sasl_failure(
                "invalid-mechanism",
                "only PLAIN is offered",
            ));
            return None;
        }
        match self.check_plain(&el.text_content()).await {
            Ok((jid, exp, guest)) => {
                // The session limit applies from authentication, so authenticated but
                // never-bound connections cannot pile up either.
                let Some(seat) = self.ctx.router.take_seat(&jid.to_string()) else {
                    out.push(stanza::sasl_failure(
                        "temporary-auth-failure",
                        "too many sessions for this user",
                    ));
                    out.push(stanza::close());
                    return Some(End::StreamError);
                };
                tracing::debug!(%jid, "authenticated");
                self.seat = Some(seat);
                self.jid = Some(jid);
                self.guest = guest;
                self.phase = Phase::Authed;
                let left = Duration::from_secs(exp.saturating_sub(crate::clock::unix_now()));
                self.token_expires = Some(Instant::now() + left);
                out.push(Element::new("success").attr("xmlns", NS_SASL));
                None
            }
            Err(why) => {
                self.auth_failures += 1;
                tracing::info!(why, "authentication failed");
                out.push(stanza::sasl_failure("not-authorized", why));
                if self.auth_failures >= MAX_AUTH_FAILURES {
                    out.push(stanza::close());
                    return Some(End::StreamError);
                }
                None
            }
        }
    }

    /// Checks `base64(authzid \0 authcid \0 token)`; returns the user's bare JID, when the
    /// token expires, and a guest's pass (a `guest-` name signs in with a guest token only).
    async fn check_plain(
        &self,
        payload: &str,
    ) -> Result<(NxId, u64, Option<crate::store::Guest>), &'static str> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(payload.trim())
            .map_err(|_| "malformed SASL payload")?;
        let raw = String::from_utf8(raw).map_err(|_| "malformed SASL payload")?;
        let mut parts = raw.split('\0');
        let (Some(authzid), Some(authcid), Some(token), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("malformed SASL payload");
        };
        let guest_name = crate::links::is_guest(authcid.split('@').next().unwrap_or_default());
        let kind = if guest_name {
            TokenKind::Guest
        } else {
            TokenKind::Nx
        };
        let claims = self.ctx.tokens.verify(token, kind).map_err(|e| match e {
            crate::tokens::TokenError::Expired => "token expired",
            _ => "invalid token",
        })?;
        let jid = NxId::parse_jid(claims.user()).map_err(|_| "invalid token")?;
        if jid.domain() != self.domain() {
            return Err("token is for another domain");
        }
        let cid_ok = authcid == jid.local() || authcid == jid.to_string();
        let zid_ok = authzid.is_empty() || authzid == jid.to_string();
        if !cid_ok || !zid_ok {
            return Err("token does not belong to this user");
        }
        if guest_name {
            let pass = guest_scope::sign_in(&self.ctx.store, &jid.to_string()).await?;
            return Ok((jid, claims.exp, Some(pass)));
        }
        match self.ctx.store.token_version(jid.local()).await {
            Ok(Some(v)) if v == claims.ver.unwrap_or(0) => {}
            // Minted with the key for a user this store does not hold (tools, ejabberd's
            // tokens): nothing to revoke.
            Ok(None) if claims.ver.unwrap_or(0) == 0 => {}
            Ok(_) => return Err("token revoked"),
            Err(e) => {
                tracing::error!(error = %e, "token version lookup failed");
                return Err("temporary failure; try again");
            }
        }
        Ok((jid, claims.exp, None))
    }

    /// Whether this session may send a stanza to `to` (a full or bare JID) under the guest
    /// rules; the recipient's pass if it is a guest.
    async fn guest_check(&self, to: &str) -> Result<guest_scope::Scope, Refused> {
        let sender = self.jid.as_ref().map(|j| j.to_string()).unwrap_or_default();
        let bare = to.split('/').next().unwrap_or_default();
        guest_scope::check(&self.ctx.store, &sender, self.guest.is_some(), bare).await
    }

    async fn iq(&mut self, el: Element, out: &mut Vec<Element>) -> Option<End> {
        let ty = el.get_attr("type").unwrap_or_default().to_string();
        let to = el.get_attr("to").map(str::to_string);
        let for_server = to.as_deref().is_none_or(|t| {
            t == self.domain() || self.jid.as_ref().is_some_and(|j| t == j.to_string())
        });
        if self.phase == Phase::Authed {
            if let Some(bind) = el.find_ns("bind", NS_BIND).filter(|_| ty == "set") {
                let Some(jid) = self.jid.clone() else {
                    return Some(End::StreamError);
                };
                let wanted = bind
                    .find("resource")
                    .map(|r| r.text_content())
                    .unwrap_or_default();
                match self.ctx.router.bind(&jid.to_string(), wanted.trim()) {
                    Ok((id, resource, rx)) => {
                        self.session_id = id;
                        self.full = format!("{jid}/{resource}");
                        self.out_rx = Some(rx);
                        self.phase = Phase::Bound;
                        let payload = Element::new("bind")
                            .attr("xmlns", NS_BIND)
                            .child(Element::new("jid").text(self.full.clone()));
                        out.push(
                            stanza::iq_result(&el, self.domain(), Some(payload)).attr_remove_to(),
                        );
                    }
                    Err(e) => out.push(stanza::bounce(
                        &el,
                        self.domain(),
                        "wait",
                        "resource-constraint",
                        &e.to_string(),
                    )),
                }
                return None;
            }
            out.push(stanza::stream_error(
                "not-authorized",
                "bind a resource first",
            ));
            out.push(stanza::close());
            return Some(End::StreamError);
        }
        let mut el = el;
        set_attr(&mut el, "from", self.full.clone());
        if !for_server {
            let to = to.unwrap_or_default();
            if self.guest_check(&to).await.is_err() {
                out.push(refusal(&el, self.domain()));
                return None;
            }
            if ty == "get" || ty == "set" {
                let n = self.ctx.router.deliver_live(&to, &Arc::from(el.to_xml()));
                if n == 0 {
                    out.push(stanza::bounce(
                        &el,
                        self.domain(),
                        "cancel",
                        "service-unavailable",
                        "recipient is not online",
                    ));
                }
            } else {
                self.ctx.router.deliver_live(&to, &Arc::from(el.to_xml()));
            }
            return None;
        }
        if ty != "get" && ty != "set" {
            return None;
        }
        let domain = self.domain().to_string();
        if el.find_ns("ping", NS_PING).is_some() || el.find_ns("session", NS_SESSION).is_some() {
            out.push(stanza::iq_result(&el, &domain, None));
        } else if let Some(q) = el
            .find_ns("query", "jabber:iq:roster")
            .filter(|_| ty == "get")
        {
            let _ = q;
            out.push(stanza::iq_result(
                &el,
                &domain,
                Some(Element::new("query").attr("xmlns", "jabber:iq:roster")),
            ));
        } else if el
            .find_ns("query", "http://jabber.org/protocol/disco#info")
            .is_some()
            && ty == "get"
        {
            let mut q = Element::new("query")
                .attr("xmlns", "http://jabber.org/protocol/disco#info")
                .child(
                    Element::new("identity")
                        .attr("category", "server")
                        .attr("type", "im")
                        .attr("name", "simu-server"),
                );
            for f in [
                "urn:xmpp:ping",
                "urn:xmpp:receipts",
                "urn:xmpp:delay",
                "msgoffline",
            ] {
                q = q.child(Element::new("feature").attr("var", f));
            }
            out.push(stanza::iq_result(&el, &domain, Some(q)));
        } else {
            out.push(stanza::bounce(
                &el,
                &domain,
                "cancel",
                "service-unavailable",
                "not supported by this server",
            ));
        }
        None
    }

    async fn message(&mut self, mut el: Element, out: &mut Vec<Element>) {
        strip_delay(&mut el);
        let Some(to) = el.get_attr("to").map(str::to_string) else {
            out.push(stanza::bounce(
                &el,
                self.domain(),
                "modify",
                "bad-request",
                "message without a recipient",
            ));
            return;
        };
        set_attr(&mut el, "from", self.full.clone());
        match NxId::parse_jid(&to) {
            Ok(id) if id.domain() == self.domain() => {}
            Ok(_) => {
                out.push(stanza::bounce(
                    &el,
                    self.domain(),
                    "cancel",
                    "remote-server-not-found",
                    "federation is not supported",
                ));
                return;
            }
            Err(_) => {
                out.push(stanza::bounce(
                    &el,
                    self.domain(),
                    "modify",
                    "jid-malformed",
                    "bad recipient address",
                ));
                return;
            }
        }
        let Ok(scope) = self.guest_check(&to).await else {
            out.push(refusal(&el, self.domain()));
            return;
        };
        let sender = self.jid.as_ref().map(|j| j.to_string()).unwrap_or_default();
        let delivery = self.ctx.router.route_message_from(&sender, &to, &el).await;
        let bare_to = to.split('/').next().unwrap_or_default();
        guest_scope::after_routed(
            &self.ctx.store,
            &self.ctx.router,
            &scope,
            &self.full,
            bare_to,
            &el,
        )
        .await;
        match delivery {
            Delivery::Delivered(_) | Delivery::StoredOffline => {}
            Delivery::NoSuchUser => {
                if el.get_attr("type") != Some("error") {
                    out.push(stanza::bounce(
                        &el,
                        self.domain(),
                        "cancel",
                        "item-not-found",
                        "no such user",
                    ));
                }
            }
            Delivery::Dropped => {}
        }
    }

    async fn presence(&mut self, mut el: Element, _out: &mut [Element]) {
        let Some(jid) = self.jid.clone() else { return };
        match el.get_attr("to").map(str::to_string) {
            None => {
                let available = el.get_attr("type") != Some("unavailable");
                self.ctx
                    .router
                    .set_available(&jid.to_string(), self.session_id, available);
                if available && !self.sent_initial_presence {
                    self.sent_initial_presence = true;
                    self.replay_due = true;
                }
            }
            Some(to) => {
                if self.guest_check(&to).await.is_err() {
                    return;
                }
                strip_delay(&mut el);
                set_attr(&mut el, "from", self.full.clone());
                self.ctx.router.deliver_live(&to, &Arc::from(el.to_xml()));
            }
        }
    }
}

impl Conn {
    /// Writes the user's offline messages to the socket, deleting each batch only once it was
    /// written: a connection that dies during replay loses nothing (the rest comes next time).
    async fn replay_offline<S>(&mut self, sink: &mut S) -> Result<(), axum::Error>
    where
        S: SinkExt<Message, Error = axum::Error> + Unpin,
    {
        let Some(jid) = self.jid.as_ref().map(|j| j.to_string()) else {
            return Ok(());
        };
        loop {
            let batch = self.ctx.router.peek_offline(&jid, 50).await;
            if batch.is_empty() {
                return Ok(());
            }
            let mut sent = Vec::with_capacity(batch.len());
            for (id, el) in batch {
                if let Err(e) = sink.send(Message::Text(el.to_xml().into())).await {
                    self.ctx.router.forget_offline(&sent).await;
                    return Err(e);
                }
                sent.push(id);
            }
            if sink.flush().await.is_err() {
                // Not known to be written: keep them for the next sign-in.
                return Err(axum::Error::new(std::io::Error::other("flush failed")));
            }
            self.ctx.router.forget_offline(&sent).await;
        }
    }
}

/// The error for a stanza outside a guest's scope (the same whether or not the address exists).
fn refusal(el: &Element, domain: &str) -> Element {
    stanza::bounce(
        el,
        domain,
        "cancel",
        "forbidden",
        "a guest may only reach the call it was let into",
    )
}

/// Drops `<delay/>` elements a client put in: only the server stamps delays (a forged one
/// makes a live invitation look like a replayed one, or carries a time that overflows).
fn strip_delay(el: &mut Element) {
    el.children
        .retain(|n| !matches!(n, nx::xml::Node::Element(c) if c.local_name() == "delay"));
}

/// Sets or replaces an attribute (the server's stamp always wins).
fn set_attr(el: &mut Element, k: &str, v: String) {
    el.attrs.retain(|(n, _)| n != k);
    el.attrs.push((k.to_string(), v));
    stanza::qualify(el);
}

trait RemoveTo {
    fn attr_remove_to(self) -> Self;
}

impl RemoveTo for Element {
    /// A bind result goes to a client that has no full JID yet.
    fn attr_remove_to(mut self) -> Self {
        self.attrs.retain(|(n, _)| n != "to");
        self
    }
}
