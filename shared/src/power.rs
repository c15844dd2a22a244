//! Waking and putting environments to sleep: the power settings of an
//! environment, its state as derived from reality, and runs with their steps.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How an environment sleeps and wakes (`[env.power]` in the configuration,
/// then `PUT /api/envs/{env}/power`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PowerSettings {
    /// The EKS cluster (names the node groups and tags the load balancers).
    pub eks_cluster: String,
    /// EKS managed node groups and self-managed (spot) Auto Scaling groups, with their awake sizes.
    #[serde(default)]
    pub capacity: Vec<CapacityGroup>,
    /// Namespaces whose Deployments, StatefulSets and CronJobs sleep.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Workloads that never sleep: `name`, `namespace/name`, or `label=value`.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Argo CD's namespace.
    #[serde(default = "argocd")]
    pub argocd_namespace: String,
    /// RDS instance identifiers, stopped while asleep.
    #[serde(default)]
    pub rds: Vec<String>,
    /// EC2 instances (by their `Name` tag) stopped while asleep, e.g. Redis.
    #[serde(default)]
    pub ec2: Vec<String>,
    #[serde(default)]
    pub schedule: Option<Schedule>,
    #[serde(default)]
    pub timeouts: Timeouts,
    /// Idle sleep (opt-in): put to sleep after this many minutes without a
    /// request to its load balancers and without a keep-awake.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_sleep_mins: Option<u32>,
}

fn argocd() -> String {
    "argocd".into()
}

worded!(
    /// Which AWS resource a capacity group is; `as_str` is written in routes and the audit log.
    GroupKind {
        /// An EKS managed node group.
        Nodegroup = "nodegroup",
        /// A self-managed Auto Scaling group.
        Asg = "asg",
    }
);

impl GroupKind {
    /// As said to people: `node group` or `Auto Scaling group`.
    pub fn noun(self) -> &'static str {
        match self {
            GroupKind::Nodegroup => "node group",
            GroupKind::Asg => "Auto Scaling group",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CapacityGroup {
    pub kind: GroupKind,
    pub name: String,
    /// Awake sizes.
    pub min: i32,
    pub desired: i32,
    pub max: i32,
    /// Never scaled down (e.g. `system`).
    #[serde(default)]
    pub always_on: bool,
}

impl CapacityGroup {
    /// The sizes a wake restores.
    pub fn sizes(&self) -> crate::capacity::Sizes {
        crate::capacity::Sizes { min: self.min, desired: self.desired, max: self.max }
    }
}

/// The weekly schedule, in the environment's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// `mon` … `sun`.
    pub days: Vec<String>,
    /// `HH:MM`, local time.
    pub wake: String,
    pub sleep: String,
    /// IANA name, e.g. `Europe/Paris`.
    pub time_zone: String,
}

/// How long each waiting step may wait, in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    pub load_balancers: u64,
    pub nodes: u64,
    pub databases: u64,
    pub addons: u64,
    pub workloads: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { load_balancers: 300, nodes: 600, databases: 900, addons: 600, workloads: 900 }
    }
}

pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `HH:MM` → minutes after midnight.
pub fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

