//! Group calls on the conference server (Janus VideoRoom, protocol.md §4.3): one private room per
//! call, made and destroyed by this server alone, and time-limited Janus tokens handed only to
//! the call's members.

use crate::clock::unix_now;
use crate::config::SfuConfig;
use crate::store::{SfuRoom, Store};
use crate::turn::hmac_sha1_base64;
use nx::janus::{videoroom, JanusConfig, JanusError, JanusHandle, JanusSession};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Shortest Janus token secret accepted (it signs every member's way into every room).
pub const MIN_SECRET: usize = 32;
/// Lifetime of the tokens this server uses for itself (one request's worth).
const ADMIN_TOKEN_TTL: u64 = 120;
/// How often open rooms are checked for emptiness.
pub const SWEEP_EVERY: Duration = Duration::from_secs(30);
/// Room ids stay below 2^53 so browser clients read them exactly.
const MAX_ROOM_ID: u64 = (1 << 53) - 1;
/// VideoRoom's error for a room that does not exist.
const NO_SUCH_ROOM: i64 = 426;

/// Why the conference server could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum SfuError {
    #[error("the conference server is unavailable: {0}")]
    Janus(#[from] JanusError),
    #[error("conference server settings: {0}")]
    Config(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// What a member needs to take part in a call's room (`GET /nx/group-call/{room}/sfu/`).
#[derive(Debug, Clone, Serialize)]
pub struct Grant {
    /// Janus's WebSocket API.
    pub url: String,
    pub janus_room: u64,
    /// For every Janus request (realm `janus`, the VideoRoom plugin only).
    pub token: String,
    /// For joining this one room (realm `janus.plugin.videoroom`, `room=<id>`).
    pub room_token: String,
    /// Unix seconds after which both tokens stop working; fetch a new grant before.
    pub expires_at: u64,
    /// The room's cap on each publisher's video, bit/s: the client's encoder stays under it.
    pub bitrate: u32,
}

/// The configured conference server.
pub struct Sfu {
    cfg: SfuConfig,
}

impl Sfu {
    /// `None` when no Janus is configured; an error when it is, without safe secrets.
    pub fn new(cfg: &SfuConfig) -> Result<Option<Sfu>, SfuError> {
        if cfg.janus_url.is_empty() {
            return Ok(None);
        }
        if cfg.token_secret.len() < MIN_SECRET || cfg.admin_key.len() < MIN_SECRET {
            return Err(SfuError::Config(format!(
                "the Janus token secret and admin key must each be at least {MIN_SECRET} bytes"
            )));
        }
        Ok(Some(Sfu { cfg: cfg.clone() }))
    }

    /// Janus's core token: lets its holder use the VideoRoom plugin, nothing else.
    fn core_token(&self, expiry: u64) -> String {
        self.sign(&format!("{expiry},janus,{}", videoroom::PLUGIN))
    }

    /// A token that joins one room.
    fn room_token(&self, janus_room: u64, expiry: u64) -> String {
        self.sign(&format!("{expiry},{},room={janus_room}", videoroom::PLUGIN))
    }

    /// Janus signed-token format: `<data>:<base64(HMAC-SHA1(secret, data))>`.
    fn sign(&self, data: &str) -> String {
        format!("{data}:{}", hmac_sha1_base64(&self.cfg.token_secret, data))
    }

    /// A member's way into `room` until `now + token_ttl`.
    pub fn grant(&self, room: &SfuRoom, now: u64) -> Grant {
        let expires_at = now + self.cfg.token_ttl_seconds;
        let url = if self.cfg.public_url.is_empty() {
            &self.cfg.janus_url
        } else {
            &self.cfg.public_url
        };
        Grant {
            url: url.clone(),
            janus_room: room.janus_room,
            token: self.core_token(expires_at),
            room_token: self.room_token(room.janus_room, expires_at),
            expires_at,
            bitrate: self.cfg.bitrate,
        }
    }

    /// A short-lived session of this server's own on Janus, with a VideoRoom handle.
    async fn admin(&self) -> Result<(JanusSession, JanusHandle), SfuError> {
        let cfg = JanusConfig {
            url: self.cfg.janus_url.clone(),
            token: Some(self.core_token(unix_now() + ADMIN_TOKEN_TTL)),
        };
        let (session, _events) = JanusSession::connect(&cfg).await?;
        let handle = session.attach(videoroom::PLUGIN).await?;
        Ok((session, handle))
    }

    /// Makes the Janus room of `room`'s call, for up to `members` publishers.
    pub async fn create_room(&self, room: &str, members: usize) -> Result<SfuRoom, SfuError> {
        let (session, handle) = self.admin().await?;
        let secret = format!("{:032x}", rand::random::<u128>());
        let mut last = None;
        for _ in 0..3 {
            let spec = videoroom::RoomSpec {
                room: rand::random::<u64>() % MAX_ROOM_ID + 1,
                admin_key: self.cfg.admin_key.clone(),
                secret: secret.clone(),
                publishers: u32::try_from(members).unwrap_or(u32::MAX),
                bitrate: self.cfg.bitrate,
                description: room.to_string(),
            };
            match videoroom::create_room(&handle, &spec).await {
                Ok(janus_room) => {
                    let _ = session.destroy().await;
                    return Ok(SfuRoom {
                        room: room.to_string(),
                        janus_room,
                        secret,
                        created_at: unix_now(),
                    });
                }
                Err(e @ JanusError::Plugin { code, .. })
                    if code == videoroom::ERROR_ROOM_EXISTS =>
                {
                    last = Some(e)
                }
                Err(e) => {
                    let _ = session.destroy().await;
                    return Err(e.into());
                }
            }
        }
        let _ = session.destroy().await;
        Err(last.unwrap_or(JanusError::Closed).into())
    }

    /// Destroys a call's room; one Janus no longer has counts as destroyed.
    pub async fn destroy_room(&self, room: &SfuRoom) -> Result<(), SfuError> {
        let (session, handle) = self.admin().await?;
        let r = videoroom::destroy_room(&handle, room.janus_room, &room.secret).await;
        let _ = session.destroy().await;
        match r {
            Ok(())
            | Err(JanusError::Plugin {
                code: NO_SUCH_ROOM, ..
            }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// How many are in each open room (`None`: Janus has no such room any more).
    async fn occupancy(&self, rooms: &[SfuRoom]) -> Result<Vec<Option<usize>>, SfuError> {
        let (session, handle) = self.admin().await?;
        let mut out = Vec::with_capacity(rooms.len());
        for r in rooms {
            let reply = handle
                .message(
                    json!({"request": "listparticipants", "room": r.janus_room}),
                    None,
                )
                .await;
            out.push(match reply {
                Ok(p) => Some(
                    p.data
                        .get("participants")
                        .and_then(Value::as_array)
                        .map_or(0, Vec::len),
                ),
                Err(JanusError::Plugin {
                    code: NO_SUCH_ROOM, ..
                }) => None,
                Err(e) => {
                    let _ = session.destroy().await;
                    return Err(e.into());
                }
            });
        }
        let _ = session.destroy().await;
        Ok(out)
    }
}

/// Destroys rooms nobody has been in for `empty_room_seconds`; runs until aborted.
pub fn spawn_reaper(sfu: Arc<Sfu>, store: Store) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_busy: HashMap<String, u64> = HashMap::new();
        loop {
            tokio::time::sleep(SWEEP_EVERY).await;
            if let Err(e) = sweep(&sfu, &store, &mut last_busy).await {
                tracing::warn!(error = %e, "SFU room sweep failed");
            }
        }
    })
}

/// One pass of the reaper; returns how many rooms it closed.
pub async fn sweep(
    sfu: &Sfu,
    store: &Store,
    last_busy: &mut HashMap<String, u64>,
) -> Result<usize, SfuError> {
    let rooms = store.open_sfu_rooms().await?;
    if rooms.is_empty() {
        last_busy.clear();
        return Ok(0);
    }
    let counts = sfu.occupancy(&rooms).await?;
    let now = unix_now();
    let mut closed = 0;
    last_busy.retain(|room, _| rooms.iter().any(|r| &r.room == room));
    for (r, count) in rooms.iter().zip(counts) {
        let busy_at = match count {
            Some(n) if n > 0 => {
                last_busy.insert(r.room.clone(), now);
                continue;
            }
            Some(_) => *last_busy.get(&r.room).unwrap_or(&r.created_at),
            None => 0,
        };
        if now.saturating_sub(busy_at) < sfu.cfg.empty_room_seconds {
            continue;
        }
        if count.is_some() {
            sfu.destroy_room(r).await?;
        }
        store.close_sfu_room(&r.room, now).await?;
        last_busy.remove(&r.room);
        tracing::info!(room = %r.room, janus_room = r.janus_room, "SFU room closed");
        closed += 1;
    }
    Ok(closed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sfu() -> Sfu {
        Sfu {
            cfg: SfuConfig {
                janus_url: "ws://127.0.0.1:8188".into(),
                token_secret: "s3cret".into(),
                ..Default::default()
            },
        }
    }

    #[test]
    fn tokens_follow_the_janus_signed_token_format() {
        // Reference from Python: base64(hmac.new(b"s3cret", b"1700000000,janus,janus.plugin.videoroom", sha1).digest())
        let t = sfu().core_token(1_700_000_000);
        assert_eq!(
            t,
            "1700000000,janus,janus.plugin.videoroom:W3BNk9tj8SHAcy4qUs4pii6ErGs="
        );
        let r = sfu().room_token(42, 1_700_000_000);
        assert!(
            r.starts_with("1700000000,janus.plugin.videoroom,room=42:"),
            "{r}"
        );
    }

    #[test]
    fn a_grant_expires_after_the_token_lifetime_and_names_one_room() {
        let room = SfuRoom {
            room: "call_1".into(),
            janus_room: 77,
            secret: "never sent".into(),
            created_at: 0,
        };
        let g = sfu().grant(&room, 1000);
        assert_eq!(g.expires_at, 1000 + crate::config::DEFAULT_TURN_TTL);
        assert_eq!(g.janus_room, 77);
        assert!(g.room_token.contains(",room=77:"));
        assert!(!serde_json::to_string(&g).unwrap().contains("never sent"));
    }

    #[test]
    fn short_secrets_are_refused() {
        let cfg = SfuConfig {
            janus_url: "ws://127.0.0.1:8188".into(),
            token_secret: "short".into(),
            admin_key: "x".repeat(40),
            ..Default::default()
        };
        assert!(matches!(Sfu::new(&cfg), Err(SfuError::Config(_))));
        assert!(matches!(Sfu::new(&SfuConfig::default()), Ok(None)));
    }
}
