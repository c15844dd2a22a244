//! Move a microservice to spot or back in one environment: checked first
//! (known microservice, a protected environment confirmed), then one manifest
//! commit through `change.rs` — the same fetch, branch rule, push, Argo CD
//! refresh and audit (`capacity.spot`, `capacity.on_demand`) as a promotion —
//! whose edit is `placement.rs`'s. Never a live patch: Argo CD would revert it.

use mezame_shared::deploys::{ChangeKind, DeployChange, PlacementRequest};

use super::Deploys;
use super::change::Draft;
use crate::domain::DomainError;
use crate::domain::envs::Environment;
use crate::domain::topology::Topologies;

impl Deploys {
    /// Moves `ms`'s pods in `env` to spot (`req.spot`) or back to on-demand.
    pub async fn place(
        &self,
        env: &Environment,
        topologies: &Topologies,
        ms: &str,
        req: PlacementRequest,
        by: &str,
    ) -> Result<DeployChange, DomainError> {
        self.known_microservice(ms).await?;
        if !req.dry_run {
            env.confirmed(req.confirm.as_deref())?;
        }
        // The tag it runs is said in the answer; a placement does not change it.
        let tag = self.running_tag(topologies, &env.config.name, ms).await.unwrap_or_default();
        let kind = if req.spot { ChangeKind::Spot } else { ChangeKind::OnDemand };
        self.write(Draft { kind, env, topologies, ms, tag, from: None, reason: None, by, dry_run: req.dry_run }).await
    }
}
