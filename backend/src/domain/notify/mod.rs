//! Notifications (`[[env.notify]]`): a wake or sleep that ended, a scheduled
//! sleep coming. Queued in the database's outbox — once per event and
//! webhook, whatever the number of replicas — and delivered by a task of
//! their own, retried with backoff: a slow or failing webhook never holds a
//! run up, and what happened to each message shows on the run.
//!
//! - this file: [`Outbox`] (queue, deliver).
//! - [`message`] (pure): what each kind of webhook is sent.

pub mod message;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use mezame_shared::power::{Run, RunAction, RunState};
use tokio::sync::Notify;

use crate::adapters::db::{Db, Due, Queued};
use crate::adapters::webhook;
use crate::config::notify::NotifyEvent;
use crate::domain::envs::{Environment, Environments};

/// Attempts of one message before it is given up.
pub const ATTEMPTS: u32 = 10;
/// How long a replica holds a message it is trying (another takes it after).
const HOLD_MS: i64 = 30_000;

pub struct Outbox {
    db: Db,
    envs: Arc<Environments>,
    /// The panel's public URL, for links (`[auth] public_url`); none: no links.
    base: Option<String>,
    http: reqwest::Client,
    /// Poked when something was queued: delivered at once, not at the next tick.
    queued: Notify,
}

impl Outbox {
    /// The outbox, with its delivery task running.
    pub fn start(db: Db, envs: Arc<Environments>, base: Option<String>) -> Arc<Outbox> {
        let outbox = Arc::new(Outbox { db, envs, base, http: webhook::client(), queued: Notify::new() });
        tokio::spawn(outbox.clone().deliver());
        outbox
    }

    /// A wake or a sleep ended: one message per webhook that wants its outcome.
    pub async fn run_ended(&self, run: &Run) {
        if !matches!(run.action, RunAction::Wake | RunAction::Sleep) || run.state == RunState::Running {
            return;
        }
        let Some(env) = self.envs.get(&run.env) else { return };
        let (event, outcome) =
            if run.state == RunState::Succeeded { (NotifyEvent::Succeeded, "succeeded") } else { (NotifyEvent::Failed, "failed") };
        for n in env.config.notify.iter().filter(|n| n.events.contains(&event)) {
            let q = Queued {
                env: run.env.clone(),
                event_key: format!("run:{}:{outcome}", run.id),
                target: n.name.clone().unwrap_or_default(),
                run_id: Some(run.id),
                body: message::run_ended(n.kind, run, self.base.as_deref()),
            };
            self.queue(&q).await;
        }
    }

    /// A sleep of `env` at `at` (`local`: its time where the schedule is):
    /// one message per webhook whose warning time it is within. Not for an
    /// environment that is already asleep (its last run is a sleep that succeeded).
    pub async fn sleep_coming(&self, env: &Environment, at: DateTime<Utc>, now: DateTime<Utc>, local: &str) {
        let name = &env.config.name;
        let wanted: Vec<_> = env
            .config
            .notify
            .iter()
            .filter(|n| n.events.contains(&NotifyEvent::SleepSoon) && at - now <= chrono::Duration::minutes(n.sleep_warning_mins.into()))
            .collect();
        if wanted.is_empty() {
            return;
        }
        match self.db.runs(name, 1).await {
            Ok(runs) if runs.first().is_some_and(|r| r.action == RunAction::Sleep && r.state == RunState::Succeeded) => return,
            Err(e) => tracing::warn!(env = name, error = %e, "cannot read the last run: sleep warning not sent"),
            Ok(_) => {}
        }
        for n in wanted {
            let q = Queued {
                env: name.clone(),
                event_key: format!("sleep-soon:{}", at.to_rfc3339()),
                target: n.name.clone().unwrap_or_default(),
                run_id: None,
                body: message::sleep_soon(n.kind, name, at, now, local, self.base.as_deref()),
            };
            self.queue(&q).await;
        }
    }

    async fn queue(&self, q: &Queued) {
        match self.db.queue_notification(q).await {
            Ok(true) => self.queued.notify_one(),
            Ok(false) => {}
            Err(e) => tracing::error!(env = q.env, target = q.target, event = q.event_key, error = %e, "cannot queue a notification"),
        }
    }

    /// Delivers what is due, every second and whenever something is queued.
    async fn deliver(self: Arc<Self>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = self.queued.notified() => {}
            }
            let due = match self.db.due_notifications(20).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the notifications outbox");
                    continue;
                }
            };
            for d in due {
                match self.db.claim_notification(&d, HOLD_MS).await {
                    Ok(true) => self.attempt(&d).await,
                    Ok(false) => {}
                    Err(e) => tracing::warn!(id = d.id, error = %e, "cannot claim a notification"),
                }
            }
        }
    }

    async fn attempt(&self, d: &Due) {
        let url =
            self.envs.get(&d.env).and_then(|e| e.config.notify.iter().find(|n| n.name.as_deref() == Some(&d.target)).map(|n| n.url()));
        let result = match url {
            Some(url) => webhook::post(&self.http, url, &d.body).await.map_err(|e| e.to_string()),
            None => Err("the webhook is no longer configured".to_string()),
        };
        let attempts = d.attempts + 1;
        let saved = match result {
            Ok(()) => self.db.notification_sent(d.id).await,
            Err(why) => {
                let retry = (attempts < ATTEMPTS && url.is_some()).then(|| Utc::now() + backoff(attempts));
                tracing::warn!(
                    env = d.env,
                    target = d.target,
                    attempts,
                    error = why,
                    gave_up = retry.is_none(),
                    "notification not delivered"
                );
                self.db.notification_failed(d.id, &why, retry).await
            }
        };
        if let Err(e) = saved {
            tracing::warn!(id = d.id, error = %e, "cannot record a notification's delivery");
        }
    }
}

/// After the `n`th failed attempt: 1 s, 2 s, 4 s, … at most 5 min.
fn backoff(n: u32) -> chrono::Duration {
    chrono::Duration::seconds((1i64 << n.saturating_sub(1).min(9)).min(300))
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        let secs: Vec<i64> = (1..=10).map(|n| super::backoff(n).num_seconds()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]);
    }
}
