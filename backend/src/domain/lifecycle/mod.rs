//! Waking environments and putting them to sleep.
//!
//! Module tour:
//! - this file: [`Lifecycle`], the handle the HTTP layer uses: start, cancel,
//!   retry and read runs; resume the runs a previous process left running.
//! - [`plan`]: the ordered steps of a sleep and of a wake.
//! - [`steps`]: what each step does (idempotent, waiting on conditions).
//! - [`runner`]: drives a run of any kind under a lease: its steps in order,
//!   persisting each, with retries and cancel (a kind plugs in as a `Performer`).
//! - [`ctx`]: what a step works with; condition waits; time accounting.
//! - [`idle`]: idle sleep — no request to the load balancers for a while → sleep.
//! - [`follow`]: one database poller per followed run, fanned out to its streams.
//! - [`record`]: what a sleep changed (the restore point a wake uses).
//! - [`backup`]: Argo CD's settings, backed up and restored (Secrets sealed).
//! - [`clock`]: the scheduler's clock (movable by the end-to-end tests).
//! - [`schedule`]: which scheduled wake or sleep falls in a window (time zones, DST).
//! - [`settings`]: power settings (database, else configuration), validated.
//! - [`state`]: Awake / Asleep / … derived from the cluster and the account.
//!
//! Invariants: one active run per environment, enforced by the database (a
//! unique index), so neither two clicks nor two replicas can race; one runner
//! per run, by a lease in the database (see [`runner`]).

pub mod backup;
pub mod clock;
pub mod ctx;
pub mod follow;
pub mod idle;
pub mod plan;
pub mod record;
pub mod runner;
pub mod schedule;
pub mod settings;
pub mod state;
pub mod steps;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use mezame_shared::audit::AuditOutcome;
use mezame_shared::power::{Run, RunAction, RunStarted, RunState};

use crate::adapters::db::{Db, NewAuditEntry};
use crate::adapters::seal::Keys;
use crate::domain::DomainError;
use crate::domain::capacity::drain;
use crate::domain::capacity::scale_in::ScaleInPlan;
use crate::domain::envs::{Environment, Environments};
use crate::domain::notify::Outbox;

/// How far ahead the scheduler looks for sleeps to warn of (the longest `sleep_warning_mins`).
const WARN_AHEAD: chrono::Duration = chrono::Duration::hours(24);

/// Shared behind an `Arc`: the database, the environments, the backup key,
/// and the runs this process drives.
pub struct Lifecycle {
    /// The pool of requests (reading runs, starting them).
    db: Db,
    /// The runners' own pool (leases, steps): never starved by requests.
    db_runner: Db,
    envs: Arc<Environments>,
    /// Seal backed-up Secrets; `None` when no `backup_keys` are configured.
    keys: Option<Arc<Keys>>,
    /// What the scheduler calls now.
    pub clock: clock::Clock,
    /// This process as a runner (`host:pid:start-ms`), the holder of its leases.
    runner_id: String,
    /// Length of a runner's lease on a run.
    lease: Duration,
    /// How long a drain waits for its pods to be evicted and gone.
    pub drain_timeout: Duration,
    /// Runs a task of this process is driving (or trying to lease).
    driving: Mutex<HashSet<i64>>,
    /// Set when the server shuts down: runners release their runs.
    shutdown: tokio::sync::watch::Sender<bool>,
    /// One poller per followed run, shared by all its event streams.
    followers: follow::Followers,
    /// Webhooks told when a wake or sleep ends, and before a scheduled sleep.
    outbox: Arc<Outbox>,
    /// Idle sleep: since when each environment took no request (last read).
    idle: idle::IdleWatch,
}

impl Lifecycle {
    pub fn new(
        db: Db,
        db_runner: Db,
        envs: Arc<Environments>,
        keys: Option<Keys>,
        lease: Duration,
        drain_timeout: Duration,
        outbox: Arc<Outbox>,
    ) -> Arc<Lifecycle> {
        Arc::new(Lifecycle {
            db,
            db_runner,
            shutdown: tokio::sync::watch::Sender::new(false),
            followers: follow::Followers::default(),
            envs,
            keys: keys.map(Arc::new),
            clock: clock::Clock::default(),
            runner_id: runner_id(),
            lease,
            drain_timeout,
            driving: Mutex::new(HashSet::new()),
            outbox,
            idle: idle::IdleWatch::default(),
        })
    }

