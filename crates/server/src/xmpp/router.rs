//! Who is online with which resources, and delivery of stanzas to them (or to offline storage).

use crate::store::Store;
use nx::xml::Element;
use nx::xmpp::NS_DELAY;
use nx::NxId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;

/// What a session's writer receives.
#[derive(Debug, Clone)]
pub enum Outbound {
    Stanza(Arc<str>),
    /// Close the connection at once (administrative disconnect).
    Kick,
}

/// One bound XMPP stream of a user (a resource), and where its stanzas go.
struct BoundStream {
    id: u64,
    resource: String,
    tx: mpsc::Sender<Outbound>,
    available: bool,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BindError {
    #[error("too many sessions for this user")]
    TooMany,
}

/// The outcome of routing one stanza.
#[derive(Debug, PartialEq)]
pub enum Delivery {
    Delivered(usize),
    StoredOffline,
    NoSuchUser,
    Dropped,
}

/// Online sessions of every user, keyed by bare JID.
pub struct Router {
    sessions: Mutex<HashMap<String, Vec<BoundStream>>>,
    /// Authenticated connections per user (bound or not), for the session limit.
    seats: Arc<Mutex<HashMap<String, usize>>>,
    store: Store,
    domain: String,
    max_sessions: usize,
    offline_cap: i64,
    offline_per_sender: i64,
}

/// One authenticated connection's place in its user's session count; given back on drop.
pub struct Seat {
    bare: String,
    seats: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut map = self.seats.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.bare) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.bare);
            }
        }
    }
}

/// Per-session outbound queue length; a session this far behind loses stanzas to offline storage.
const SESSION_QUEUE: usize = 1024;

impl Router {
    pub fn new(
        store: Store,
        domain: String,
        max_sessions: usize,
        offline_cap: i64,
        offline_per_sender: i64,
    ) -> Arc<Self> {
        Arc::new(Self {
            sessions: Mutex::new(HashMap::new()),
            seats: Arc::new(Mutex::new(HashMap::new())),
            store,
            domain,
            max_sessions,
            offline_cap,
            offline_per_sender,
        })
    }

