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
//! - this file: [`execute`], how a drive ends (done, panicked, lease lost,
//!   shutdown) and what is written then; which [`walk::Performer`] a run's
//!   kind uses.
//! - [`walk`]: the steps of a run of any kind, in order, with retries and cancel.
//! - [`lease`]: claiming and renewing the lease; fenced writes.
//!
//! [`Db::claim_run`]: crate::adapters::db::Db::claim_run

pub mod lease;
pub mod walk;

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use mezame_shared::power::{Run, RunAction, RunState};

use super::Lifecycle;
use super::ctx::Ctx;
use crate::adapters::AdapterError;
use crate::domain::DomainError;
use crate::domain::capacity::drain::Drainer;
use crate::domain::capacity::scale_in::ScaleInPlan;
use crate::domain::envs::Environment;
use lease::Held;

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
pub enum Halt {
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

const LOST: &str = "the lease on the run was lost: another runner drives it now";

/// A transiently failed step waits `BACKOFF × 2^attempts` (2 s, then 4 s).
const BACKOFF: Duration = Duration::from_secs(1);

/// Runs `id` to its end if this process can lease it. Errors of the run
/// itself are written to the run.
pub async fn execute(lc: &Lifecycle, id: i64) {
    let fence = match lease::claim(&lc.db_runner, &lc.runner_id, id, lc.lease).await {
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
    let held = Held { db: &lc.db_runner, runner: &lc.runner_id, id, fence, backoff: BACKOFF };
    let mut shutdown = lc.shutdown.subscribe();
    let end = tokio::select! {
        r = AssertUnwindSafe(drive(lc, held)).catch_unwind() => match r {
            Ok(done) => End::Done(done),
            Err(panic) => End::Panicked(
                panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "unknown panic".into()),
            ),
        },
        lost = lease::keep(held, lc.lease) => End::Lost(lost),
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
            match held.db.release_run(id, held.runner, fence).await {
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
    if finish(held, state, message.as_deref()).await {
        match lc.run(id).await {
            Ok(run) => lc.outbox.run_ended(&run).await,
            Err(e) => tracing::warn!(run = id, error = %e, "cannot read the finished run: no notification"),
        }
    }
}

/// Records the run's end; answers whether this runner recorded it.
async fn finish(held: Held<'_>, state: RunState, message: Option<&str>) -> bool {
    match held.db.finish_run(held.id, held.runner, held.fence, state, message).await {
        Ok(true) => {
            tracing::info!(run = held.id, state = state.as_str(), message = message.unwrap_or(""), "run finished");
            true
        }
        Ok(false) => {
            tracing::warn!(run = held.id, "another runner took the run over: its end is not recorded here");
            false
        }
        Err(e) => {
            tracing::error!(run = held.id, error = %e, "cannot record the end of a run");
            false
        }
    }
}

/// Reads the run and walks it with the performer of its kind; then has the
/// environment's AWS described again (every kind of run changes it).
async fn drive(lc: &Lifecycle, held: Held<'_>) -> Result<(RunState, Option<String>), Halt> {
    let id = held.id;
    let run = held.db.run(id).await?.ok_or_else(|| gone(format!("run {id} disappeared")))?;
    let env = lc.envs.get(&run.env).ok_or_else(|| gone(format!("environment {} is no longer configured", run.env)))?;
    let walked = walk_run(lc, held, &run, env).await;
    env.aws_changed.notify_one();
    walked
}

async fn walk_run(lc: &Lifecycle, held: Held<'_>, run: &Run, env: &Environment) -> Result<(RunState, Option<String>), Halt> {
    let id = held.id;
    let cluster = env.cluster().await.map_err(|e| DomainError::Unavailable(format!("cannot reach the cluster of {}: {e}", run.env)))?;
    match run.action {
        RunAction::Sleep | RunAction::Wake => {
            let settings = lc.settings(env).await?.ok_or_else(|| gone(format!("environment {} has no power settings", run.env)))?;
            let ctx = Ctx::new(env, cluster.clone(), settings, held.db, lc.keys.as_deref(), id);
            walk::walk(held, run, &ctx).await
        }
        RunAction::Drain | RunAction::ScaleIn => {
            let (nodes, scale_in) = if run.action == RunAction::Drain {
                (vec![run.target.clone().ok_or_else(|| gone(format!("drain run {id} names no node")))?], None)
            } else {
                let params = held.db.run_params(id).await?.ok_or_else(|| gone(format!("scale-in run {id} has no plan")))?;
                let plan: ScaleInPlan =
                    serde_json::from_str(&params).map_err(|e| gone(format!("scale-in run {id}: its plan cannot be read ({e})")))?;
                (plan.node_names(), Some((env.aws(), plan)))
            };
            let drainer =
                Drainer { cluster, nodes, scale_in, db: held.db, run_id: id, timeout: lc.drain_timeout, waited: Default::default() };
            walk::walk(held, run, &drainer).await
        }
    }
}

/// The run cannot be driven: something it names is gone.
fn gone(what: String) -> Halt {
    Halt::Failed(DomainError::NotFound(what))
}

#[cfg(test)]
mod tests;
