//! Group calls in the store: the call's members, and a history row for each of them.

use super::{Call, Store, StoreError};
use crate::clock::now_iso;

impl Store {
    /// Registers a group call: one `calls` row, every member listed, and a history row for
    /// each (the inviter's outgoing, the others' incoming). `false` if the room exists.
    pub async fn create_group_call(
        &self,
        room: &str,
        inviter: &str,
        invitees: &[String],
    ) -> Result<bool, StoreError> {
        let Some(first) = invitees.first() else {
            return Ok(false);
        };
        let now = now_iso();
        let mut tx = self.write_tx().await?;
        let r = sqlx::query("INSERT INTO calls (room, caller, callee, call_type, created_at) VALUES (?, ?, ?, 'group', ?) ON CONFLICT(room) DO NOTHING")
            .bind(room)
            .bind(inviter)
            .bind(first)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 0 {
            return Ok(false);
        }
        for member in std::iter::once(&inviter.to_string()).chain(invitees) {
            Self::add_member(&mut tx, room, inviter, first, member, &now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Lists `member` in the group call of `room` and gives them a history row.
    async fn add_member(
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        room: &str,
        caller: &str,
        callee: &str,
        member: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO call_members (room, member) VALUES (?, ?) ON CONFLICT DO NOTHING")
            .bind(room)
            .bind(member)
            .execute(&mut **tx)
            .await?;
        if nx::NxId::parse_jid(member).is_ok_and(|id| id.is_guest()) {
            // A guest has no history; its host's row names it.
            return Ok(());
        }
        let (peer, direction) = if member == caller {
            (callee, "outgoing")
        } else {
            (caller, "incoming")
        };
        sqlx::query(
            "INSERT INTO call_history (owner, room, caller, callee, peer, direction, call_type, status, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, 'group', 'initiated', ?, ?) ON CONFLICT(owner, room) DO NOTHING",
        )
        .bind(member)
        .bind(room)
        .bind(caller)
        .bind(callee)
        .bind(peer)
        .bind(direction)
        .bind(now)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Adds people invited into a call under way (a 1:1 call becomes a group call); at most
    /// `max_members` in all. Returns how many members the call has now.
    pub async fn add_group_members(
        &self,
        call: &Call,
        invitees: &[String],
        max_members: usize,
    ) -> Result<Result<usize, usize>, StoreError> {
        let now = now_iso();
        let mut tx = self.write_tx().await?;
        let mut members: Vec<String> =
            sqlx::query_scalar("SELECT member FROM call_members WHERE room = ?")
                .bind(&call.room)
                .fetch_all(&mut *tx)
                .await?;
        for m in [&call.caller, &call.callee] {
            if !members.contains(m) {
                members.push(m.clone());
            }
        }
        let new: Vec<&String> = invitees.iter().filter(|i| !members.contains(i)).collect();
        if members.len() + new.len() > max_members {
            return Ok(Err(max_members));
        }
        for m in members.iter().chain(new.iter().copied()) {
            Self::add_member(&mut tx, &call.room, &call.caller, &call.callee, m, &now).await?;
        }
        tx.commit().await?;
        Ok(Ok(members.len() + new.len()))
    }

    /// Everyone listed in the group call of `room` (empty for a 1:1 call).
    pub async fn members(&self, room: &str) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT member FROM call_members WHERE room = ? ORDER BY rowid")
                .bind(room)
                .fetch_all(&self.pool)
                .await?,
        )
    }
}
