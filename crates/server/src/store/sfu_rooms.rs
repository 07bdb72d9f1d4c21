//! The Janus rooms of SFU group calls: which call has which room, and which are still open.

use super::{Store, StoreError};
use sqlx::Row;

/// A call's room on Janus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfuRoom {
    /// The NX room (the call).
    pub room: String,
    pub janus_room: u64,
    /// Janus's room secret (needed to destroy it); never sent to clients.
    pub secret: String,
    /// Unix seconds.
    pub created_at: u64,
}

impl Store {
    /// Records `r` unless the call has a Janus room already (another member's invitation moved
    /// it first); false then.
    pub async fn add_sfu_room_if_none(&self, r: &SfuRoom) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT OR IGNORE INTO sfu_rooms (room, janus_room, secret, created_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(&r.room)
        .bind(to_i64(r.janus_room))
        .bind(&r.secret)
        .bind(to_i64(r.created_at))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The open Janus room of `room`'s call, if it is carried by the SFU.
    pub async fn sfu_room(&self, room: &str) -> Result<Option<SfuRoom>, StoreError> {
        let row = sqlx::query(
            "SELECT room, janus_room, secret, created_at FROM sfu_rooms WHERE room = ? AND closed_at IS NULL",
        )
        .bind(room)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| sfu_row(&r)))
    }

    /// Every Janus room not yet destroyed, oldest first.
    pub async fn open_sfu_rooms(&self) -> Result<Vec<SfuRoom>, StoreError> {
        let rows = sqlx::query(
            "SELECT room, janus_room, secret, created_at FROM sfu_rooms WHERE closed_at IS NULL ORDER BY created_at",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(sfu_row).collect())
    }

    /// Marks `room`'s Janus room destroyed.
    pub async fn close_sfu_room(&self, room: &str, at: u64) -> Result<(), StoreError> {
        sqlx::query("UPDATE sfu_rooms SET closed_at = ? WHERE room = ?")
            .bind(to_i64(at))
            .bind(room)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

pub(super) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn sfu_row(r: &sqlx::sqlite::SqliteRow) -> SfuRoom {
    SfuRoom {
        room: r.get("room"),
        janus_room: u64::try_from(r.get::<i64, _>("janus_room")).unwrap_or(0),
        secret: r.get("secret"),
        created_at: u64::try_from(r.get::<i64, _>("created_at")).unwrap_or(0),
    }
}