    /// A place in `bare`'s session count, or `None` when the user has `max_sessions` already.
    pub fn take_seat(&self, bare: &str) -> Option<Seat> {
        let mut map = self.seats.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(bare.to_string()).or_insert(0);
        if *n >= self.max_sessions {
            return None;
        }
        *n += 1;
        Some(Seat {
            bare: bare.to_string(),
            seats: self.seats.clone(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Vec<BoundStream>>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Binds a resource; a taken or empty resource gets a fresh one (RFC 6120 §7.7.2.2).
    pub fn bind(
        &self,
        bare: &str,
        wanted: &str,
    ) -> Result<(u64, String, mpsc::Receiver<Outbound>), BindError> {
        let mut map = self.lock();
        let list = map.entry(bare.to_string()).or_default();
        if list.len() >= self.max_sessions {
            return Err(BindError::TooMany);
        }
        let taken = |r: &str| list.iter().any(|s| s.resource == r);
        let resource = if wanted.is_empty() || taken(wanted) || wanted.len() > 256 {
            loop {
                let r = format!("simu_{:08x}", rand::random::<u32>());
                if !taken(&r) {
                    break r;
                }
            }
        } else {
            wanted.to_string()
        };
        let (tx, rx) = mpsc::channel(SESSION_QUEUE);
        let id = rand::random::<u64>();
        list.push(BoundStream {
            id,
            resource: resource.clone(),
            tx,
            available: false,
        });
        Ok((id, resource, rx))
    }

    pub fn unbind(&self, bare: &str, id: u64) {
        let mut map = self.lock();
        if let Some(list) = map.get_mut(bare) {
            list.retain(|s| s.id != id);
            if list.is_empty() {
                map.remove(bare);
            }
        }
    }

    pub fn set_available(&self, bare: &str, id: u64, available: bool) {
        if let Some(s) = self
            .lock()
            .get_mut(bare)
            .and_then(|l| l.iter_mut().find(|s| s.id == id))
        {
            s.available = available;
        }
    }

    /// Disconnects every session of a user (administration, tests of reconnection).
    pub fn kick(&self, bare: &str) -> usize {
        let map = self.lock();
        let Some(list) = map.get(bare) else { return 0 };
        for s in list {
            let _ = s.tx.try_send(Outbound::Kick);
        }
        list.len()
    }

    /// Disconnects every session (server shutdown).
    pub fn kick_all(&self) {
        for s in self.lock().values().flatten() {
            let _ = s.tx.try_send(Outbound::Kick);
        }
    }

    /// Sends to live sessions only: the full JID's, else every session of the bare JID.
    pub fn deliver_live(&self, to: &str, xml: &Arc<str>) -> usize {
        let (bare, resource) = match to.split_once('/') {
            Some((b, r)) => (b, Some(r)),
            None => (to, None),
        };
        // The same user however the address is cased (`Bob@SIMU.LOCAL`).
        let Ok(bare) = NxId::parse_jid(bare).map(|id| id.to_string()) else {
            return 0;
        };
        let map = self.lock();
        let Some(list) = map.get(&bare) else { return 0 };
        let exact: Vec<&BoundStream> = match resource {
            Some(r) => list.iter().filter(|s| s.resource == r).collect(),
            None => Vec::new(),
        };
        let targets: Vec<&BoundStream> = if exact.is_empty() {
            list.iter().collect()
        } else {
            exact
        };
        targets
            .into_iter()
            .filter(|s| match s.tx.try_send(Outbound::Stanza(xml.clone())) {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(to, error = %e, "session queue full or closed; stanza not delivered live");
                    false
                }
            })
            .count()
    }

    /// Routes a `<message>` from the server itself.
    pub async fn route_message(&self, to: &str, el: &Element) -> Delivery {
        self.route_message_from(&self.domain, to, el).await
    }

    /// Routes a `<message>` from `sender` (a bare JID): live delivery, else offline storage if
    /// the user exists, within the sender's share of the recipient's queue.
    pub async fn route_message_from(&self, sender: &str, to: &str, el: &Element) -> Delivery {
        let xml: Arc<str> = Arc::from(el.to_xml());
        let n = self.deliver_live(to, &xml);
        if n > 0 {
            return Delivery::Delivered(n);
        }
        let Ok(id) = NxId::parse_jid(to) else {
            return Delivery::NoSuchUser;
        };
        if id.domain() != self.domain {
            return Delivery::NoSuchUser;
        }
        match self.store.user(id.local()).await {
            Ok(Some(_)) => {}
            Ok(None) => return Delivery::NoSuchUser,
            Err(e) => {
                tracing::error!(error = %e, "user lookup failed");
                return Delivery::Dropped;
            }
        }
        if el.find("body").is_none() {
            return Delivery::Dropped;
        }
        match self
            .store
            .store_offline(
                &id.to_string(),
                sender,
                &el.to_xml(),
                self.offline_cap,
                self.offline_per_sender,
            )
            .await
        {
            Ok(()) => Delivery::StoredOffline,
            Err(e) => {
                tracing::error!(error = %e, "offline store failed");
                Delivery::Dropped
            }
        }
    }

    /// Up to `n` of a user's stored stanzas, oldest first, each with its id and a XEP-0203
    /// delay stamp. They stay stored until `forget_offline`.
    pub async fn peek_offline(&self, bare: &str, n: i64) -> Vec<(i64, Element)> {
        let rows = match self.store.peek_offline(bare, n).await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "offline replay failed");
                return Vec::new();
            }
        };
        let mut out = Vec::with_capacity(rows.len());
        let mut broken = Vec::new();
        for (id, xml, stamp) in rows {
            match nx::xml::parse_element(&xml) {
                Ok(mut el) => {
                    el.children.push(nx::xml::Node::Element(
                        Element::new("delay")
                            .attr("xmlns", NS_DELAY)
                            .attr("from", self.domain.clone())
                            .attr("stamp", stamp),
                    ));
                    out.push((id, el));
                }
                Err(_) => broken.push(id),
            }
        }
        self.forget_offline(&broken).await;
        out
    }

    /// Deletes stored stanzas that were delivered.
    pub async fn forget_offline(&self, ids: &[i64]) {
        if let Err(e) = self.store.delete_offline(ids).await {
            tracing::error!(error = %e, "cannot delete replayed offline messages");
        }
    }

    /// Presence of a user as the REST API reports it.
    pub fn presence_status(&self, bare: &str) -> &'static str {
        match self.lock().get(bare) {
            Some(l) if l.iter().any(|s| s.available) => "online",
            Some(l) if !l.is_empty() => "connected",
            _ => "offline",
        }
    }
}
