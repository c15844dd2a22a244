//! Idle sleep (opt-in: the power settings' `idle_sleep_mins`): an awake
//! environment whose load balancers took no request for that long, and that
//! nobody keeps awake, is put to sleep (actor `idle`). Requests are
//! CloudWatch's `RequestCount` of the load balancers its controller owns,
//! read by the scheduler at most every [`CHECK_EVERY`] per environment; the
//! Environments card shows what the last read found. The webhooks that want
//! it hear "dev goes to sleep in 15 min" once per idle stretch, as before a
//! scheduled sleep.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use mezame_shared::power::{Idle, PowerSettings, RunAction, RunState};

use super::Lifecycle;
use crate::domain::DomainError;
use crate::domain::envs::Environment;

/// How often an environment's requests are read.
pub const CHECK_EVERY: Duration = Duration::from_secs(15);

/// What the last read of each environment found: when (this process's
/// clock) and since when it is idle (the scheduler's clock).
#[derive(Default)]
pub struct IdleWatch(Mutex<HashMap<String, (Instant, DateTime<Utc>)>>);

impl IdleWatch {
    fn since(&self, env: &str) -> Option<(Instant, DateTime<Utc>)> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).get(env).copied()
    }

    fn set(&self, env: &str, seen: Option<DateTime<Utc>>) {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match seen {
            Some(s) => all.insert(env.to_string(), (Instant::now(), s)),
            None => all.remove(env),
        };
    }
}

/// Since when an environment is idle: the end of the last minute with a
/// request (none in the window read: its start), or — if later — its wake,
/// or the creation of its newest load balancer (a load balancer made a
/// minute ago was not idle for half an hour, whatever this process knows of
/// the wake that made it).
pub fn idle_since(
    last_request_minute: Option<DateTime<Utc>>,
    awake_since: Option<DateTime<Utc>>,
    newest_load_balancer: Option<DateTime<Utc>>,
    window_start: DateTime<Utc>,
) -> DateTime<Utc> {
    let last = last_request_minute.map_or(window_start, |m| m + chrono::Duration::minutes(1));
    last.max(awake_since.unwrap_or(last)).max(newest_load_balancer.unwrap_or(last))
}

/// Idle for how long, and how long before it sleeps.
pub fn idle_of(since: DateTime<Utc>, now: DateTime<Utc>, mins: u32) -> Idle {
    let idle_secs = (now - since).num_seconds().max(0);
    Idle { idle_secs, sleeps_in_secs: (i64::from(mins) * 60 - idle_secs).max(0) }
}

impl Lifecycle {
    /// The scheduler's idle check of `env` (at most every [`CHECK_EVERY`]).
    pub(super) async fn idle_check(
        self: &Arc<Self>,
        env: &Environment,
        settings: &PowerSettings,
        hold: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let name = env.config.name.as_str();
        let Some(mins) = settings.idle_sleep_mins.filter(|_| !env.config.protected) else { return Ok(()) };
        if self.idle.since(name).is_some_and(|(at, _)| at.elapsed() < CHECK_EVERY) {
            return Ok(());
        }
        // Only an awake environment with no run going.
        let last = self.db.runs(name, 10).await?.into_iter().find(|r| r.action.is_power());
        let asleep = last.as_ref().is_some_and(|r| r.action == RunAction::Sleep && r.state == RunState::Succeeded);
        if asleep || self.db.active_run(name).await?.is_some() {
            self.idle.set(name, None);
            return Ok(());
        }
        let awake_since = last.filter(|r| r.action == RunAction::Wake && r.state == RunState::Succeeded).and_then(|r| r.finished_at);
        let from = now - chrono::Duration::minutes(i64::from(mins) + 5);
        let lbs = env.aws().controller_load_balancers(&settings.eks_cluster).await?;
        if lbs.is_empty() {
            // No load balancer: nothing measures requests; never put to sleep for that.
            self.idle.set(name, None);
            return Ok(());
        }
        let counts = futures::future::try_join_all(lbs.iter().map(|lb| env.aws().load_balancer_requests(&lb.arn, from, now))).await?;
        let last_request = counts.iter().filter_map(|c| c.last().map(|(t, _)| *t)).max();
        let newest = lbs.iter().filter_map(|lb| lb.created).max();
        let since = idle_since(last_request, awake_since, newest, from);
        self.idle.set(name, Some(since));
        if hold.is_some_and(|h| h > now) {
            return Ok(());
        }
        if idle_of(since, now, mins).sleeps_in_secs > 0 {
            // Said once per idle stretch: a request moves `since`, and with it `at`.
            let at = since + chrono::Duration::minutes(i64::from(mins));
            self.outbox.sleep_coming(env, at, now, &super::schedule::local_label(settings.schedule.as_ref(), at)).await;
            return Ok(());
        }
        match self.start(env, RunAction::Sleep, "idle").await {
            Ok(run) => tracing::info!(env = name, run = run.id, idle_since = %since, "idle: sleep started"),
            Err(e) => tracing::warn!(env = name, error = %e, "idle: sleep not started"),
        }
        Ok(())
    }

    /// The card's "idle for …, sleeps in …" from the last check, if idle sleep is on.
    pub(super) fn idle_state(&self, env: &str, settings: Option<&PowerSettings>, now: DateTime<Utc>) -> Option<Idle> {
        let mins = settings?.idle_sleep_mins?;
        let (_, since) = self.idle.since(env)?;
        Some(idle_of(since, now, mins))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_since_the_last_request_or_the_wake() {
        let t = |m: i64| DateTime::<Utc>::from_timestamp(1_800_000_000 + m * 60, 0).unwrap();
        // A request in the minute starting at t(10): idle from t(11).
        assert_eq!(idle_since(Some(t(10)), None, None, t(0)), t(11));
        // Woken after it: idle from the wake.
        assert_eq!(idle_since(Some(t(10)), Some(t(20)), None, t(0)), t(20));
        // Nothing in the window read: idle at least since its start.
        assert_eq!(idle_since(None, None, None, t(0)), t(0));
        // ...or since its newest load balancer was made, if later.
        assert_eq!(idle_since(None, None, Some(t(30)), t(0)), t(30));
        assert_eq!(idle_since(Some(t(40)), Some(t(20)), Some(t(30)), t(0)), t(41));
        assert_eq!(idle_of(t(11), t(53), 60), Idle { idle_secs: 42 * 60, sleeps_in_secs: 18 * 60 });
        assert_eq!(idle_of(t(0), t(65), 60).sleeps_in_secs, 0);
    }
}
