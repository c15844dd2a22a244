//! The steps of a run. Each is idempotent: it reads the current state, changes
//! only what is not yet as wanted, and waits on a condition (never a fixed
//! sleep), so a step repeated after a crash does not repeat its effect.
//!
//! - [`sleep`]: record → back up Argo CD → pause it → CronJobs → workloads →
//!   Ingresses (until AWS has deleted the load balancers) → nodes → databases.
//! - [`wake`]: the reverse, waiting for nodes and add-ons before anything needs them.
//! - [`dns`]: the public hostnames → the new load balancer (wake) or the asleep page (sleep).
//! - [`databases`]: RDS and EC2 (Redis) instances, stopped or started.
//! - [`find`]: what in the cluster the settings designate.

pub mod databases;
pub mod dns;
pub mod find;
pub mod sleep;
pub mod wake;

use super::ctx::{Ctx, Outcome, StepResult};
use super::plan::Step;
use super::runner::walk::{Performed, Performer};

/// A sleep's or a wake's steps, for the runner.
impl Performer for Ctx<'_> {
    type Step = Step;

    fn parse(name: &str) -> Option<Step> {
        Step::parse(name)
    }

    fn title(step: Step) -> &'static str {
        step.title()
    }

    async fn perform(&self, step: Step) -> Performed {
        let result = self.waited.scope(step.run(self)).await;
        Performed { result, waited: self.waited.take() }
    }
}

impl Step {
    /// Does this step of a sleep or a wake.
    pub async fn run(self, ctx: &Ctx<'_>) -> StepResult<Outcome> {
        match self {
            Step::Record => sleep::record(ctx).await,
            Step::BackupArgocd => sleep::backup_argocd(ctx).await,
            Step::PauseArgocd => sleep::pause_argocd(ctx).await,
            Step::SuspendCronjobs => sleep::suspend_cronjobs(ctx).await,
            Step::ScaleWorkloads => sleep::scale_workloads(ctx).await,
            Step::PointDnsAsleep => dns::point_at_asleep_page(ctx).await,
            Step::DeleteIngresses => sleep::delete_ingresses(ctx).await,
            Step::ScaleNodes => sleep::scale_nodes(ctx).await,
            Step::StopDatabases => databases::turn(ctx, databases::Toward::Stopped).await,
            Step::StartDatabases => databases::turn(ctx, databases::Toward::Running).await,
            Step::RestoreNodes => wake::restore_nodes(ctx).await,
            Step::WaitNodes => wake::wait_nodes(ctx).await,
            Step::WaitAddons => wake::wait_addons(ctx).await,
            Step::RestoreArgocd => wake::restore_argocd(ctx).await,
            Step::RestoreIngresses => wake::restore_ingresses(ctx).await,
            Step::PointDns => dns::point_at_load_balancers(ctx).await,
            Step::RestoreWorkloads => wake::restore_workloads(ctx).await,
            Step::RestoreSync => wake::restore_sync(ctx).await,
            Step::UnsuspendCronjobs => wake::unsuspend_cronjobs(ctx).await,
            Step::WaitHealthy => wake::wait_healthy(ctx).await,
        }
    }
}

#[cfg(test)]
mod tests;
