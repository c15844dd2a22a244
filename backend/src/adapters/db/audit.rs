//! Rows of the `audit_log` table.

use chrono::{DateTime, Utc};
use mezame_shared::audit::{AuditEntry, AuditOutcome};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::Db;
use crate::adapters::AdapterError;

/// An action to record.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    pub actor: String,
    pub action: String,
    pub env: Option<String>,
    pub target: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub outcome: AuditOutcome,
    pub message: Option<String>,
}

/// Which entries to read: newest first, optionally of one environment,
/// older than `before` (an id), at most `limit`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub env: Option<String>,
    pub before: Option<i64>,
    pub limit: u32,
    /// What the reader may see; `None`: everything.
    pub scope: Option<AuditScope>,
}

/// Entries of these environments, and entries of no environment (tokens,
/// sessions) that `actor` made.
#[derive(Debug, Clone, Default)]
pub struct AuditScope {
    pub envs: Vec<String>,
    pub actor: String,
}

impl Db {
    /// Appends an entry, stamped with the current time; returns its id.
    pub async fn record_audit(&self, entry: &NewAuditEntry) -> Result<i64, AdapterError> {
        let row = sqlx::query(
            "INSERT INTO audit_log (at_ms, actor, action, env, target, before_json, after_json, outcome, message) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(Utc::now().timestamp_millis())
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.env)
        .bind(&entry.target)
        .bind(entry.before.as_ref().map(|v| v.to_string()))
        .bind(entry.after.as_ref().map(|v| v.to_string()))
        .bind(entry.outcome.as_str())
        .bind(&entry.message)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get::<i64, _>(0)?)
    }

    /// Reads entries, newest first.
    pub async fn list_audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, AdapterError> {
        let scope = match &filter.scope {
            None => String::new(),
            Some(s) => {
                let envs: Vec<String> = (0..s.envs.len()).map(|i| format!("${}", i + 5)).collect();
                let in_envs = if envs.is_empty() { String::new() } else { format!("env IN ({}) OR ", envs.join(", ")) };
                format!(" AND ({in_envs}(env IS NULL AND actor = $4))")
            }
        };
        let sql = format!(
            "SELECT id, at_ms, actor, action, env, target, before_json, after_json, outcome, message \
             FROM audit_log \
             WHERE ($1 IS NULL OR env = $1) AND ($2 IS NULL OR id < $2){scope} \
             ORDER BY id DESC LIMIT $3"
        );
        let mut query = sqlx::query(&sql).bind(&filter.env).bind(filter.before).bind(i64::from(filter.limit));
        if let Some(s) = &filter.scope {
            query = query.bind(&s.actor);
            for env in &s.envs {
                query = query.bind(env);
            }
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(audit_from_row).collect()
    }
}

fn audit_from_row(row: &AnyRow) -> Result<AuditEntry, AdapterError> {
    let at_ms: i64 = row.try_get("at_ms")?;
    let json = |col: &str| -> Result<Option<serde_json::Value>, AdapterError> {
        let text: Option<String> = row.try_get(col)?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| AdapterError::Corrupt(format!("{col}: {e}")))).transpose()
    };
    let outcome: String = row.try_get("outcome")?;
    Ok(AuditEntry {
        id: row.try_get("id")?,
        at: DateTime::<Utc>::from_timestamp_millis(at_ms).ok_or_else(|| AdapterError::Corrupt(format!("at_ms {at_ms}")))?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        env: row.try_get("env")?,
        target: row.try_get("target")?,
        before: json("before_json")?,
        after: json("after_json")?,
        outcome: AuditOutcome::parse(&outcome).ok_or_else(|| AdapterError::Corrupt(format!("outcome {outcome:?}")))?,
        message: row.try_get("message")?,
    })
}
