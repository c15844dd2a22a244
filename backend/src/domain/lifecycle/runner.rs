//! Executes a run: its steps in order, each persisted before and after it
//! runs, so a server killed mid-run resumes at the step it was in (steps are
//! idempotent: a repeated step does not repeat its effect). Transient failures
//! are retried with backoff; a cancel is noticed between steps and inside waits.

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

/// Runs `id` to its end. Errors of the run itself are written to the run.
pub async fn execute(lc: &Lifecycle, id: i64) {
    match drive(lc, id).await {
        Ok((state, message)) => finish(lc, id, state, message.as_deref()).await,
        Err(message) => finish(lc, id, RunState::Failed, Some(&message)).await,
    }
}

async fn finish(lc: &Lifecycle, id: i64, state: RunState, message: Option<&str>) {
    if let Err(e) = lc.db.finish_run(id, state, message).await {
        tracing::error!(run = id, error = %e, "cannot record the end of a run");
    }
    tracing::info!(run = id, state = state.as_str(), message = message.unwrap_or(""), "run finished");
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
