//! Call links and the guests they let in: what `server::links` signed, so a link can be listed,
//! revoked and checked, and which call each guest may signal.

use super::sfu_rooms::to_i64;
use super::{Store, StoreError};
use sqlx::Row;

/// What a link lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// The seed's per-call link: whoever opens it rings its owner.
    Call,
    /// A reusable room link: whoever opens it knocks and the owner admits or denies.
    Room,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Call => "call",
            LinkKind::Room => "room",
        }
    }

    fn parse(s: &str) -> Self {
        if s == "room" {
            LinkKind::Room
        } else {
            LinkKind::Call
        }
    }
}

/// A link as recorded when it was signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLink {
    pub room: String,
    /// Bare JID of whoever made it.
    pub owner: String,
    pub kind: LinkKind,
    pub call_type: String,
    /// The per-call link's `to`; the owner for a room link.
    pub invitee: String,
    /// Unix seconds.
    pub created_at: u64,
    pub expires_at: u64,
    pub revoked: bool,
}

/// A guest identity handed out by a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guest {
    /// Bare JID (`guest-…@domain`).
    pub jid: String,
    /// The name the guest typed.
    pub name: String,
    /// The link (its room) that let the guest in.
    pub link: String,
    /// The guest's own call.
    pub room: String,
    /// The only user this guest may signal (the link's owner).
    pub host: String,
    pub expires_at: u64,
    pub ended: bool,
}

impl Store {
    /// Records a signed link unless its room is another user's link already (false then); the
    /// same owner signing the same room again refreshes type, invitee and expiry.
    pub async fn save_link(&self, l: &StoredLink) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO call_links (room, owner, kind, call_type, invitee, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT(room) DO UPDATE SET call_type = excluded.call_type, invitee = excluded.invitee, \
             expires_at = excluded.expires_at \
             WHERE call_links.owner = excluded.owner AND call_links.kind = excluded.kind \
             AND call_links.revoked_at IS NULL",
        )
        .bind(&l.room)
        .bind(&l.owner)
        .bind(l.kind.as_str())
        .bind(&l.call_type)
        .bind(&l.invitee)
        .bind(to_i64(l.created_at))
        .bind(to_i64(l.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The link of `room`, revoked or not.
    pub async fn link(&self, room: &str) -> Result<Option<StoredLink>, StoreError> {
        let row = sqlx::query("SELECT * FROM call_links WHERE room = ?")
            .bind(room)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| link_row(&r)))
    }

    /// `owner`'s links still usable at `now`, newest first.
    pub async fn live_links(&self, owner: &str, now: u64) -> Result<Vec<StoredLink>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM call_links WHERE owner = ? AND expires_at >= ? AND revoked_at IS NULL \
             ORDER BY created_at DESC, room",
        )
        .bind(owner)
        .bind(to_i64(now))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(link_row).collect())
    }

    /// Revokes `owner`'s link of `room`; false if there is no such live link.
    pub async fn revoke_link(&self, owner: &str, room: &str, now: u64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE call_links SET revoked_at = ? WHERE room = ? AND owner = ? AND revoked_at IS NULL",
        )
        .bind(to_i64(now))
        .bind(room)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a guest.
    pub async fn add_guest(&self, g: &Guest, now: u64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO guests (jid, name, link, room, host, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&g.jid)
        .bind(&g.name)
        .bind(&g.link)
        .bind(&g.room)
        .bind(&g.host)
        .bind(to_i64(now))
        .bind(to_i64(g.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn guest(&self, jid: &str) -> Result<Option<Guest>, StoreError> {
        let row = sqlx::query(
            "SELECT jid, name, link, room, host, expires_at, ended_at FROM guests WHERE jid = ?",
        )
        .bind(jid)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| Guest {
            jid: r.get("jid"),
            name: r.get("name"),
            link: r.get("link"),
            room: r.get("room"),
            host: r.get("host"),
            expires_at: from_i64(r.get("expires_at")),
            ended: r.get::<Option<i64>, _>("ended_at").is_some(),
        }))
    }

    /// Ends a guest's pass (its call is over); true if it was live.
    pub async fn end_guest(&self, jid: &str, now: u64) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE guests SET ended_at = ? WHERE jid = ? AND ended_at IS NULL")
            .bind(to_i64(now))
            .bind(jid)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Moves a live guest's pass to the call `room` it was admitted into: its scope follows.
    pub async fn move_guest(&self, jid: &str, room: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE guests SET room = ? WHERE jid = ? AND ended_at IS NULL")
            .bind(room)
            .bind(jid)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Ends every live guest let in by `link` (it was revoked); their JIDs.
    pub async fn end_guests_of_link(
        &self,
        link: &str,
        now: u64,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "UPDATE guests SET ended_at = ? WHERE link = ? AND ended_at IS NULL RETURNING jid",
        )
        .bind(to_i64(now))
        .bind(link)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

fn from_i64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn link_row(r: &sqlx::sqlite::SqliteRow) -> StoredLink {
    StoredLink {
        room: r.get("room"),
        owner: r.get("owner"),
        kind: LinkKind::parse(r.get::<&str, _>("kind")),
        call_type: r.get("call_type"),
        invitee: r.get("invitee"),
        created_at: from_i64(r.get("created_at")),
        expires_at: from_i64(r.get("expires_at")),
        revoked: r.get::<Option<i64>, _>("revoked_at").is_some(),
    }
}