impl PowerSettings {
    /// Rules that need nothing but the settings; every problem, one per line.
    /// (The server adds those that need the world: known node groups, time zones.)
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.eks_cluster.trim().is_empty() {
            out.push("eks_cluster must name the EKS cluster".to_string());
        }
        let mut seen = std::collections::HashSet::new();
        for g in &self.capacity {
            let what = format!("{} {:?}", g.kind.noun(), g.name);
            if g.name.trim().is_empty() {
                out.push("a capacity group has no name".into());
            }
            if !seen.insert((g.kind, g.name.clone())) {
                out.push(format!("{what} is listed twice"));
            }
            out.extend(g.sizes().problems(g.kind).into_iter().map(|p| format!("{what}: {p}")));
        }
        for ns in &self.namespaces {
            if ns.trim().is_empty() {
                out.push("a namespace is empty".into());
            }
        }
        if let Some(m) = self.idle_sleep_mins
            && !(5..=1440).contains(&m)
        {
            out.push(format!("idle_sleep_mins = {m}: between 5 and 1440 minutes"));
        }
        if let Some(s) = &self.schedule {
            if s.days.is_empty() {
                out.push("schedule: pick at least one day".into());
            }
            for d in &s.days {
                if !WEEKDAYS.contains(&d.as_str()) {
                    out.push(format!("schedule: unknown day {d:?} (use {})", WEEKDAYS.join(", ")));
                }
            }
            for (what, t) in [("wake", &s.wake), ("sleep", &s.sleep)] {
                if parse_hhmm(t).is_none() {
                    out.push(format!("schedule: {what} time {t:?} is not HH:MM"));
                }
            }
            if parse_hhmm(&s.wake).is_some() && s.wake == s.sleep {
                out.push("schedule: wake and sleep times are the same".into());
            }
        }
        let t = &self.timeouts;
        if [t.load_balancers, t.nodes, t.databases, t.addons, t.workloads].contains(&0) {
            out.push("timeouts must be > 0 seconds".into());
        }
        out
    }
}

/// Answer of `GET /api/envs/{env}/power`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Power {
    pub env: String,
    /// Production: never sleeps.
    pub protected: bool,
    /// `None` when the environment has no power settings.
    pub settings: Option<PowerSettings>,
    pub state: PowerState,
    /// What differs from fully awake or fully asleep (for `partially_awake`), or why it failed.
    pub details: Vec<String>,
    pub active_run: Option<i64>,
    /// "Keep awake until": scheduled sleeps before it are skipped; at it, the environment sleeps.
    pub keep_awake_until: Option<DateTime<Utc>>,
    /// The next run the schedule will start.
    pub next_scheduled: Option<ScheduledRun>,
    /// Median duration of past successful runs, seconds.
    pub expected_wake_secs: Option<f64>,
    pub expected_sleep_secs: Option<f64>,
    /// Whether the person asking may wake, sleep, cancel and retry runs.
    pub may_operate: bool,
    /// Whether the person asking may change the power settings.
    pub may_configure: bool,
    /// Who may operate it and how to get access, in words (shown when `may_operate` is false).
    pub who_may: String,
    /// Idle sleep: how long its load balancers have taken no request, and
    /// when it sleeps for that (absent unless opted in and awake).
    #[serde(default)]
    pub idle: Option<Idle>,
}

/// An awake environment without requests, under idle sleep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Idle {
    /// Since the last request (or the wake, if later).
    pub idle_secs: i64,
    /// Until the idle sleep starts (0: due now).
    pub sleeps_in_secs: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PowerState {
    Awake,
    Asleep,
    Waking,
    Sleeping,
    PartiallyAwake,
    Failed,
    /// The cluster or the account could not be read.
    Unknown,
}

impl PowerState {
    pub fn label(self) -> &'static str {
        match self {
            PowerState::Awake => "Awake",
            PowerState::Asleep => "Asleep",
            PowerState::Waking => "Waking",
            PowerState::Sleeping => "Sleeping",
            PowerState::PartiallyAwake => "Partially awake",
            PowerState::Failed => "Failed",
            PowerState::Unknown => "Unknown",
        }
    }
}

worded!(RunAction { Wake = "wake", Sleep = "sleep", Drain = "drain", ScaleIn = "scale_in" });

impl RunAction {
    /// A wake or a sleep (the runs of the power schedule), not a capacity run.
    pub fn is_power(self) -> bool {
        matches!(self, RunAction::Wake | RunAction::Sleep)
    }
}
worded!(RunState { Running = "running", Succeeded = "succeeded", Failed = "failed", Cancelled = "cancelled" });
worded!(StepState { Pending = "pending", Running = "running", Done = "done", Failed = "failed", Cancelled = "cancelled" });

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScheduledRun {
    pub at: DateTime<Utc>,
    pub action: RunAction,
}

/// Body of `PUT /api/envs/{env}/keep-awake`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct KeepAwake {
    /// `HH:MM` in the environment's time zone (its schedule's, else UTC): the
    /// next such time. `null` removes it.
    pub until: Option<String>,
}

