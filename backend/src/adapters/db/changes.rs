//! Rows of what mezame wrote to the manifest repository (promotions and
//! rollbacks) and the freezes rollbacks leave.

use mezame_shared::deploys::{DeployChange, Freeze};
use sqlx::Row;

use super::Db;
use crate::adapters::AdapterError;

fn json<T: serde::de::DeserializeOwned>(column: &str, s: &str) -> Result<T, AdapterError> {
    serde_json::from_str(s).map_err(|e| AdapterError::Corrupt(format!("{column}: {e}")))
}

impl Db {
    /// Records a change mezame pushed (`merged`: it is on the deployed branch already).
    pub async fn record_change(&self, sha: &str, change: &DeployChange, merged: bool) -> Result<(), AdapterError> {
        let at = change.at.timestamp_millis();
        sqlx::query(
            "INSERT INTO deploy_changes (sha, env, ms, at_ms, change_json, merged_ms) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (sha) DO NOTHING",
        )
        .bind(sha)
        .bind(&change.env)
        .bind(&change.ms)
        .bind(at)
        .bind(serde_json::to_string(change).unwrap_or_default())
        .bind(merged.then_some(at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Changes waiting on a person's merge (all environments if `env` is none), oldest first.
    pub async fn pending_changes(&self, env: Option<&str>) -> Result<Vec<DeployChange>, AdapterError> {
        let rows = sqlx::query("SELECT change_json FROM deploy_changes WHERE merged_ms IS NULL AND ($1 = '' OR env = $1) ORDER BY at_ms")
            .bind(env.unwrap_or(""))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| json("deploy_changes.change_json", &r.get::<String, _>(0))).collect()
    }

    /// Marks a change as merged into the deployed branch.
    pub async fn change_merged(&self, sha: &str, at_ms: i64) -> Result<(), AdapterError> {
        sqlx::query("UPDATE deploy_changes SET merged_ms = $2 WHERE sha = $1").bind(sha).bind(at_ms).execute(self.pool()).await?;
        Ok(())
    }

    pub async fn freeze(&self, env: &str, ms: &str) -> Result<Option<Freeze>, AdapterError> {
        let row = sqlx::query("SELECT freeze_json FROM deploy_freezes WHERE env = $1 AND ms = $2")
            .bind(env)
            .bind(ms)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| json("deploy_freezes.freeze_json", &r.get::<String, _>(0))).transpose()
    }

    pub async fn freezes(&self, env: &str) -> Result<Vec<Freeze>, AdapterError> {
        let rows =
            sqlx::query("SELECT freeze_json FROM deploy_freezes WHERE env = $1 ORDER BY ms").bind(env).fetch_all(self.pool()).await?;
        rows.iter().map(|r| json("deploy_freezes.freeze_json", &r.get::<String, _>(0))).collect()
    }

    /// Sets (or replaces) the freeze of `ms` in `env`.
    pub async fn put_freeze(&self, f: &Freeze) -> Result<(), AdapterError> {
        sqlx::query(
            "INSERT INTO deploy_freezes (env, ms, freeze_json) VALUES ($1, $2, $3) \
             ON CONFLICT (env, ms) DO UPDATE SET freeze_json = excluded.freeze_json",
        )
        .bind(&f.env)
        .bind(&f.ms)
        .bind(serde_json::to_string(f).unwrap_or_default())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Lifts the freeze of `ms` in `env`; returns whether there was one.
    pub async fn lift_freeze(&self, env: &str, ms: &str) -> Result<bool, AdapterError> {
        let r = sqlx::query("DELETE FROM deploy_freezes WHERE env = $1 AND ms = $2").bind(env).bind(ms).execute(self.pool()).await?;
        Ok(r.rows_affected() > 0)
    }

    /// The deploys of `ms` in `env` whose manifest commit starts with `sha` (a full sha or a prefix).
    /// `sha` must be hexadecimal (it goes into a LIKE pattern).
    pub async fn deploys_at(&self, env: &str, ms: &str, sha: &str) -> Result<Vec<super::DeployRow>, AdapterError> {
        if !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(vec![]);
        }
        let sql = "SELECT sha, env, ms, seq, tag, previous_tag, files_json, at_ms FROM deploys \
                   WHERE env = $1 AND ms = $2 AND sha LIKE $3 ORDER BY seq DESC LIMIT 2";
        let rows = sqlx::query(sql).bind(env).bind(ms).bind(format!("{}%", sha.to_ascii_lowercase())).fetch_all(self.pool()).await?;
        rows.iter().map(super::deploys::deploy_row).collect()
    }
}
