//! Each user's contacts, bounded per owner, and whether two users spoke recently: what
//! decides who may reach whom.

use super::{Store, StoreError};
use sqlx::Row;

impl Store {
    pub async fn contacts(&self, owner: &str) -> Result<Vec<(String, String)>, StoreError> {
        let rows =
            sqlx::query("SELECT nxid, name FROM contacts WHERE owner = ? ORDER BY name, nxid")
                .bind(owner)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Adds or renames a contact; false (nothing stored) when the owner already has `cap`
    /// other contacts.
    pub async fn upsert_contact(
        &self,
        owner: &str,
        nxid: &str,
        name: &str,
        cap: i64,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "INSERT INTO contacts (owner, nxid, name) SELECT ?1, ?2, ?3
             WHERE EXISTS (SELECT 1 FROM contacts WHERE owner = ?1 AND nxid = ?2)
                OR (SELECT COUNT(*) FROM contacts WHERE owner = ?1) < ?4
             ON CONFLICT(owner, nxid) DO UPDATE SET name = excluded.name",
        )
        .bind(owner)
        .bind(nxid)
        .bind(name)
        .bind(cap)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn is_contact(&self, owner: &str, nxid: &str) -> Result<bool, StoreError> {
        Ok(
            sqlx::query_scalar::<_, i64>("SELECT 1 FROM contacts WHERE owner = ? AND nxid = ?")
                .bind(owner)
                .bind(nxid)
                .fetch_optional(&self.pool)
                .await?
                .is_some(),
        )
    }

    /// Whether `a` and `b` had a call set up in the last `seconds`.
    pub async fn had_call_with(&self, a: &str, b: &str, seconds: i64) -> Result<bool, StoreError> {
        let since =
            crate::clock::iso(time::OffsetDateTime::now_utc() - time::Duration::seconds(seconds));
        let hit: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM calls WHERE ((caller = ?1 AND callee = ?2) OR (caller = ?2 AND callee = ?1)) AND created_at >= ?3 LIMIT 1",
        )
        .bind(a)
        .bind(b)
        .bind(since)
        .fetch_optional(&self.pool)
        .await?;
        Ok(hit.is_some())
    }

    pub async fn delete_contact(&self, owner: &str, nxid: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM contacts WHERE owner = ? AND nxid = ?")
            .bind(owner)
            .bind(nxid)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() > 0)
    }
}
