//! Persistent state in one SQLite file (WAL): users, calls, history, analytics, contacts and
//! offline messages, SFU rooms. Every query binds its values; nothing from a request is spliced
//! into SQL.

mod contacts;
mod group_calls;
mod links;
mod sfu_rooms;
pub use links::{Guest, LinkKind, StoredLink};
pub use sfu_rooms::SfuRoom;

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
    /// Everyone in a group call (empty for a 1:1 call).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<String>,
    /// The name a guest let in by a call link typed, when the other party is one (Simu
    /// extension; a guest has no account to name it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer_name: Option<String>,
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

/// One analytics report as the store needs it.
pub struct OutcomeReport<'a> {
    pub reporter: &'a str,
    pub call_type: &'a str,
    pub status: &'a str,
    pub duration: i64,
    pub metadata: &'a serde_json::Value,
    /// The client's idempotency key: a retry with the same key records nothing new.
    pub record_key: Option<&'a str>,
}

/// Bounds on what one party may record for one call.
pub struct OutcomeLimits {
    pub per_call: i64,
    /// Seconds after set-up during which history rows may still change.
    pub edit_window: i64,
}

/// What recording an outcome did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    New(i64),
    /// Seen before (same idempotency key): the first record's id.
    Duplicate(i64),
    /// The reporter already sent as many records for this call as allowed.
    TooMany,
}

const FINAL_RANK: u8 = 3;

/// Order of outcomes: a row only moves to a higher rank; final outcomes share the top rank.
fn outcome_rank(status: &str) -> u8 {
    match status {
        "initiated" => 0,
        "calling" => 1,
        "answered" => 2,
        _ => FINAL_RANK,
    }
}

/// What the other party's row says when only one side reported `status`.
fn derived_outcome(status: &str, other_is_callee: bool) -> Option<&'static str> {
    match status {
        "ended" => Some("ended"),
        "declined" => Some("declined"),
        "failed" => Some("failed"),
        "missed" | "cancelled" if other_is_callee => Some("missed"),
        "missed" => Some("missed"),
        "cancelled" => Some("cancelled"),
        _ => None,
    }
}

/// What spending a refresh token found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshUse {
    /// First use: a new token may be issued.
    Fresh,
    /// Used before: the family is revoked now.
    Reused,
    /// Not known (expired, revoked, or never issued here).
    Unknown,
}

