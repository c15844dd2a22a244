//! Rows of the power tables: settings per environment, the restore point a
//! sleep leaves for the next wake, "keep awake until", and wake/sleep runs
//! with their steps.
//! One active run per environment is enforced by a unique partial index
//! (`power_runs_one_active`), so two requests or two replicas cannot race.

use chrono::{DateTime, Utc};
use mezame_shared::power::{PowerSettings, Run, RunAction, RunState, RunStep, StepState};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::Db;
use crate::adapters::AdapterError;

/// What a sleep changed, kept until a wake has put it back.
#[derive(Debug, Clone)]
pub struct RestorePoint {
    pub record: serde_json::Value,
    pub backup: Option<String>,
}

/// A step's new state, written as a whole.
#[derive(Debug, Clone)]
pub struct StepUpdate {
    pub state: StepState,
    pub attempts: u32,
    pub started: Option<DateTime<Utc>>,
    pub finished: Option<DateTime<Utc>>,
    pub waited_ms: i64,
    pub message: Option<String>,
    pub changed: Option<serde_json::Value>,
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(DateTime::<Utc>::from_timestamp_millis)
}

/// The statement that writes the one row of an environment in a
/// per-environment `table` (constant names only): `env` is `$1`, `columns`
/// are `$2`… in order.
fn upsert_env_row(table: &'static str, columns: &[&'static str]) -> String {
    let values: Vec<String> = (2..columns.len() + 2).map(|i| format!("${i}")).collect();
    let set: Vec<String> = columns.iter().zip(&values).map(|(c, v)| format!("{c} = {v}")).collect();
    format!(
        "INSERT INTO {table} (env, {}) VALUES ($1, {}) ON CONFLICT (env) DO UPDATE SET {}",
        columns.join(", "),
        values.join(", "),
        set.join(", ")
    )
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.kind() == sqlx::error::ErrorKind::UniqueViolation)
}

impl Db {
    pub async fn power_settings(&self, env: &str) -> Result<Option<PowerSettings>, AdapterError> {
        let row = sqlx::query("SELECT settings_json FROM power_settings WHERE env = $1").bind(env).fetch_optional(self.pool()).await?;
        row.map(|r| {
            let text: String = r.try_get(0)?;
            serde_json::from_str(&text).map_err(|e| AdapterError::Corrupt(format!("power settings of {env}: {e}")))
        })
        .transpose()
    }

