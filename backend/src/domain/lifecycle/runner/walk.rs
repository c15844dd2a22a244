//! The steps of a run of any kind, in order: each persisted before and after
//! it runs, a transient failure retried with backoff, a cancel noticed
//! between steps. A kind of run plugs in by implementing [`Performer`].

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use mezame_shared::power::{Run, RunState, StepState};

use super::Halt;
use super::lease::Held;
use crate::adapters::db::StepUpdate;
use crate::domain::DomainError;
use crate::domain::lifecycle::ctx::{Outcome, StepResult};

/// Attempts of a step that fails transiently.
pub const ATTEMPTS: u32 = 3;

/// What performs the steps of one kind of run (a sleep or a wake today; a
/// node drain or a promotion tomorrow): its context, made once per drive.
pub trait Performer: Sync {
    /// A step of this kind, parsed from the name a run stores.
    type Step: Copy + Send + Sync;

    fn parse(name: &str) -> Option<Self::Step>;

    /// What the step does, for people (in messages).
    fn title(step: Self::Step) -> &'static str;

    /// Does one step (idempotent: a step repeated after a crash does not
    /// repeat its effect).
    fn perform(&self, step: Self::Step) -> impl Future<Output = Performed> + Send;
}

/// A step's result and the time it waited on the cluster and AWS.
pub struct Performed {
    pub result: StepResult<Outcome>,
    pub waited: Duration,
}

/// Walks the steps of `run` not yet done with `by`; the run's end state and
/// message. A run naming a step this version does not know fails before any step.
pub async fn walk<P: Performer>(held: Held<'_>, run: &Run, by: &P) -> Result<(RunState, Option<String>), Halt> {
    let (db, id) = (held.db, held.id);
    let plan = run
        .steps
        .iter()
        .map(|s| {
            P::parse(&s.name)
                .map(|kind| (s, kind))
                .ok_or_else(|| DomainError::Invalid(format!("run {id} has an unknown step {:?}", s.name)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (step, kind) in plan {
        if step.state == StepState::Done {
            continue;
        }
        let title = P::title(kind);
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
            let Performed { result, waited } = by.perform(kind).await;
            update.waited_ms += waited.as_millis() as i64;
            match result {
                Ok(outcome) => {
                    update.state = StepState::Done;
                    update.finished = Some(Utc::now());
                    update.message = Some(outcome.message);
                    update.changed = Some(outcome.changed);
                    held.write(step.index, &update).await?;
                    break;
                }
                Err(e) if e.retry && update.attempts < ATTEMPTS => {
                    let backoff = held.backoff * 2u32.pow(update.attempts);
                    update.message =
                        Some(format!("attempt {} failed, retrying in {:.1} s: {}", update.attempts, backoff.as_secs_f64(), e.message));
                    held.write(step.index, &update).await?;
                    tokio::time::sleep(backoff).await;
                }
                Err(e) => {
                    let cancelled = db.cancel_requested(id).await.unwrap_or(false);
                    update.state = if cancelled { StepState::Cancelled } else { StepState::Failed };
                    update.finished = Some(Utc::now());
                    update.message = Some(e.message.clone());
                    held.write(step.index, &update).await?;
                    let (state, verb) = if cancelled { (RunState::Cancelled, "cancelled") } else { (RunState::Failed, "failed") };
                    return Ok((state, Some(format!("step {} ({title}) {verb}: {}", step.index + 1, e.message))));
                }
            }
        }
    }
    Ok((RunState::Succeeded, None))
}
