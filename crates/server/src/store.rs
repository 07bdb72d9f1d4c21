//! Persistent state in one SQLite file (WAL): users, calls, history, analytics, contacts and
//! offline messages. Every query binds its values; nothing from a request is spliced into SQL.

use crate::clock::now_iso;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create data directory {0}: {1}")]
    Dir(String, std::io::Error),
}

#[derive(Debug, Clone)]
pub struct User {
    pub username: String,
    pub password_hash: Option<String>,
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub last_seen: Option<String>,
}

/// A call as registered by the caller.
#[derive(Debug, Clone)]
pub struct Call {
    pub room: String,
    pub caller: String,
    pub callee: String,
    pub call_type: String,
}

/// One history row as stored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HistoryRow {
    pub id: i64,
    pub room: String,
    pub call_type: String,
    pub status: String,
    pub duration_seconds: i64,
    pub caller: String,
    pub callee: String,
    pub direction: String,
    pub peer: String,
    pub created_at: String,
    pub metadata: serde_json::Value,
}

/// Validated history filters for one owner.
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub call_type: Option<String>,
    pub status: Option<String>,
    pub participant: Option<String>,
    pub offset: i64,
    pub limit: i64,
}

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) `simu.db` in `dir` and runs migrations.
    pub async fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Dir(dir.display().to_string(), e))?;
        let opts = SqliteConnectOptions::new()
            .filename(dir.join("simu.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(opts).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }

    pub async fn user(&self, username: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT username, password_hash, email, display_name, last_seen FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| User {
            username: r.get(0),
            password_hash: r.get(1),
            email: r.get(2),
            display_name: r.get(3),
            last_seen: r.get(4),
        }))
    }

    /// Creates a user; false if the name is taken.
    pub async fn create_user(&self, username: &str, password_hash: Option<&str>, email: Option<&str>) -> Result<bool, StoreError> {
        let r = sqlx::query("INSERT INTO users (username, password_hash, email, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(username) DO NOTHING")
            .bind(username)
            .bind(password_hash)
            .bind(email)
            .bind(now_iso())
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn set_password(&self, username: &str, password_hash: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET password_hash = ? WHERE username = ?")
            .bind(password_hash)
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn touch_last_seen(&self, username: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET last_seen = ? WHERE username = ?")
            .bind(now_iso())
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Registers a call and gives both parties a history row in state `initiated`.
    pub async fn create_call(&self, call: &Call) -> Result<bool, StoreError> {
        let now = now_iso();
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query("INSERT INTO calls (room, caller, callee, call_type, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(room) DO NOTHING")
            .bind(&call.room)
            .bind(&call.caller)
            .bind(&call.callee)
            .bind(&call.call_type)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 0 {
            return Ok(false);
        }
        for (owner, peer, direction) in [(&call.caller, &call.callee, "outgoing"), (&call.callee, &call.caller, "incoming")] {
            sqlx::query(
                "INSERT INTO call_history (owner, room, caller, callee, peer, direction, call_type, status, created_at, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, 'initiated', ?, ?) ON CONFLICT(owner, room) DO NOTHING",
            )
            .bind(owner)
            .bind(&call.room)
            .bind(&call.caller)
            .bind(&call.callee)
            .bind(peer)
            .bind(direction)
            .bind(&call.call_type)
            .bind(&now)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    pub async fn call(&self, room: &str) -> Result<Option<Call>, StoreError> {
        let row = sqlx::query("SELECT room, caller, callee, call_type FROM calls WHERE room = ?")
            .bind(room)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| Call { room: r.get(0), caller: r.get(1), callee: r.get(2), call_type: r.get(3) }))
    }

    /// Records an analytics event and updates both parties' history rows.
    pub async fn record_outcome(
        &self,
        call: &Call,
        reporter: &str,
        call_type: &str,
        status: &str,
        duration: i64,
        metadata: &serde_json::Value,
    ) -> Result<i64, StoreError> {
        let now = now_iso();
        let meta = metadata.to_string();
        let mut tx = self.pool.begin().await?;
        let id = sqlx::query(
            "INSERT INTO call_analytics (room, reporter, call_type, status, duration_seconds, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&call.room)
        .bind(reporter)
        .bind(call_type)
        .bind(status)
        .bind(duration)
        .bind(&meta)
        .bind(&now)
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        sqlx::query("UPDATE call_history SET status = ?, duration_seconds = ?, call_type = ?, metadata = ?, updated_at = ? WHERE room = ?")
            .bind(status)
            .bind(duration)
            .bind(call_type)
            .bind(&meta)
            .bind(&now)
            .bind(&call.room)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A page of one owner's history and the total count.
    pub async fn history(&self, owner: &str, f: &HistoryFilter) -> Result<(i64, Vec<HistoryRow>), StoreError> {
        const WHERE: &str = "owner = ?1
            AND (?2 IS NULL OR substr(created_at, 1, 10) >= ?2)
            AND (?3 IS NULL OR substr(created_at, 1, 10) <= ?3)
            AND (?4 IS NULL OR call_type = ?4)
            AND (?5 IS NULL OR status = ?5)
            AND (?6 IS NULL OR peer = ?6)";
        let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM call_history WHERE {WHERE}"))
            .bind(owner)
            .bind(&f.start_date)
            .bind(&f.end_date)
            .bind(&f.call_type)
            .bind(&f.status)
            .bind(&f.participant)
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(&format!(
            "SELECT id, room, call_type, status, duration_seconds, caller, callee, direction, peer, created_at, metadata
             FROM call_history WHERE {WHERE} ORDER BY created_at DESC, id DESC LIMIT ?7 OFFSET ?8"
        ))
        .bind(owner)
        .bind(&f.start_date)
        .bind(&f.end_date)
        .bind(&f.call_type)
        .bind(&f.status)
        .bind(&f.participant)
        .bind(f.limit)
        .bind(f.offset)
        .fetch_all(&self.pool)
        .await?;
        let rows = rows
            .into_iter()
            .map(|r| HistoryRow {
                id: r.get(0),
                room: r.get(1),
                call_type: r.get(2),
                status: r.get(3),
                duration_seconds: r.get(4),
                caller: r.get(5),
                callee: r.get(6),
                direction: r.get(7),
                peer: r.get(8),
                created_at: r.get(9),
                metadata: serde_json::from_str(&r.get::<String, _>(10)).unwrap_or(serde_json::Value::Null),
            })
            .collect();
        Ok((count, rows))
    }

    /// Inserts a history row with a given time (seeding, imports).
    pub async fn insert_history_at(&self, owner: &str, row: &HistoryRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO call_history (owner, room, caller, callee, peer, direction, call_type, status, duration_seconds, metadata, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(owner, room) DO NOTHING",
        )
        .bind(owner)
        .bind(&row.room)
        .bind(&row.caller)
        .bind(&row.callee)
        .bind(&row.peer)
        .bind(&row.direction)
        .bind(&row.call_type)
        .bind(&row.status)
        .bind(row.duration_seconds)
        .bind(row.metadata.to_string())
        .bind(&row.created_at)
        .bind(&row.created_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn contacts(&self, owner: &str) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT nxid, name FROM contacts WHERE owner = ? ORDER BY name, nxid")
            .bind(owner)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    pub async fn upsert_contact(&self, owner: &str, nxid: &str, name: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO contacts (owner, nxid, name) VALUES (?, ?, ?) ON CONFLICT(owner, nxid) DO UPDATE SET name = excluded.name")
            .bind(owner)
            .bind(nxid)
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_contact(&self, owner: &str, nxid: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM contacts WHERE owner = ? AND nxid = ?")
            .bind(owner)
            .bind(nxid)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    /// Stores a stanza for an offline user, dropping their oldest beyond `cap`.
    pub async fn store_offline(&self, recipient: &str, stanza: &str, cap: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO offline_messages (recipient, stanza, created_at) VALUES (?, ?, ?)")
            .bind(recipient)
            .bind(stanza)
            .bind(now_iso())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM offline_messages WHERE recipient = ?1 AND id NOT IN
             (SELECT id FROM offline_messages WHERE recipient = ?1 ORDER BY id DESC LIMIT ?2)",
        )
        .bind(recipient)
        .bind(cap)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes (and deletes) a user's offline stanzas, oldest first, with their times. One
    /// statement, so it takes the write lock at once: a SELECT-then-DELETE transaction failed
    /// with "database is locked" when many users signed in together (its lock upgrade does not
    /// wait for the busy timeout).
    pub async fn take_offline(&self, recipient: &str) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("DELETE FROM offline_messages WHERE recipient = ? RETURNING id, stanza, created_at")
            .bind(recipient)
            .fetch_all(&self.pool)
            .await?;
        let mut out: Vec<(i64, String, String)> = rows.into_iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
        out.sort_by_key(|r| r.0);
        Ok(out.into_iter().map(|(_, stanza, at)| (stanza, at)).collect())
    }
}
