//! Executes a run: its steps in order, each persisted before and after it
//! runs, so a server killed mid-run resumes at the step it was in (steps are
//! idempotent: a repeated step does not repeat its effect). Transient failures
//! are retried with backoff; a cancel is noticed between steps and inside waits.
//!
//! A run is driven under a lease in the database ([`Db::claim_run`]), on the
//! database's clock, renewed every third of its length. Each takeover gives
//! the new runner a higher fencing token, and every write of a step or of the
//! run's end carries it: a runner that lost its lease (paused, partitioned)
//! cannot write over its successor. A runner that cannot renew gives up
//! before its lease ends; one that panics fails the run (with the panic's
//! message) and lets it go; a server shutting down releases its runs so
//! another replica takes them over at once. Runners use a database pool of
//! their own, so busy requests never starve a renewal.
//!
//! [`Db::claim_run`]: crate::adapters::db::Db::claim_run

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use chrono::Utc;
use futures::FutureExt;
use mezame_shared::power::{RunState, StepState};

use super::Lifecycle;
use super::ctx::{Ctx, StepError};
use super::plan::Step;
use crate::adapters::AdapterError;
use crate::adapters::db::StepUpdate;
use crate::domain::DomainError;

/// Attempts of a step that fails transiently.
const ATTEMPTS: u32 = 3;

/// How the driving ended.
enum End {
    /// The run reached its end (or an error of its own).
    Done(Result<(RunState, Option<String>), Halt>),
    /// The runner panicked, with the panic's message.
    Panicked(String),
    /// Another runner holds the run (or the database could not be told in time).
    Lost(String),
    /// This server is shutting down: the run is released for another one.
    Shutdown,
}

/// Why driving stopped before the run's end.
#[derive(Debug, thiserror::Error)]
enum Halt {
    /// Another runner holds the run now: nothing more is written.
    #[error("{LOST}")]
    Lost,
    /// The run cannot go on (written to the run as its failure).
    #[error(transparent)]
    Failed(#[from] DomainError),
}

impl From<AdapterError> for Halt {
    fn from(e: AdapterError) -> Halt {
        Halt::Failed(e.into())
    }
}

/// The lease held on a run.
#[derive(Clone, Copy)]
struct Held<'a> {
    lc: &'a Lifecycle,
    id: i64,
    fence: i64,
}

impl Held<'_> {
    async fn write(&self, idx: u32, u: &StepUpdate) -> Result<(), Halt> {
        match self.lc.db_runner.update_step(self.id, idx, u, &self.lc.runner_id, self.fence).await? {
            true => Ok(()),
            false => Err(Halt::Lost),
        }
    }
}

const LOST: &str = "the lease on the run was lost: another runner drives it now";

/// Runs `id` to its end if this process can lease it. Errors of the run
/// itself are written to the run.
pub async fn execute(lc: &Lifecycle, id: i64) {
    let fence = match claim(lc, id).await {
        Ok(Some(f)) => f,
        Ok(None) => {
            tracing::info!(run = id, "run driven by another runner: left alone");
            return;
        }
        Err(e) => {
            tracing::warn!(run = id, error = %e, "cannot lease the run; it will be tried again");
            return;
        }
    };
    let held = Held { lc, id, fence };
    let mut shutdown = lc.shutdown.subscribe();
    let end = tokio::select! {
        r = AssertUnwindSafe(drive(held)).catch_unwind() => match r {
            Ok(done) => End::Done(done),
            Err(panic) => End::Panicked(
                panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "unknown panic".into()),
            ),
        },
        lost = keep_lease(held) => End::Lost(lost),
        _ = crate::domain::closing::until_true(&mut shutdown) => End::Shutdown,
    };
    let (state, message) = match end {
        End::Done(Ok(end)) => end,
        End::Done(Err(Halt::Lost)) => {
            tracing::error!(run = id, "lease lost: this process stops driving the run");
            return;
        }
        End::Done(Err(Halt::Failed(e))) => (RunState::Failed, Some(e.to_string())),
        End::Lost(why) => {
            tracing::error!(run = id, reason = why, "lease lost: this process stops driving the run");
            return;
        }
        End::Shutdown => {
            match lc.db_runner.release_run(id, &lc.runner_id, fence).await {
                Ok(()) => tracing::info!(run = id, "shutting down: run released for another replica"),
                Err(e) => tracing::warn!(run = id, error = %e, "shutting down: the run could not be released; its lease will expire"),
            }
            return;
        }
        End::Panicked(what) => {
            tracing::error!(run = id, panic = what, "the runner panicked");
            (RunState::Failed, Some(format!("the runner failed unexpectedly ({what}); see the server log, then retry the run")))
        }
    };
    finish(held, state, message.as_deref()).await;
}

async fn claim(lc: &Lifecycle, id: i64) -> Result<Option<i64>, crate::adapters::AdapterError> {
    lc.db_runner.claim_run(id, &lc.runner_id, lc.lease.as_millis() as i64).await
}

