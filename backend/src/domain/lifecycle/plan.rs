//! The steps of a sleep and of a wake, in order. A run stores step names;
//! they are parsed into [`Step`] once, when the runner reads the run.

use mezame_shared::power::RunAction;

/// Declares [`Step`] with each step's stored name and its title for people.
macro_rules! steps {
    ($($step:ident = $name:literal, $title:literal;)*) => {
        /// One step of a sleep or a wake ([`Step::run`] does it).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Step { $($step),* }

        impl Step {
            /// Every step, sleep's and wake's.
            pub const ALL: &'static [Step] = &[$(Step::$step),*];

            /// The name stored in a run.
            pub fn name(self) -> &'static str {
                match self { $(Step::$step => $name),* }
            }

            pub fn title(self) -> &'static str {
                match self { $(Step::$step => $title),* }
            }
        }
    };
}

steps! {
    Record = "record", "Record what will be changed";
    BackupArgocd = "backup-argocd", "Back up Argo CD settings";
    PauseArgocd = "pause-argocd", "Pause Argo CD auto-sync and self-heal";
    SuspendCronjobs = "suspend-cronjobs", "Suspend CronJobs";
    ScaleWorkloads = "scale-workloads", "Scale workloads to 0";
    PointDnsAsleep = "point-dns-asleep", "Point the public hostnames at the asleep page";
    DeleteIngresses = "delete-ingresses", "Delete ALB Ingresses and wait for their load balancers and security groups to be gone";
    ScaleNodes = "scale-nodes", "Scale node groups to 0 and wait for the nodes to leave";
    StopDatabases = "stop-databases", "Stop RDS and Redis instances";
    StartDatabases = "start-databases", "Start RDS and Redis instances";
    RestoreNodes = "restore-nodes", "Restore node group sizes";
    WaitNodes = "wait-nodes", "Wait for enough Ready nodes";
    WaitAddons = "wait-addons", "Wait for Argo CD and the load balancer controller";
    RestoreArgocd = "restore-argocd", "Restore missing Argo CD settings";
    RestoreIngresses = "restore-ingresses", "Restore Ingresses and wait for an ALB hostname";
    PointDns = "point-dns", "Point the public hostnames at the new load balancer and wait until the zone answers it";
    RestoreWorkloads = "restore-workloads", "Restore workload replicas";
    RestoreSync = "restore-sync", "Restore Argo CD sync policies";
    UnsuspendCronjobs = "unsuspend-cronjobs", "Unsuspend CronJobs";
    WaitHealthy = "wait-healthy", "Wait until every Deployment is available and Argo CD reports Synced/Healthy";
}

impl Step {
    /// The step a run stored as `name`.
    pub fn parse(name: &str) -> Option<Step> {
        Step::ALL.iter().copied().find(|s| s.name() == name)
    }
}

/// Sleep: record, back up, stop Argo CD from fighting, quiesce workloads,
/// point the public hostnames at the asleep page, remove load balancers (and wait until AWS has deleted them) before any
/// node goes, then nodes, then databases.
pub const SLEEP: [Step; 9] = [
    Step::Record,
    Step::BackupArgocd,
    Step::PauseArgocd,
    Step::SuspendCronjobs,
    Step::ScaleWorkloads,
    Step::PointDnsAsleep,
    Step::DeleteIngresses,
    Step::ScaleNodes,
    Step::StopDatabases,
];

/// Wake: the reverse, with the waits the old scripts lacked.
pub const WAKE: [Step; 11] = [
    Step::StartDatabases,
    Step::RestoreNodes,
    Step::WaitNodes,
    Step::WaitAddons,
    Step::RestoreArgocd,
    Step::RestoreIngresses,
    Step::PointDns,
    Step::RestoreWorkloads,
    Step::RestoreSync,
    Step::UnsuspendCronjobs,
    Step::WaitHealthy,
];

/// The steps of a sleep or a wake (a drain has its own: `capacity::drain::STEPS`).
pub fn steps(action: RunAction) -> &'static [Step] {
    match action {
        RunAction::Sleep => &SLEEP,
        RunAction::Wake => &WAKE,
        RunAction::Drain | RunAction::ScaleIn => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_is_in_one_plan_and_parses_back_from_its_name() {
        let mut planned: Vec<Step> = SLEEP.iter().chain(WAKE.iter()).copied().collect();
        assert_eq!(planned.len(), Step::ALL.len(), "each step belongs to exactly one plan");
        planned.dedup();
        assert_eq!(planned.len(), Step::ALL.len());
        for s in Step::ALL {
            assert_eq!(Step::parse(s.name()), Some(*s));
            assert!(!s.title().is_empty());
        }
        assert_eq!(Step::parse("no-such-step"), None);
    }
}
