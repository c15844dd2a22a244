//! The steps of a run. Each is idempotent: it reads the current state, changes
//! only what is not yet as wanted, and waits on a condition (never a fixed
//! sleep), so a step repeated after a crash does not repeat its effect.
//!
//! - [`sleep`]: record → back up Argo CD → pause it → CronJobs → workloads →
//!   Ingresses (until AWS has deleted the load balancers) → nodes → databases.
//! - [`wake`]: the reverse, waiting for nodes and add-ons before anything needs them.
//! - [`find`]: what in the cluster the settings designate.

pub mod find;
pub mod sleep;
pub mod wake;

use super::ctx::{Ctx, Outcome, StepResult};

/// Runs step `name` of a sleep or a wake.
pub async fn run(ctx: &Ctx<'_>, name: &str) -> StepResult<Outcome> {
    match name {
        "record" => sleep::record(ctx).await,
        "backup-argocd" => sleep::backup_argocd(ctx).await,
        "pause-argocd" => sleep::pause_argocd(ctx).await,
        "suspend-cronjobs" => sleep::suspend_cronjobs(ctx).await,
        "scale-workloads" => sleep::scale_workloads(ctx).await,
        "delete-ingresses" => sleep::delete_ingresses(ctx).await,
        "scale-nodes" => sleep::scale_nodes(ctx).await,
        "stop-databases" => sleep::stop_databases(ctx).await,
        "start-databases" => wake::start_databases(ctx).await,
        "restore-nodes" => wake::restore_nodes(ctx).await,
        "wait-nodes" => wake::wait_nodes(ctx).await,
        "wait-addons" => wake::wait_addons(ctx).await,
        "restore-argocd" => wake::restore_argocd(ctx).await,
        "restore-ingresses" => wake::restore_ingresses(ctx).await,
        "restore-workloads" => wake::restore_workloads(ctx).await,
        "restore-sync" => wake::restore_sync(ctx).await,
        "unsuspend-cronjobs" => wake::unsuspend_cronjobs(ctx).await,
        "wait-healthy" => wake::wait_healthy(ctx).await,
        other => Err(super::ctx::StepError::fatal(format!("unknown step {other}"))),
    }
}