/// Renews the lease every third of its length; returns why it was lost. A
/// renewal that keeps failing is given up at two thirds of the lease, before
/// it can expire under a runner still at work.
async fn keep_lease(held: Held<'_>) -> String {
    let lc = held.lc;
    let mut last_renewed = tokio::time::Instant::now();
    let mut wait = lc.lease / 3;
    loop {
        tokio::time::sleep(wait).await;
        match claim(lc, held.id).await {
            Ok(Some(f)) if f == held.fence => {
                last_renewed = tokio::time::Instant::now();
                wait = lc.lease / 3;
            }
            Ok(_) => return "another runner holds it (this one was too slow to renew)".into(),
            Err(e) if last_renewed.elapsed() < lc.lease * 2 / 3 => {
                tracing::warn!(run = held.id, error = %e, "cannot renew the lease; trying again");
                wait = Duration::from_millis(500);
            }
            Err(e) => return format!("not renewed for {} s, giving up before the lease ends: {e}", last_renewed.elapsed().as_secs()),
        }
    }
}

async fn finish(held: Held<'_>, state: RunState, message: Option<&str>) {
    match held.lc.db_runner.finish_run(held.id, &held.lc.runner_id, held.fence, state, message).await {
        Ok(true) => tracing::info!(run = held.id, state = state.as_str(), message = message.unwrap_or(""), "run finished"),
        Ok(false) => tracing::warn!(run = held.id, "another runner took the run over: its end is not recorded here"),
        Err(e) => tracing::error!(run = held.id, error = %e, "cannot record the end of a run"),
    }
}

async fn drive(held: Held<'_>) -> Result<(RunState, Option<String>), Halt> {
    let (lc, id) = (held.lc, held.id);
    let db = &lc.db_runner;
    let gone = |what: String| Halt::Failed(DomainError::NotFound(what));
    let run = db.run(id).await?.ok_or_else(|| gone(format!("run {id} disappeared")))?;
    let env = lc.envs.get(&run.env).ok_or_else(|| gone(format!("environment {} is no longer configured", run.env)))?;
    let settings = lc.settings(&run.env).await?.ok_or_else(|| gone(format!("environment {} has no power settings", run.env)))?;
    let cluster = env.cluster().await.map_err(|e| DomainError::Unavailable(format!("cannot reach the cluster of {}: {e}", run.env)))?;
    let ctx = Ctx::new(env, cluster.clone(), settings, db, lc.keys.as_deref(), id);
    // Parsed once: a run naming a step this version does not know fails here, before any step.
    let plan = run
        .steps
        .iter()
        .map(|s| {
            Step::parse(&s.name)
                .map(|kind| (s, kind))
                .ok_or_else(|| DomainError::Invalid(format!("run {id} has an unknown step {:?}", s.name)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (step, kind) in plan {
        if step.state == StepState::Done {
            continue;
        }
        let title = kind.title();
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
            if db.cancel_requested(id).await? {
                update.state = StepState::Cancelled;
                update.message = Some("cancelled before this step".into());
                held.write(step.index, &update).await?;
                return Ok((RunState::Cancelled, Some(format!("cancelled before step {} ({title})", step.index + 1))));
            }
            update.attempts += 1;
            update.state = StepState::Running;
            held.write(step.index, &update).await?;
            tracing::info!(run = id, step = step.name, attempt = update.attempts, "step starts");
            let result = ctx.waited.scope(kind.run(&ctx)).await;
            update.waited_ms += ctx.waited.take().as_millis() as i64;
            match result {
                Ok(outcome) => {
                    update.state = StepState::Done;
                    update.finished = Some(Utc::now());
                    update.message = Some(outcome.message);
                    update.changed = Some(outcome.changed);
                    held.write(step.index, &update).await?;
                    break;
                }
                Err(StepError { message, retry }) if retry && update.attempts < ATTEMPTS => {
                    let backoff = Duration::from_secs(2u64.pow(update.attempts));
                    update.message = Some(format!("attempt {} failed, retrying in {} s: {message}", update.attempts, backoff.as_secs()));
                    held.write(step.index, &update).await?;
                    tokio::time::sleep(backoff).await;
                }
                Err(StepError { message, .. }) => {
                    let cancelled = db.cancel_requested(id).await.unwrap_or(false);
                    update.state = if cancelled { StepState::Cancelled } else { StepState::Failed };
                    update.finished = Some(Utc::now());
                    update.message = Some(message.clone());
                    held.write(step.index, &update).await?;
                    let state = if cancelled { RunState::Cancelled } else { RunState::Failed };
                    return Ok((
                        state,
                        Some(format!("step {} ({title}) {}: {message}", step.index + 1, if cancelled { "cancelled" } else { "failed" })),
                    ));
                }
            }
        }
    }
    Ok((RunState::Succeeded, None))
}