    pub async fn put_power_settings(&self, env: &str, settings: &PowerSettings, actor: &str) -> Result<(), AdapterError> {
        let json = serde_json::to_string(settings).map_err(|e| AdapterError::Corrupt(e.to_string()))?;
        sqlx::query(&upsert_env_row("power_settings", &["settings_json", "updated_ms", "updated_by"]))
            .bind(env)
            .bind(json)
            .bind(now_ms())
            .bind(actor)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn delete_power_settings(&self, env: &str) -> Result<(), AdapterError> {
        self.delete_env_row("DELETE FROM power_settings WHERE env = $1", env).await
    }

    pub async fn restore_point(&self, env: &str) -> Result<Option<RestorePoint>, AdapterError> {
        let row = sqlx::query("SELECT record_json, backup FROM power_restore WHERE env = $1").bind(env).fetch_optional(self.pool()).await?;
        row.map(|r| {
            let text: String = r.try_get(0)?;
            Ok(RestorePoint {
                record: serde_json::from_str(&text).map_err(|e| AdapterError::Corrupt(format!("restore point of {env}: {e}")))?,
                backup: r.try_get(1)?,
            })
        })
        .transpose()
    }

    pub async fn put_restore_point(&self, env: &str, point: &RestorePoint) -> Result<(), AdapterError> {
        sqlx::query(&upsert_env_row("power_restore", &["record_json", "backup", "updated_ms"]))
            .bind(env)
            .bind(point.record.to_string())
            .bind(&point.backup)
            .bind(now_ms())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn clear_restore_point(&self, env: &str) -> Result<(), AdapterError> {
        self.delete_env_row("DELETE FROM power_restore WHERE env = $1", env).await
    }

    /// Removes the one row of an environment from a per-environment table
    /// (`statement`: a constant `DELETE … WHERE env = $1`).
    async fn delete_env_row(&self, statement: &'static str, env: &str) -> Result<(), AdapterError> {
        sqlx::query(statement).bind(env).execute(self.pool()).await?;
        Ok(())
    }

    /// The environment's "keep awake until", if set.
    pub async fn hold(&self, env: &str) -> Result<Option<DateTime<Utc>>, AdapterError> {
        let row = sqlx::query("SELECT until_ms FROM power_hold WHERE env = $1").bind(env).fetch_optional(self.pool()).await?;
        Ok(row.map(|r| r.try_get::<i64, _>(0)).transpose()?.and_then(DateTime::<Utc>::from_timestamp_millis))
    }

    pub async fn put_hold(&self, env: &str, until: DateTime<Utc>, actor: &str) -> Result<(), AdapterError> {
        sqlx::query(&upsert_env_row("power_hold", &["until_ms", "set_by", "set_ms"]))
            .bind(env)
            .bind(until.timestamp_millis())
            .bind(actor)
            .bind(now_ms())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn clear_hold(&self, env: &str) -> Result<(), AdapterError> {
        self.delete_env_row("DELETE FROM power_hold WHERE env = $1", env).await
    }

    /// Creates a running run with its steps (all pending), what it acts on
    /// (`target`, shown) and what it needs to resume (`params`, JSON, not
    /// shown); `Ok(Err(id))` when
    /// run `id` is already active in this environment.
    pub async fn create_run(
        &self,
        env: &str,
        action: RunAction,
        (target, params): (Option<&str>, Option<&str>),
        actor: &str,
        steps: &[&str],
    ) -> Result<Result<i64, i64>, AdapterError> {
        let mut tx = self.pool().begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO power_runs (env, action, target, params, state, actor, created_ms) \
             VALUES ($1, $2, $3, $4, 'running', $5, $6) RETURNING id",
        )
        .bind(env)
        .bind(action.as_str())
        .bind(target)
        .bind(params)
        .bind(actor)
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await;
        let id: i64 = match inserted {
            Ok(row) => row.try_get(0)?,
            Err(e) => {
                drop(tx);
                return Ok(Err(self.blocking_run(env, e).await?));
            }
        };
        for (i, name) in steps.iter().enumerate() {
            sqlx::query("INSERT INTO power_steps (run_id, idx, name, state) VALUES ($1, $2, $3, 'pending')")
                .bind(id)
                .bind(i as i32)
                .bind(*name)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Ok(id))
    }

    /// The active run that made `e` (a unique violation of
    /// `power_runs_one_active`) happen; any other error is returned as is.
    async fn blocking_run(&self, env: &str, e: sqlx::Error) -> Result<i64, AdapterError> {
        if !is_unique_violation(&e) {
            return Err(e.into());
        }
        self.active_run(env).await?.ok_or_else(|| e.into())
    }

    pub async fn active_run(&self, env: &str) -> Result<Option<i64>, AdapterError> {
        let row =
            sqlx::query("SELECT id FROM power_runs WHERE env = $1 AND state = 'running'").bind(env).fetch_optional(self.pool()).await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Running runs nobody drives: never claimed, or whose runner's lease
    /// expired (it crashed, or was killed) — by the database's clock.
    pub async fn orphaned_runs(&self) -> Result<Vec<i64>, AdapterError> {
        let rows = sqlx::query(&format!(
            "SELECT id FROM power_runs WHERE state = 'running' AND (runner IS NULL OR lease_until_ms < {}) ORDER BY id",
            self.now_sql()
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Takes, or renews, `runner`'s lease on running run `id` for `lease_ms`
    /// from now on the database's clock. Returns the fencing token the runner
    /// holds, or `None` if another runner holds an unexpired lease. A lease is
    /// only taken over once expired, and each takeover increments the fence
    /// (one atomic update: two replicas cannot both win).
    pub async fn claim_run(&self, id: i64, runner: &str, lease_ms: i64) -> Result<Option<i64>, AdapterError> {
        let now = self.now_sql();
        let row = sqlx::query(&format!(
            "UPDATE power_runs SET fence = CASE WHEN runner = $2 THEN fence ELSE fence + 1 END, runner = $2, lease_until_ms = {now} + $3 \
             WHERE id = $1 AND state = 'running' AND (runner IS NULL OR runner = $2 OR lease_until_ms < {now}) RETURNING fence"
        ))
        .bind(id)
        .bind(runner)
        .bind(lease_ms)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Gives a run back (a server shutting down): another replica may take it at once.
    pub async fn release_run(&self, id: i64, runner: &str, fence: i64) -> Result<(), AdapterError> {
        sqlx::query(
            "UPDATE power_runs SET runner = NULL, lease_until_ms = NULL WHERE id = $1 AND runner = $2 AND fence = $3 AND state = 'running'",
        )
        .bind(id)
        .bind(runner)
        .bind(fence)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn run_env(&self, id: i64) -> Result<Option<String>, AdapterError> {
        let row = sqlx::query("SELECT env FROM power_runs WHERE id = $1").bind(id).fetch_optional(self.pool()).await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// What run `id` needs to resume (JSON), as given to [`Db::create_run`].
    pub async fn run_params(&self, id: i64) -> Result<Option<String>, AdapterError> {
        let row = sqlx::query("SELECT params FROM power_runs WHERE id = $1").bind(id).fetch_optional(self.pool()).await?;
        Ok(row.map(|r| r.try_get::<Option<String>, _>(0)).transpose()?.flatten())
    }

    pub async fn run(&self, id: i64) -> Result<Option<Run>, AdapterError> {
        let row = sqlx::query("SELECT * FROM power_runs WHERE id = $1").bind(id).fetch_optional(self.pool()).await?;
        let Some(row) = row else { return Ok(None) };
        let mut run = run_from_row(&row)?;
        let steps = sqlx::query("SELECT * FROM power_steps WHERE run_id = $1 ORDER BY idx").bind(id).fetch_all(self.pool()).await?;
        run.steps = steps.iter().map(step_from_row).collect::<Result<_, _>>()?;
        run.notifications = self.run_notifications(id).await?;
        Ok(Some(run))
    }

    /// Runs of `env`, newest first, with their steps.
    pub async fn runs(&self, env: &str, limit: u32) -> Result<Vec<Run>, AdapterError> {
        let rows = sqlx::query("SELECT id FROM power_runs WHERE env = $1 ORDER BY id DESC LIMIT $2")
            .bind(env)
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            if let Some(run) = self.run(r.try_get(0)?).await? {
                out.push(run);
            }
        }
        Ok(out)
    }

    /// Writes a step, if `runner` still holds the run under `fence`; false
    /// if it lost it (then nothing is written).
    pub async fn update_step(&self, run: i64, idx: u32, u: &StepUpdate, runner: &str, fence: i64) -> Result<bool, AdapterError> {
        let done = sqlx::query(
            "UPDATE power_steps SET state = $3, attempts = $4, started_ms = $5, finished_ms = $6, waited_ms = $7, \
             message = $8, changed_json = $9 WHERE run_id = $1 AND idx = $2 \
             AND EXISTS (SELECT 1 FROM power_runs WHERE id = $1 AND state = 'running' AND runner = $10 AND fence = $11)",
        )
        .bind(run)
        .bind(idx as i32)
        .bind(u.state.as_str())
        .bind(u.attempts as i32)
        .bind(u.started.map(|t| t.timestamp_millis()))
        .bind(u.finished.map(|t| t.timestamp_millis()))
        .bind(u.waited_ms)
        .bind(&u.message)
        .bind(u.changed.as_ref().map(|v| v.to_string()))
        .bind(runner)
        .bind(fence)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Ends run `id` if `runner` still holds it under `fence`; false if another runner took it over.
    pub async fn finish_run(
        &self,
        id: i64,
        runner: &str,
        fence: i64,
        state: RunState,
        message: Option<&str>,
    ) -> Result<bool, AdapterError> {
        let done = sqlx::query(
            "UPDATE power_runs SET state = $2, finished_ms = $3, message = $4, lease_until_ms = NULL \
             WHERE id = $1 AND state = 'running' AND runner = $5 AND fence = $6",
        )
        .bind(id)
        .bind(state.as_str())
        .bind(now_ms())
        .bind(message)
        .bind(runner)
        .bind(fence)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Ends a run nobody has started driving yet (its start could not be audited).
    pub async fn abort_run(&self, id: i64, message: &str) -> Result<(), AdapterError> {
        sqlx::query(
            "UPDATE power_runs SET state = 'failed', finished_ms = $2, message = $3 WHERE id = $1 AND state = 'running' AND runner IS NULL",
        )
        .bind(id)
        .bind(now_ms())
        .bind(message)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Marks a running run for cancellation; false if it is not running.
    pub async fn request_cancel(&self, id: i64) -> Result<bool, AdapterError> {
        let done = sqlx::query("UPDATE power_runs SET cancel_requested = 1 WHERE id = $1 AND state = 'running'")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn cancel_requested(&self, id: i64) -> Result<bool, AdapterError> {
        let row = sqlx::query("SELECT cancel_requested FROM power_runs WHERE id = $1").bind(id).fetch_one(self.pool()).await?;
        Ok(row.try_get::<i32, _>(0)? != 0)
    }

    /// Makes a failed or cancelled run running again, from its first step
    /// that is not done. `Ok(Err(id))` when run `id` is active in the environment.
    pub async fn reopen_run(&self, id: i64, env: &str) -> Result<Result<(), i64>, AdapterError> {
        let mut tx = self.pool().begin().await?;
        let updated = sqlx::query(
            "UPDATE power_runs SET state = 'running', finished_ms = NULL, message = NULL, cancel_requested = 0, \
             runner = NULL, lease_until_ms = NULL WHERE id = $1 AND state IN ('failed', 'cancelled')",
        )
        .bind(id)
        .execute(&mut *tx)
        .await;
        if let Err(e) = updated {
            drop(tx);
            return Ok(Err(self.blocking_run(env, e).await?));
        }
        sqlx::query(
            "UPDATE power_steps SET state = 'pending', finished_ms = NULL WHERE run_id = $1 AND state IN ('failed', 'cancelled', 'running')",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Ok(()))
    }

    /// Durations in seconds of the last successful runs of `action` in `env`.
    pub async fn run_durations(&self, env: &str, action: RunAction, limit: u32) -> Result<Vec<f64>, AdapterError> {
        let rows = sqlx::query(
            "SELECT finished_ms - created_ms FROM power_runs WHERE env = $1 AND action = $2 AND state = 'succeeded' \
             ORDER BY id DESC LIMIT $3",
        )
        .bind(env)
        .bind(action.as_str())
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok(r.try_get::<i64, _>(0)? as f64 / 1000.0)).collect()
    }
}

fn corrupt(what: &str, value: &str) -> AdapterError {
    AdapterError::Corrupt(format!("{what} {value:?}"))
}

fn run_from_row(row: &AnyRow) -> Result<Run, AdapterError> {
    let action: String = row.try_get("action")?;
    let state: String = row.try_get("state")?;
    let created: i64 = row.try_get("created_ms")?;
    Ok(Run {
        id: row.try_get("id")?,
        env: row.try_get("env")?,
        action: RunAction::parse(&action).ok_or_else(|| corrupt("run action", &action))?,
        state: RunState::parse(&state).ok_or_else(|| corrupt("run state", &state))?,
        actor: row.try_get("actor")?,
        created_at: time(Some(created)).ok_or_else(|| corrupt("created_ms", &created.to_string()))?,
        finished_at: time(row.try_get("finished_ms")?),
        message: row.try_get("message")?,
        cancel_requested: row.try_get::<i32, _>("cancel_requested")? != 0,
        runner: row.try_get("runner")?,
        target: row.try_get("target")?,
        steps: Vec::new(),
        notifications: Vec::new(),
    })
}

fn step_from_row(row: &AnyRow) -> Result<RunStep, AdapterError> {
    let state: String = row.try_get("state")?;
    let changed: Option<String> = row.try_get("changed_json")?;
    Ok(RunStep {
        index: row.try_get::<i32, _>("idx")? as u32,
        name: row.try_get("name")?,
        title: String::new(),
        state: StepState::parse(&state).ok_or_else(|| corrupt("step state", &state))?,
        attempts: row.try_get::<i32, _>("attempts")? as u32,
        started_at: time(row.try_get("started_ms")?),
        finished_at: time(row.try_get("finished_ms")?),
        waited_ms: row.try_get("waited_ms")?,
        message: row.try_get("message")?,
        changed: changed.map(|c| serde_json::from_str(&c)).transpose().map_err(|e| AdapterError::Corrupt(format!("changed_json: {e}")))?,
    })
}
