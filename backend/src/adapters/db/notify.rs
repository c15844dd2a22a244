//! The notifications outbox (`notifications`): a message queued once per
//! (environment, event, target), claimed by one replica at a time, retried
//! with backoff until sent or given up.

use chrono::{DateTime, Utc};
use mezame_shared::notify::{Delivery, DeliveryState};
use sqlx::Row;

use super::Db;
use crate::adapters::AdapterError;

/// A message to queue.
#[derive(Debug, Clone)]
pub struct Queued {
    pub env: String,
    /// Unique per event: `run:42:succeeded`, `sleep-soon:<time>`.
    pub event_key: String,
    pub target: String,
    pub run_id: Option<i64>,
    pub body: String,
}

/// A message due for an attempt.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: i64,
    pub env: String,
    pub target: String,
    pub body: String,
    pub attempts: u32,
}

impl Db {
    /// Queues a message; answers whether it is new (a replica may have queued it first).
    pub async fn queue_notification(&self, q: &Queued) -> Result<bool, AdapterError> {
        let now = Utc::now().timestamp_millis();
        let done = sqlx::query(
            "INSERT INTO notifications (env, event_key, target, run_id, body, created_ms, next_ms) VALUES ($1, $2, $3, $4, $5, $6, $6) \
             ON CONFLICT (env, event_key, target) DO NOTHING",
        )
        .bind(&q.env)
        .bind(&q.event_key)
        .bind(&q.target)
        .bind(q.run_id)
        .bind(&q.body)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Messages not sent, not given up, due now (oldest first).
    pub async fn due_notifications(&self, limit: i64) -> Result<Vec<Due>, AdapterError> {
        let now = Utc::now().timestamp_millis();
        let rows = sqlx::query(
            "SELECT id, env, target, body, attempts FROM notifications \
             WHERE sent_ms IS NULL AND gave_up = 0 AND next_ms <= $1 ORDER BY id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Due {
                    id: r.try_get(0)?,
                    env: r.try_get(1)?,
                    target: r.try_get(2)?,
                    body: r.try_get(3)?,
                    attempts: r.try_get::<i32, _>(4)? as u32,
                })
            })
            .collect()
    }

    /// Takes `d` for one attempt (no other replica tries it for `hold_ms`):
    /// false when another replica took it first.
    pub async fn claim_notification(&self, d: &Due, hold_ms: i64) -> Result<bool, AdapterError> {
        let until = Utc::now().timestamp_millis() + hold_ms;
        let done = sqlx::query(
            "UPDATE notifications SET attempts = attempts + 1, next_ms = $1 WHERE id = $2 AND attempts = $3 AND sent_ms IS NULL",
        )
        .bind(until)
        .bind(d.id)
        .bind(d.attempts as i32)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn notification_sent(&self, id: i64) -> Result<(), AdapterError> {
        sqlx::query("UPDATE notifications SET sent_ms = $1, last_error = NULL WHERE id = $2")
            .bind(Utc::now().timestamp_millis())
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// An attempt failed: tried again at `retry_at`, or given up when `None`.
    pub async fn notification_failed(&self, id: i64, error: &str, retry_at: Option<DateTime<Utc>>) -> Result<(), AdapterError> {
        sqlx::query("UPDATE notifications SET last_error = $1, next_ms = $2, gave_up = $3 WHERE id = $4")
            .bind(error)
            .bind(retry_at.map_or(0, |t| t.timestamp_millis()))
            .bind(i32::from(retry_at.is_none()))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The messages about run `run_id`, in the order queued.
    pub async fn run_notifications(&self, run_id: i64) -> Result<Vec<Delivery>, AdapterError> {
        let rows = sqlx::query(
            "SELECT target, event_key, attempts, last_error, sent_ms, gave_up FROM notifications WHERE run_id = $1 ORDER BY id",
        )
        .bind(run_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let key: String = r.try_get(1)?;
                let sent: Option<i64> = r.try_get(4)?;
                let gave_up = r.try_get::<i32, _>(5)? != 0;
                Ok(Delivery {
                    target: r.try_get(0)?,
                    event: event_of(&key),
                    state: match (sent, gave_up) {
                        (Some(_), _) => DeliveryState::Sent,
                        (None, true) => DeliveryState::GaveUp,
                        (None, false) => DeliveryState::Pending,
                    },
                    attempts: r.try_get::<i32, _>(2)? as u32,
                    last_error: r.try_get(3)?,
                    sent_at: sent.and_then(DateTime::<Utc>::from_timestamp_millis),
                })
            })
            .collect()
    }
}

/// `run:42:succeeded` → `run.succeeded`; `sleep-soon:…` → `sleep.soon`.
fn event_of(key: &str) -> String {
    match key.split(':').collect::<Vec<_>>().as_slice() {
        ["run", _, outcome] => format!("run.{outcome}"),
        _ => "sleep.soon".into(),
    }
}
