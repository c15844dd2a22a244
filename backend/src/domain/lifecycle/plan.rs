//! The steps of a sleep and of a wake, in order. A run stores step names;
//! titles are for people.

use mezame_shared::power::RunAction;

pub struct StepDef {
    pub name: &'static str,
    pub title: &'static str,
}

const fn s(name: &'static str, title: &'static str) -> StepDef {
    StepDef { name, title }
}

/// Sleep: record, back up, stop Argo CD from fighting, quiesce workloads,
/// remove load balancers (and wait until AWS has deleted them) before any
/// node goes, then nodes, then databases.
pub const SLEEP: [StepDef; 8] = [
    s("record", "Record what will be changed"),
    s("backup-argocd", "Back up Argo CD settings"),
    s("pause-argocd", "Pause Argo CD auto-sync and self-heal"),
    s("suspend-cronjobs", "Suspend CronJobs"),
    s("scale-workloads", "Scale workloads to 0"),
    s("delete-ingresses", "Delete ALB Ingresses and wait for their load balancers and security groups to be gone"),
    s("scale-nodes", "Scale node groups to 0 and wait for the nodes to leave"),
    s("stop-databases", "Stop RDS and Redis instances"),
];

/// Wake: the reverse, with the waits the old scripts lacked.
pub const WAKE: [StepDef; 10] = [
    s("start-databases", "Start RDS and Redis instances"),
    s("restore-nodes", "Restore node group sizes"),
    s("wait-nodes", "Wait for enough Ready nodes"),
    s("wait-addons", "Wait for Argo CD and the load balancer controller"),
    s("restore-argocd", "Restore missing Argo CD settings"),
    s("restore-ingresses", "Restore Ingresses and wait for an ALB hostname"),
    s("restore-workloads", "Restore workload replicas"),
    s("restore-sync", "Restore Argo CD sync policies"),
    s("unsuspend-cronjobs", "Unsuspend CronJobs"),
    s("wait-healthy", "Wait until every Deployment is available and Argo CD reports Synced/Healthy"),
];

pub fn steps(action: RunAction) -> &'static [StepDef] {
    match action {
        RunAction::Sleep => &SLEEP,
        RunAction::Wake => &WAKE,
    }
}

pub fn title(action: RunAction, name: &str) -> &'static str {
    steps(action).iter().find(|d| d.name == name).map(|d| d.title).unwrap_or("")
}