    /// Resumes the runs nobody drives: left running by a crash, a deploy or
    /// `kill -9` (once their runner's lease has expired), at the step they
    /// were in. Checked now and every half lease, so a run whose replica died
    /// is taken over by another one.
    pub async fn resume(self: &Arc<Self>) -> Result<usize, DomainError> {
        let resumed = self.adopt_orphans().await?;
        let lc = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lc.lease / 2).await;
                if let Err(e) = lc.adopt_orphans().await {
                    tracing::warn!(error = %e, "cannot look for runs left running");
                }
            }
        });
        Ok(resumed)
    }

    async fn adopt_orphans(self: &Arc<Self>) -> Result<usize, DomainError> {
        if *self.shutdown.borrow() {
            return Ok(0);
        }
        let ids = self.db_runner.orphaned_runs().await?;
        let mut adopted = 0;
        for id in ids {
            if self.spawn(id) {
                tracing::info!(run = id, "resuming a run nobody drives");
                adopted += 1;
            }
        }
        Ok(adopted)
    }

    /// Starts the scheduled runs of every environment with a schedule, and the
    /// sleeps of "keep awake until", checked every `tick`. Only times after
    /// the server started are acted upon.
    pub fn start_scheduler(self: &Arc<Self>, tick: std::time::Duration) {
        let lc = self.clone();
        tokio::spawn(async move {
            let mut last = lc.clock.now();
            loop {
                tokio::time::sleep(tick).await;
                let now = lc.clock.now();
                // A clock that jumped (a suspended host, a test moving it)
                // starts a new window: no burst of runs for the time skipped.
                if now < last || now - last > chrono::Duration::minutes(5) {
                    tracing::info!(%last, %now, "the clock jumped: schedule window restarted");
                    last = now;
                    continue;
                }
                for env in lc.envs.iter() {
                    if let Err(e) = lc.scheduled(env, last, now).await {
                        tracing::warn!(env = env.config.name, error = %e, "the schedule could not be checked");
                    }
                }
                last = now;
            }
        });
    }

    /// What the schedule and "keep awake until" want between `last` and `now`.
    async fn scheduled(self: &Arc<Self>, environment: &Environment, last: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), DomainError> {
        let env = environment.config.name.as_str();
        let hold = self.db.hold(env).await?;
        let settings = self.settings(environment).await?;
        let planned = settings.as_ref().and_then(|s| s.schedule.clone());
        for (at, local) in schedule::sleeps_within(planned.as_ref(), hold, now, WARN_AHEAD) {
            self.outbox.sleep_coming(environment, at, now, &local).await;
        }
        // A failed read of the requests never holds the schedule up.
        if let Some(s) = &settings
            && let Err(e) = self.idle_check(environment, s, hold, now).await
        {
            tracing::warn!(env, error = %e, "idle sleep: the requests could not be read");
        }
        let mut due = match &planned {
            Some(s) => schedule::due(s, last, now),
            None => Vec::new(),
        };
        due.retain(|(at, action)| {
            let kept = *action == RunAction::Sleep && hold.is_some_and(|h| h > *at);
            if kept {
                tracing::info!(env, %at, "scheduled sleep skipped: kept awake");
            }
            !kept
        });
        let mut starts: Vec<(RunAction, &str)> = due.into_iter().map(|(_, a)| (a, "schedule")).collect();
        if let Some(h) = hold
            && h > last
            && h <= now
        {
            self.db.clear_hold(env).await?;
            starts.push((RunAction::Sleep, "keep-awake"));
        }
        for (action, actor) in starts {
            match self.start(environment, action, actor).await {
                Ok(run) => tracing::info!(env, run = run.id, action = action.as_str(), actor, "scheduled run started"),
                Err(e) => tracing::warn!(env, action = action.as_str(), error = %e, "scheduled run not started"),
            }
        }
        Ok(())
    }

    /// Sets (or with `None` removes) "keep awake until" the next `HH:MM` in
    /// the environment's time zone (its schedule's, else UTC).
    pub async fn keep_awake(
        &self,
        environment: &Environment,
        until: Option<&str>,
        actor: &str,
    ) -> Result<Option<DateTime<Utc>>, DomainError> {
        refuse_protected(environment, "needs no keeping awake: it never sleeps")?;
        let env = environment.config.name.as_str();
        let Some(hhmm) = until else {
            self.db.clear_hold(env).await?;
            self.audit(actor, "power.keep_awake", env, None, None, None, Some("removed".into())).await?;
            return Ok(None);
        };
        let minutes = mezame_shared::power::parse_hhmm(hhmm)
            .ok_or_else(|| DomainError::Invalid(format!("keep awake until {hhmm:?}: give a time as HH:MM, e.g. 21:00")))?;
        let tz = self.settings(environment).await?.and_then(|s| s.schedule).map(|s| s.time_zone).unwrap_or_else(|| "UTC".into());
        let at = schedule::next_local(&tz, minutes, self.clock.now())
            .ok_or_else(|| DomainError::Invalid(format!("keep awake until {hhmm}: unknown time zone {tz}")))?;
        let before = self.db.hold(env).await?;
        self.db.put_hold(env, at, actor).await?;
        self.audit(
            actor,
            "power.keep_awake",
            env,
            None,
            before.map(|b| serde_json::json!({"until": b})),
            Some(serde_json::json!({"until": at})),
            None,
        )
        .await?;
        Ok(Some(at))
    }

    /// Shutting down: every runner of this process releases its run (another
    /// replica takes it over at once); waits for them up to `deadline`.
    pub async fn shutdown(&self, deadline: Duration) {
        self.shutdown.send_replace(true);
        let end = tokio::time::Instant::now() + deadline;
        while !self.driving.lock().unwrap_or_else(|p| p.into_inner()).is_empty() && tokio::time::Instant::now() < end {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Drives run `id` in a task, unless this process already does; false then.
    fn spawn(self: &Arc<Self>, id: i64) -> bool {
        if !self.driving.lock().unwrap_or_else(|p| p.into_inner()).insert(id) {
            return false;
        }
        let lc = self.clone();
        tokio::spawn(async move {
            runner::execute(&lc, id).await;
            lc.driving.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
        });
        true
    }

    /// Starts a wake or a sleep of `environment` on behalf of `actor`: a
    /// person (the guard checked their role) or the scheduler.
    pub async fn start(self: &Arc<Self>, environment: &Environment, action: RunAction, actor: &str) -> Result<RunStarted, DomainError> {
        if !action.is_power() {
            return Err(DomainError::Invalid(format!("a {} run names what it acts on: start it with its own function", action.as_str())));
        }
        refuse_protected(environment, "is never woken or put to sleep by mezame")?;
        let env = environment.config.name.as_str();
        if self.settings(environment).await?.is_none() {
            return Err(DomainError::Invalid(format!(
                "{env} has no power settings: add [env.power] to the configuration or PUT /api/envs/{env}/power"
            )));
        }
        let names: Vec<&str> = plan::steps(action).iter().map(|s| s.name()).collect();
        self.launch(environment, action, Launch::default(), actor, &names).await
    }

    /// Starts a drain of `node` in `environment` (cordon, evict its pods,
    /// wait until they are gone), audited as `node.drain`.
    pub async fn start_drain(self: &Arc<Self>, environment: &Environment, node: &str, actor: &str) -> Result<RunStarted, DomainError> {
        let names: Vec<&str> = drain::STEPS.iter().map(|s| s.name()).collect();
        let launch = Launch { target: Some(node.to_string()), after: Some(serde_json::json!({ "node": node })), ..Default::default() };
        self.launch(environment, RunAction::Drain, launch, actor, &names).await
    }

    /// Starts a safe scale-in of a group (Auto Scaling or managed node group) of `environment` as
    /// `plan` says (drain its nodes, terminate their instances with a
    /// decrement of desired), audited as `capacity.scale_in` (sizes and nodes
    /// before → after).
    pub async fn start_scale_in(
        self: &Arc<Self>,
        environment: &Environment,
        plan: &ScaleInPlan,
        actor: &str,
    ) -> Result<RunStarted, DomainError> {
        let names: Vec<&str> = drain::SCALE_IN_STEPS.iter().map(|s| s.name()).collect();
        let launch = Launch {
            target: Some(plan.target()),
            params: Some(serde_json::to_string(plan).map_err(|e| DomainError::Invalid(format!("scale-in plan: {e}")))?),
            before: Some(serde_json::json!({ "sizes": plan.before })),
            after: Some(serde_json::json!({ "sizes": plan.after, "removed_nodes": plan.nodes })),
        };
        self.launch(environment, RunAction::ScaleIn, launch, actor, &names).await
    }

    /// Creates the run (one active run per environment), audits it, and drives it.
    async fn launch(
        self: &Arc<Self>,
        environment: &Environment,
        action: RunAction,
        launch: Launch,
        actor: &str,
        names: &[&str],
    ) -> Result<RunStarted, DomainError> {
        let env = environment.config.name.as_str();
        match self.db.create_run(env, action, (launch.target.as_deref(), launch.params.as_deref()), actor, names).await? {
            Ok(id) => {
                if action == RunAction::Sleep {
                    // A sleep ends any "keep awake until".
                    self.db.clear_hold(env).await?;
                }
                let audited = match action {
                    RunAction::Drain => "node.drain".to_string(),
                    RunAction::ScaleIn => "capacity.scale_in".to_string(),
                    _ => format!("power.{}", action.as_str()),
                };
                // An action that cannot be audited is not carried out.
                if let Err(e) = self.audit(actor, &audited, env, Some(id), launch.before, launch.after, None).await {
                    let _ = self.db.abort_run(id, "not started: the audit log could not be written").await;
                    return Err(e);
                }
                self.spawn(id);
                Ok(RunStarted { id, env: env.to_string(), action })
            }
            Err(active) => Err(busy(env, active)),
        }
    }

    /// A Conflict naming the active run (wake, sleep, drain) of `env`, if there is one.
    pub async fn refuse_while_running(&self, env: &Environment) -> Result<(), DomainError> {
        match self.db.active_run(&env.config.name).await? {
            Some(active) => Err(busy(&env.config.name, active)),
            None => Ok(()),
        }
    }

    pub async fn cancel(&self, id: i64, actor: &str) -> Result<Run, DomainError> {
        let run = self.run(id).await?;
        if !self.db.request_cancel(id).await? {
            return Err(DomainError::Conflict {
                message: format!("run {id} is {} and cannot be cancelled", run.state.as_str()),
                run_id: None,
            });
        }
        self.audit(actor, "power.cancel", &run.env, Some(id), None, None, None).await?;
        self.run(id).await
    }

    /// Runs a failed or cancelled run again from its first step not done.
    pub async fn retry(self: &Arc<Self>, id: i64, actor: &str) -> Result<Run, DomainError> {
        let run = self.run(id).await?;
        let env =
            self.envs.get(&run.env).ok_or_else(|| DomainError::NotFound(format!("environment {} is no longer configured", run.env)))?;
        if run.action.is_power() {
            refuse_protected(env, "is never woken or put to sleep by mezame")?;
        }
        if !matches!(run.state, RunState::Failed | RunState::Cancelled) {
            return Err(DomainError::Conflict {
                message: format!("run {id} is {}: only a failed or cancelled run can be retried", run.state.as_str()),
                run_id: None,
            });
        }
        if let Err(active) = self.db.reopen_run(id, &run.env).await? {
            return Err(busy(&run.env, active));
        }
        self.audit(actor, "power.retry", &run.env, Some(id), None, None, None).await?;
        self.spawn(id);
        self.run(id).await
    }

    /// A run with its steps' titles.
    pub async fn run(&self, id: i64) -> Result<Run, DomainError> {
        let run = self.db.run(id).await?.ok_or_else(|| DomainError::NotFound(format!("no run {id}")))?;
        Ok(titled(run))
    }

    /// The environment of run `id` (for the permission check), if it exists.
    pub async fn run_env(&self, id: i64) -> Result<Option<String>, DomainError> {
        Ok(self.db.run_env(id).await?)
    }

    pub async fn runs(&self, env: &Environment, limit: u32) -> Result<Vec<Run>, DomainError> {
        Ok(self.db.runs(&env.config.name, limit).await?.into_iter().map(titled).collect())
    }

    /// Records an action of a run or a setting in the audit log.
    #[allow(clippy::too_many_arguments)]
    async fn audit(
        &self,
        actor: &str,
        action: &str,
        env: &str,
        run: Option<i64>,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
        message: Option<String>,
    ) -> Result<(), DomainError> {
        crate::domain::audit::record(
            &self.db,
            NewAuditEntry {
                actor: actor.to_string(),
                action: action.to_string(),
                env: Some(env.to_string()),
                target: run.map(|id| format!("run/{id}")),
                before,
                after,
                outcome: AuditOutcome::Ok,
                message,
            },
        )
        .await
    }
}

/// `host:pid:start-ms`: unique per process, readable in a run's `runner`.
fn runner_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{}:{}", std::process::id(), Utc::now().timestamp_millis())
}