/// Creates `path` empty with mode 0600 if it does not exist, else makes it 0600.
fn private_file(path: &Path) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    opts.open(path)?;
    crate::secrets::set_mode(path, 0o600)
}

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) `simu.db` in `dir` and runs migrations. The directory is
    /// made 0700 and the database 0600 before SQLite opens it (its WAL and shared-memory files
    /// take the database's mode): it holds password hashes and offline messages.
    /// `synchronous=FULL`: a commit is on disk before the client hears 201.
    pub async fn open(dir: &Path) -> Result<Self, StoreError> {
        let dir_err = |e| StoreError::Dir(dir.display().to_string(), e);
        crate::secrets::private_dir(dir).map_err(dir_err)?;
        let db = dir.join("simu.db");
        private_file(&db).map_err(dir_err)?;
        for extra in ["simu.db-wal", "simu.db-shm"] {
            let p = dir.join(extra);
            if p.exists() {
                crate::secrets::set_mode(&p, 0o600).map_err(dir_err)?;
            }
        }
        let opts = SqliteConnectOptions::new()
            .filename(&db)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }

    /// A transaction that holds SQLite's write lock from its first statement. A deferred one
    /// (plain `BEGIN`) that reads and then writes fails at once with "database is locked" when
    /// another connection wrote in between (WAL cannot upgrade a stale read snapshot, and the
    /// busy timeout does not apply); `BEGIN IMMEDIATE` waits for the lock instead.
    async fn write_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// The user's current token version (`None`: no such user).
    pub async fn token_version(&self, username: &str) -> Result<Option<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT token_version FROM users WHERE username = ?")
                .bind(username)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Revokes every token issued to the user so far (sign-out everywhere, password change).
    pub async fn revoke_tokens(&self, username: &str) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        let v: i64 = sqlx::query_scalar("UPDATE users SET token_version = token_version + 1 WHERE username = ? RETURNING token_version")
            .bind(username)
            .fetch_optional(&mut *tx)
            .await?
            .unwrap_or(0);
        sqlx::query("DELETE FROM refresh_tokens WHERE username = ?")
            .bind(username)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(v)
    }

    /// Remembers an issued refresh token (and forgets expired ones).
    pub async fn save_refresh(
        &self,
        jti: &str,
        username: &str,
        family: &str,
        kind: &str,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        let now = i64::try_from(crate::clock::unix_now()).unwrap_or(i64::MAX);
        sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < ?")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query("INSERT INTO refresh_tokens (jti, username, family, kind, expires_at) VALUES (?, ?, ?, ?, ?)")
            .bind(jti)
            .bind(username)
            .bind(family)
            .bind(kind)
            .bind(i64::try_from(expires_at).unwrap_or(i64::MAX))
            .execute(&self.pool)
            .await?;
        // A user keeps at most this many live refresh tokens (oldest sign-ins go first).
        sqlx::query(
            "DELETE FROM refresh_tokens WHERE username = ?1 AND rowid NOT IN
             (SELECT rowid FROM refresh_tokens WHERE username = ?1 ORDER BY rowid DESC LIMIT 200)",
        )
        .bind(username)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Spends a refresh token. A token used before (a stolen copy, or the legitimate one after
    /// a thief's use) revokes its whole family, so both parties must sign in again.
    pub async fn spend_refresh(&self, jti: &str) -> Result<RefreshUse, StoreError> {
        let mut tx = self.write_tx().await?;
        let fresh: Option<String> = sqlx::query_scalar(
            "UPDATE refresh_tokens SET used = 1 WHERE jti = ? AND used = 0 RETURNING family",
        )
        .bind(jti)
        .fetch_optional(&mut *tx)
        .await?;
        if fresh.is_some() {
            tx.commit().await?;
            return Ok(RefreshUse::Fresh);
        }
        let family: Option<String> =
            sqlx::query_scalar("SELECT family FROM refresh_tokens WHERE jti = ?")
                .bind(jti)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(family) = family else {
            return Ok(RefreshUse::Unknown);
        };
        sqlx::query("DELETE FROM refresh_tokens WHERE family = ?")
            .bind(&family)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(RefreshUse::Reused)
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
    pub async fn create_user(
        &self,
        username: &str,
        password_hash: Option<&str>,
        email: Option<&str>,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query("INSERT INTO users (username, password_hash, email, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(username) DO NOTHING")
            .bind(username)
            .bind(password_hash)
            .bind(email)
            .bind(now_iso())
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn set_password(
        &self,
        username: &str,
        password_hash: &str,
    ) -> Result<(), StoreError> {
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
        let mut tx = self.write_tx().await?;
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
        for (owner, peer, direction) in [
            (&call.caller, &call.callee, "outgoing"),
            (&call.callee, &call.caller, "incoming"),
        ] {
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
        Ok(row.map(|r| Call {
            room: r.get(0),
            caller: r.get(1),
            callee: r.get(2),
            call_type: r.get(3),
        }))
    }

    /// Records an analytics event from `reporter` and moves the reporter's own history row
    /// forward (never back: a final outcome is final). The other party's row, while it has no
    /// outcome of its own, gets one derived from this report (a callee who never answered an
    /// abandoned call sees `missed`); their own report replaces it. Rows stop changing
    /// `edit_window` seconds after the call was set up.
    pub async fn record_outcome(
        &self,
        call: &Call,
        r: &OutcomeReport<'_>,
        limits: &OutcomeLimits,
    ) -> Result<Recorded, StoreError> {
        let now = now_iso();
        let meta = r.metadata.to_string();
        // The first statement writes, so the transaction takes the write lock at once (waiting
        // out the busy timeout); a read first would fail to upgrade with "database is locked"
        // when both parties report together.
        let mut tx = self.write_tx().await?;
        let inserted = sqlx::query(
            "INSERT INTO call_analytics (room, reporter, call_type, status, duration_seconds, metadata, created_at, record_key)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(&call.room)
        .bind(r.reporter)
        .bind(r.call_type)
        .bind(r.status)
        .bind(r.duration)
        .bind(&meta)
        .bind(&now)
        .bind(r.record_key)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 0 {
            let id: i64 = sqlx::query_scalar(
                "SELECT id FROM call_analytics WHERE reporter = ? AND record_key = ?",
            )
            .bind(r.reporter)
            .bind(r.record_key)
            .fetch_one(&mut *tx)
            .await?;
            return Ok(Recorded::Duplicate(id));
        }
        let id = inserted.last_insert_rowid();
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM call_analytics WHERE room = ? AND reporter = ?",
        )
        .bind(&call.room)
        .bind(r.reporter)
        .fetch_one(&mut *tx)
        .await?;
        if n > limits.per_call {
            // Dropping the transaction rolls the insert back.
            return Ok(Recorded::TooMany);
        }
        let created: Option<String> =
            sqlx::query_scalar("SELECT created_at FROM calls WHERE room = ?")
                .bind(&call.room)
                .fetch_optional(&mut *tx)
                .await?;
        let open = created
            .and_then(|c| {
                time::OffsetDateTime::parse(&c, &time::format_description::well_known::Rfc3339).ok()
            })
            .is_some_and(|c| {
                (time::OffsetDateTime::now_utc() - c).whole_seconds() <= limits.edit_window
            });
        if open {
            let mine: Option<(String, i64)> = sqlx::query_as(
                "SELECT status, derived FROM call_history WHERE owner = ? AND room = ?",
            )
            .bind(r.reporter)
            .bind(&call.room)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((current, derived)) = mine {
                if derived == 1 || outcome_rank(r.status) > outcome_rank(&current) {
                    // A group call's rows say `group` whatever media the reporter used.
                    sqlx::query(
                        "UPDATE call_history SET status = ?, duration_seconds = ?, call_type = CASE call_type WHEN 'group' THEN 'group' ELSE ? END, metadata = ?, updated_at = ?, derived = 0 WHERE owner = ? AND room = ?",
                    )
                    .bind(r.status)
                    .bind(r.duration)
                    .bind(r.call_type)
                    .bind(&meta)
                    .bind(&now)
                    .bind(r.reporter)
                    .bind(&call.room)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            let other = if r.reporter == call.caller {
                &call.callee
            } else {
                &call.caller
            };
            let other_is_callee = other == &call.callee;
            // In a group call each member's outcome is its own: nobody's is derived.
            let group: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM call_members WHERE room = ?")
                .bind(&call.room)
                .fetch_one(&mut *tx)
                .await?;
            let derived = derived_outcome(r.status, other_is_callee).filter(|_| group == 0);
            if let Some(derived) = derived {
                let theirs: Option<(String, i64)> = sqlx::query_as(
                    "SELECT status, derived FROM call_history WHERE owner = ? AND room = ?",
                )
                .bind(other)
                .bind(&call.room)
                .fetch_optional(&mut *tx)
                .await?;
                if theirs.is_some_and(|(st, d)| d == 1 || outcome_rank(&st) < FINAL_RANK) {
                    sqlx::query(
                        "UPDATE call_history SET status = ?, duration_seconds = ?, call_type = ?, updated_at = ?, derived = 1 WHERE owner = ? AND room = ?",
                    )
                    .bind(derived)
                    .bind(r.duration)
                    .bind(r.call_type)
                    .bind(&now)
                    .bind(other)
                    .bind(&call.room)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(Recorded::New(id))
    }

    /// The idempotency keys of every analytics record a reporter sent, one per row.
    pub async fn analytics_keys(&self, reporter: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT record_key FROM call_analytics WHERE reporter = ? AND record_key IS NOT NULL ORDER BY id")
            .bind(reporter)
            .fetch_all(&self.pool)
            .await?)
    }

    /// A page of one owner's history and the total count.
    pub async fn history(
        &self,
        owner: &str,
        f: &HistoryFilter,
    ) -> Result<(i64, Vec<HistoryRow>), StoreError> {
        const WHERE: &str = "owner = ?1
            AND (?2 IS NULL OR substr(created_at, 1, 10) >= ?2)
            AND (?3 IS NULL OR substr(created_at, 1, 10) <= ?3)
            AND (?4 IS NULL OR call_type = ?4)
            AND (?5 IS NULL OR status = ?5)
            AND (?6 IS NULL OR peer = ?6
                 OR EXISTS (SELECT 1 FROM call_members m WHERE m.room = call_history.room AND m.member = ?6))";
        let count: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM call_history WHERE {WHERE}"))
                .bind(owner)
                .bind(&f.start_date)
                .bind(&f.end_date)
                .bind(&f.call_type)
                .bind(&f.status)
                .bind(&f.participant)
                .fetch_one(&self.pool)
                .await?;
        let rows = sqlx::query(&format!(
            "SELECT id, room, call_type, status, duration_seconds, caller, callee, direction, peer, created_at, metadata,
                    (SELECT group_concat(member, ' ') FROM call_members m WHERE m.room = call_history.room),
                    (SELECT name FROM guests g WHERE g.jid = call_history.peer)
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
                metadata: serde_json::from_str(&r.get::<String, _>(10))
                    .unwrap_or(serde_json::Value::Null),
                participants: r
                    .get::<Option<String>, _>(11)
                    .map(|m| m.split(' ').map(str::to_string).collect())
                    .unwrap_or_default(),
                peer_name: r.get(12),
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

    /// Stores a stanza for an offline user. One sender keeps at most `per_sender` of them
    /// (their own oldest go first), so nobody can fill another's queue with junk and push real
    /// messages out; the whole queue keeps at most `cap`.
    pub async fn store_offline(
        &self,
        recipient: &str,
        sender: &str,
        stanza: &str,
        cap: i64,
        per_sender: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("INSERT INTO offline_messages (recipient, sender, stanza, created_at) VALUES (?, ?, ?, ?)")
            .bind(recipient)
            .bind(sender)
            .bind(stanza)
            .bind(now_iso())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM offline_messages WHERE recipient = ?1 AND sender = ?2 AND id NOT IN
             (SELECT id FROM offline_messages WHERE recipient = ?1 AND sender = ?2 ORDER BY id DESC LIMIT ?3)",
        )
        .bind(recipient)
        .bind(sender)
        .bind(per_sender)
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

    /// Up to `n` of a user's offline stanzas, oldest first: `(id, stanza, created_at)`.
    pub async fn peek_offline(
        &self,
        recipient: &str,
        n: i64,
    ) -> Result<Vec<(i64, String, String)>, StoreError> {
        let rows = sqlx::query("SELECT id, stanza, created_at FROM offline_messages WHERE recipient = ? ORDER BY id LIMIT ?")
            .bind(recipient)
            .bind(n)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect())
    }

    /// Deletes offline stanzas by id (once delivered).
    pub async fn delete_offline(&self, ids: &[i64]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let list = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
        sqlx::query("DELETE FROM offline_messages WHERE id IN (SELECT value FROM json_each(?))")
            .bind(list)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
