//! Node interruptions as mezame noticed them (`domain/topology/interruptions.rs`),
//! kept across restarts: one row per (environment, node, kind).

use mezame_shared::capacity::Interruption;
use sqlx::Row;

use super::Db;
use crate::adapters::AdapterError;

impl Db {
    /// Records interruptions of `env`; one already recorded (by this replica or another) is kept as it was.
    pub async fn save_interruptions(&self, env: &str, list: &[Interruption]) -> Result<(), AdapterError> {
        for i in list {
            let kind = serde_json::to_value(i.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            sqlx::query(
                "INSERT INTO node_interruptions (env, node, kind, at_ms, json) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (env, node, kind) DO NOTHING",
            )
            .bind(env)
            .bind(&i.node)
            .bind(kind)
            .bind(i.at.timestamp_millis())
            .bind(serde_json::to_string(i).unwrap_or_default())
            .execute(self.pool())
            .await?;
        }
        Ok(())
    }

    /// The newest `limit` interruptions of `env`, oldest first.
    pub async fn interruptions(&self, env: &str, limit: i64) -> Result<Vec<Interruption>, AdapterError> {
        let rows = sqlx::query("SELECT json FROM node_interruptions WHERE env = $1 ORDER BY at_ms DESC LIMIT $2")
            .bind(env)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        let mut out: Vec<Interruption> = rows
            .iter()
            .map(|r| {
                serde_json::from_str(&r.get::<String, _>(0)).map_err(|e| AdapterError::Corrupt(format!("node_interruptions.json: {e}")))
            })
            .collect::<Result<_, _>>()?;
        out.reverse();
        Ok(out)
    }
}