/// Answer of `PUT /api/envs/{env}/keep-awake`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeepAwakeSet {
    pub env: String,
    pub until: Option<DateTime<Utc>>,
}

/// A wake or sleep run (`GET /api/runs/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Run {
    pub id: i64,
    pub env: String,
    pub action: RunAction,
    pub state: RunState,
    pub actor: String,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub message: Option<String>,
    pub cancel_requested: bool,
    /// The server process that drives (or last drove) the run: `host:pid:start`.
    #[serde(default)]
    pub runner: Option<String>,
    /// What the run acts on besides its environment: the node of a drain, the
    /// group of a scale-in (`asg/<name>`).
    #[serde(default)]
    pub target: Option<String>,
    pub steps: Vec<RunStep>,
    /// The webhook messages about its end, and whether each was delivered.
    #[serde(default)]
    pub notifications: Vec<crate::notify::Delivery>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunStep {
    pub index: u32,
    /// Machine name, e.g. `delete-ingresses`.
    pub name: String,
    /// What it does, for people.
    pub title: String,
    pub state: StepState,
    pub attempts: u32,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Of the step's time, how much was spent waiting on AWS or the cluster.
    pub waited_ms: i64,
    pub message: Option<String>,
    /// What the step changed (resources and their values before → after).
    pub changed: Option<serde_json::Value>,
}

/// Answer of `GET /api/envs/{env}/runs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunList {
    pub env: String,
    /// Newest first.
    pub runs: Vec<Run>,
}

/// Answer of `POST /api/envs/{env}/wake|sleep` (202).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunStarted {
    pub id: i64,
    pub env: String,
    pub action: RunAction,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worded_enums_read_back_what_serde_writes() {
        for a in RunAction::ALL {
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
            assert_eq!(RunAction::parse(a.as_str()), Some(*a));
        }
        for r in RunState::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
            assert_eq!(RunState::parse(r.as_str()), Some(*r));
        }
        for k in GroupKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        for k in crate::capacity::InterruptionKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        for st in StepState::ALL {
            assert_eq!(serde_json::to_value(st).unwrap(), st.as_str());
            assert_eq!(StepState::parse(st.as_str()), Some(*st));
        }
        assert_eq!(RunState::parse("Running"), None);
    }

    fn settings() -> PowerSettings {
        PowerSettings {
            eks_cluster: "platform-dev".into(),
            capacity: vec![CapacityGroup {
                kind: GroupKind::Nodegroup,
                name: "system".into(),
                min: 1,
                desired: 2,
                max: 3,
                always_on: false,
            }],
            namespaces: vec!["platform".into()],
            exclude: vec![],
            argocd_namespace: "argocd".into(),
            rds: vec![],
            ec2: vec![],
            schedule: Some(Schedule {
                days: vec!["mon".into()],
                wake: "08:00".into(),
                sleep: "20:00".into(),
                time_zone: "Europe/Paris".into(),
            }),
            timeouts: Timeouts::default(),
            idle_sleep_mins: Some(60),
        }
    }

    #[test]
    fn valid_settings_have_no_problems() {
        assert!(settings().problems().is_empty());
    }

    #[test]
    fn sizes_days_and_times_are_checked() {
        let mut s = settings();
        s.capacity[0].desired = 5;
        s.capacity.push(CapacityGroup { kind: GroupKind::Nodegroup, name: "x".into(), min: 0, desired: 0, max: 0, always_on: false });
        s.schedule.as_mut().unwrap().days.push("funday".into());
        s.schedule.as_mut().unwrap().wake = "8:00".into();
        let p = s.problems();
        assert_eq!(p.len(), 4, "{p:?}");
        assert!(p[0].contains("min ≤ desired ≤ max"));
        assert!(p[1].contains("max ≥ 1"));
        assert!(p[2].contains("funday"));
        assert!(p[3].contains("HH:MM"));
        assert_eq!(parse_hhmm("23:59"), Some(1439));
        assert_eq!(parse_hhmm("24:00"), None);
    }
}