/// A protected environment has no power runs and no power settings written:
/// the refusal names the environment and says why (`what` it does instead).
fn refuse_protected(env: &Environment, what: &str) -> Result<(), DomainError> {
    if env.config.protected {
        return Err(DomainError::Forbidden(format!(
            "{} is protected (protected = true in mezame's configuration): it {what}. No role can change that through the panel",
            env.config.name
        )));
    }
    Ok(())
}

/// The run with its steps' titles (the database keeps step names only).
fn titled(mut run: Run) -> Run {
    for s in &mut run.steps {
        let title = match run.action {
            RunAction::Drain | RunAction::ScaleIn => drain::DrainStep::parse(&s.name).map(drain::DrainStep::title),
            RunAction::Wake | RunAction::Sleep => plan::Step::parse(&s.name).map(plan::Step::title),
        };
        s.title = title.unwrap_or_default().to_string();
    }
    run
}

/// What a run acts on (`target`, shown), needs to resume (`params`, JSON) and
/// is audited with.
#[derive(Default)]
struct Launch {
    target: Option<String>,
    params: Option<String>,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
}

fn busy(env: &str, active: i64) -> DomainError {
    DomainError::Conflict {
        message: format!("run {active} is already active in {env}: wait for it, or cancel it (POST /api/runs/{active}/cancel)"),
        run_id: Some(active),
    }
}
