//! Executes a run: its steps in order, each persisted before and after it
//! runs, so a server killed mid-run resumes at the step it was in (steps are
//! idempotent: a repeated step does not repeat its effect). Transient failures
//! are retried with backoff; a cancel is noticed between steps and inside waits.
//!
//! A run is driven under a lease in the database ([`Db::claim_run`]), renewed
//! every third of its length: a second replica (or a second task) that finds
//! the run leased leaves it alone, and takes it over only once the lease has
//! expired. A runner that cannot renew its lease stops driving at once.
//!
//! [`Db::claim_run`]: crate::adapters::db::Db::claim_run

use std::time::Duration;

use chrono::Utc;
use mezame_shared::power::{RunState, StepState};

use super::Lifecycle;
use super::ctx::{Ctx, StepError};
use super::plan;
use super::steps;
use crate::adapters::db::StepUpdate;

/// Attempts of a step that fails transiently.
const ATTEMPTS: u32 = 3;

/// Runs `id` to its end if this process can lease it. Errors of the run
/// itself are written to the run.
pub async fn execute(lc: &Lifecycle, id: i64) {
    match claim(lc, id).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(run = id, "run driven by another runner: left alone");
            return;
        }
        Err(e) => {
            tracing::warn!(run = id, error = %e, "cannot lease the run; it will be tried again");
            return;
        }
    }
    let ended = tokio::select! {
        ended = drive(lc, id) => ended,
        lost = keep_lease(lc, id) => {
            tracing::error!(run = id, reason = lost, "lease lost: this process stops driving the run");
            return;
        }
    };
    let (state, message) = ended.unwrap_or_else(|message| (RunState::Failed, Some(message)));
    finish(lc, id, state, message.as_deref()).await;
}

async fn claim(lc: &Lifecycle, id: i64) -> Result<bool, crate::adapters::AdapterError> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(lc.lease).unwrap_or_else(|_| chrono::Duration::seconds(30));
    lc.db.claim_run(id, &lc.runner_id, now, until).await
}

/// Renews the lease every third of its length; returns why it was lost.
async fn keep_lease(lc: &Lifecycle, id: i64) -> String {
    let mut last_renewed = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(lc.lease / 3).await;
        match claim(lc, id).await {
            Ok(true) => last_renewed = tokio::time::Instant::now(),
            Ok(false) => return "another runner holds it (this one was too slow to renew)".into(),
            // The database is unreachable: go on while the lease still holds.
            Err(e) if last_renewed.elapsed() < lc.lease => tracing::warn!(run = id, error = %e, "cannot renew the lease"),
            Err(e) => return format!("not renewed for {} s: {e}", lc.lease.as_secs()),
        }
    }
}

async fn finish(lc: &Lifecycle, id: i64, state: RunState, message: Option<&str>) {
    match lc.db.finish_run(id, &lc.runner_id, state, message).await {
        Ok(true) => tracing::info!(run = id, state = state.as_str(), message = message.unwrap_or(""), "run finished"),
        Ok(false) => tracing::warn!(run = id, "another runner took the run over: its end is not recorded here"),
        Err(e) => tracing::error!(run = id, error = %e, "cannot record the end of a run"),
    }
}

async fn drive(lc: &Lifecycle, id: i64) -> Result<(RunState, Option<String>), String> {
    let run = lc.db.run(id).await.map_err(|e| e.to_string())?.ok_or_else(|| format!("run {id} disappeared"))?;
    let env = lc.envs.get(&run.env).ok_or_else(|| format!("environment {} is no longer configured", run.env))?;
    let settings = lc
        .settings(&run.env)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("environment {} has no power settings", run.env))?;
    let cluster = env.cluster().await.map_err(|e| format!("cannot reach the cluster of {}: {e}", run.env))?;
    let ctx = Ctx::new(env, cluster.client().clone(), settings, &lc.db, lc.key.as_deref(), id);
    for step in &run.steps {
        if step.state == StepState::Done {
            continue;
        }
        let title = plan::title(run.action, &step.name);
        let mut update = StepUpdate {
            state: StepState::Running,
            attempts: step.attempts,
            started: step.started_at.or_else(|| Some(Utc::now())),
            finished: None,
            waited_ms: step.waited_ms,
            message: None,
            changed: None,
        };
        loop {
            if lc.db.cancel_requested(id).await.map_err(|e| e.to_string())? {
                update.state = StepState::Cancelled;
                update.message = Some("cancelled before this step".into());
                lc.db.update_step(id, step.index, &update).await.map_err(|e| e.to_string())?;
                return Ok((RunState::Cancelled, Some(format!("cancelled before step {} ({title})", step.index + 1))));
            }
            update.attempts += 1;
            update.state = StepState::Running;
            lc.db.update_step(id, step.index, &update).await.map_err(|e| e.to_string())?;
            tracing::info!(run = id, step = step.name, attempt = update.attempts, "step starts");
            let result = steps::run(&ctx, &step.name).await;
            update.waited_ms += ctx.take_waited().as_millis() as i64;
            match result {
                Ok(outcome) => {
                    update.state = StepState::Done;
                    update.finished = Some(Utc::now());
                    update.message = Some(outcome.message);
                    update.changed = Some(outcome.changed);
                    lc.db.update_step(id, step.index, &update).await.map_err(|e| e.to_string())?;
                    break;
                }
                Err(StepError { message, retry }) if retry && update.attempts < ATTEMPTS => {
                    let backoff = Duration::from_secs(2u64.pow(update.attempts));
                    update.message = Some(format!("attempt {} failed, retrying in {} s: {message}", update.attempts, backoff.as_secs()));
                    lc.db.update_step(id, step.index, &update).await.map_err(|e| e.to_string())?;
                    tokio::time::sleep(backoff).await;
                }
                Err(StepError { message, .. }) => {
                    let cancelled = lc.db.cancel_requested(id).await.unwrap_or(false);
                    update.state = if cancelled { StepState::Cancelled } else { StepState::Failed };
                    update.finished = Some(Utc::now());
                    update.message = Some(message.clone());
                    lc.db.update_step(id, step.index, &update).await.map_err(|e| e.to_string())?;
                    let state = if cancelled { RunState::Cancelled } else { RunState::Failed };
                    return Ok((state, Some(format!("step {} ({title}) {}: {message}", step.index + 1, if cancelled { "cancelled" } else { "failed" }))));
                }
            }
        }
    }
    Ok((RunState::Succeeded, None))
}
