//! The power state of an environment, derived from reality (node group sizes
//! in AWS, workload replicas in the cluster) and the runs, never remembered.

use mezame_shared::power::{Power, PowerSettings, PowerState, RunAction, RunState, ScheduledRun};

use super::Lifecycle;
use crate::adapters::kube::resources::Kind;
use crate::domain::DomainError;
use crate::domain::envs::Environment;

/// What was read of an environment, for [`classify`].
#[derive(Debug, Default)]
pub struct Observed {
    /// (group, awake desired, current desired)
    pub groups: Vec<(String, i32, i32)>,
    /// Workloads at 0 replicas, and all workloads, in the settings' namespaces.
    pub workloads_at_zero: usize,
    pub workloads: usize,
}

/// Awake, Asleep, or Partially awake with what differs.
pub fn classify(o: &Observed) -> (PowerState, Vec<String>) {
    let mut awake_diffs = Vec::new();
    let mut asleep_diffs = Vec::new();
    for (name, awake, now) in &o.groups {
        if now < awake {
            awake_diffs.push(format!("{name}: {now} of {awake} nodes wanted"));
        }
        if *now > 0 {
            asleep_diffs.push(format!("{name}: {now} nodes wanted"));
        }
    }
    if o.workloads_at_zero > 0 {
        awake_diffs.push(format!("{} of {} workloads at 0 replicas", o.workloads_at_zero, o.workloads));
    }
    if o.workloads_at_zero < o.workloads {
        asleep_diffs.push(format!("{} workloads running", o.workloads - o.workloads_at_zero));
    }
    if awake_diffs.is_empty() {
        (PowerState::Awake, Vec::new())
    } else if asleep_diffs.is_empty() {
        (PowerState::Asleep, Vec::new())
    } else {
        (PowerState::PartiallyAwake, awake_diffs)
    }
}

/// What the person asking may do with the environment's power (decided by
/// the permission rule; shown by the UI).
#[derive(Debug, Clone)]
pub struct Asker {
    pub may_operate: bool,
    pub may_configure: bool,
    pub who_may: String,
}

impl Lifecycle {
    /// The power of `env`, with what the asker may do.
    pub async fn power(&self, env: &Environment, asker: Asker) -> Result<Power, DomainError> {
        let name = env.config.name.clone();
        let settings = self.settings(env).await?;
        // The last wake or sleep (a drain or a scale-in is not a change of power), and whether it is the active run.
        let last = self.db.runs(&name, 10).await?.into_iter().find(|r| r.action.is_power());
        let active_run = self.db.active_run(&name).await?.filter(|id| last.as_ref().is_some_and(|r| r.id == *id));
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            (!v.is_empty()).then(|| v[v.len() / 2])
        };
        let expected_wake_secs = median(self.db.run_durations(&name, RunAction::Wake, 10).await?);
        let expected_sleep_secs = median(self.db.run_durations(&name, RunAction::Sleep, 10).await?);
        let (state, details) = match (&active_run, &last, &settings) {
            (Some(_), Some(r), _) => (if r.action == RunAction::Wake { PowerState::Waking } else { PowerState::Sleeping }, Vec::new()),
            (None, Some(r), _) if r.state == RunState::Failed => {
                (PowerState::Failed, vec![format!("{} run {} failed: {}", r.action.as_str(), r.id, r.message.clone().unwrap_or_default())])
            }
            (_, _, Some(s)) => match observe(env, s).await {
                Ok(o) => classify(&o),
                Err(e) => (PowerState::Unknown, vec![e]),
            },
            (_, _, None) => (PowerState::Unknown, vec!["no power settings".into()]),
        };
        let keep_awake_until = self.db.hold(&name).await?;
        let now = self.clock.now();
        let next_scheduled = settings
            .as_ref()
            .and_then(|s| s.schedule.as_ref())
            .and_then(|s| super::schedule::due(s, now, now + chrono::Duration::days(8)).into_iter().next())
            .map(|(at, action)| ScheduledRun { at, action });
        let idle = (state == PowerState::Awake).then(|| self.idle_state(&name, settings.as_ref(), now)).flatten();
        Ok(Power {
            idle,
            env: name.clone(),
            protected: env.config.protected,
            settings,
            state,
            details,
            active_run,
            keep_awake_until,
            next_scheduled,
            expected_wake_secs,
            expected_sleep_secs,
            may_operate: asker.may_operate && !env.config.protected,
            may_configure: asker.may_configure && !env.config.protected,
            who_may: if env.config.protected {
                format!("{name} is protected: mezame never wakes it or puts it to sleep")
            } else {
                asker.who_may
            },
        })
    }
}

async fn observe(env: &Environment, s: &PowerSettings) -> Result<Observed, String> {
    let mut o = Observed::default();
    for g in s.capacity.iter().filter(|g| !g.always_on) {
        let sizes = env.aws().group_sizes_cached(&s.eks_cluster, g.kind, &g.name).await.map_err(|e| e.to_string())?;
        o.groups.push((g.name.clone(), g.desired, sizes.desired));
    }
    let cluster = env.cluster().await.map_err(|e| e.to_string())?;
    for ns in &s.namespaces {
        for kind in [Kind::Deployment, Kind::StatefulSet] {
            for w in cluster.list(kind, Some(ns), None).await.map_err(|e| e.to_string())? {
                if super::steps::find::excluded(&s.exclude, &w) {
                    continue;
                }
                o.workloads += 1;
                if w.pointer("/spec/replicas").and_then(serde_json::Value::as_i64) == Some(0) {
                    o.workloads_at_zero += 1;
                }
            }
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_from_what_was_observed() {
        let o = |groups: Vec<(&str, i32, i32)>, zero, all| Observed {
            groups: groups.into_iter().map(|(n, a, c)| (n.to_string(), a, c)).collect(),
            workloads_at_zero: zero,
            workloads: all,
        };
        assert_eq!(classify(&o(vec![("spot", 3, 3)], 0, 17)).0, PowerState::Awake);
        assert_eq!(classify(&o(vec![("spot", 3, 0)], 17, 17)).0, PowerState::Asleep);
        let (state, details) = classify(&o(vec![("spot", 3, 0)], 0, 17));
        assert_eq!(state, PowerState::PartiallyAwake);
        assert_eq!(details, ["spot: 0 of 3 nodes wanted"]);
    }
}
