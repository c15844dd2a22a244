//! Changing a group: its sizes — in AWS, or, while the environment is asleep,
//! the sizes its next wake restores — and an Auto Scaling group's spot mix.
//!
//! Checked first ([`check`], pure: a refusal changes nothing), answered as
//! before → after (`dry_run` stops there: the confirmation dialog), then done
//! and audited; a change that cannot be audited is put back.

use std::sync::Arc;

use mezame_shared::audit::AuditOutcome;
use mezame_shared::capacity::{Group, GroupChange, GroupChanged, GroupSpec, MixChange, SPOT_STRATEGIES, Sizes, SizesTarget};
use mezame_shared::power::GroupKind;

use super::Capacities;
use super::scale_in::{self, ScaleInPlan};
use super::view::{self, Described};
use crate::adapters::AdapterError;
use crate::adapters::db::NewAuditEntry;
use crate::domain::envs::Environment;
use crate::domain::lifecycle::Lifecycle;
use crate::domain::lifecycle::settings::own_cluster;
use crate::domain::topology::Live;
use crate::domain::{DomainError, audit};

/// Who asks, and whether they may change settings (the sizes a wake restores are power settings).
pub struct Changer<'a> {
    pub name: &'a str,
    pub may_configure: bool,
}

/// The spot strategy recommended for most groups (fewer interruptions, low prices).
const RECOMMENDED: &str = SPOT_STRATEGIES[0];

/// Why `change` cannot be made to a group of `kind` (`has_mix`: it has a
/// MixedInstancesPolicy), and what is worth a warning. Pure.
pub fn check(kind: GroupKind, has_mix: bool, change: &GroupChange) -> (Vec<String>, Vec<String>) {
    let mut refused = Vec::new();
    let mut warned = Vec::new();
    if change.sizes.is_none() && change.mix.is_none() {
        refused.push("nothing to change: send \"sizes\" ({min, desired, max}) and/or \"mix\"".into());
    }
    if let Some(s) = &change.sizes {
        refused.extend(s.problems(kind));
    }
    if let Some(m) = &change.mix {
        if kind == GroupKind::Nodegroup {
            refused.push(
                "an EKS managed node group has no spot mix: its capacity type (ON_DEMAND or SPOT) is fixed when it is created".into(),
            );
        } else if !has_mix {
            refused.push("this Auto Scaling group has no MixedInstancesPolicy (a launch template alone): mezame changes a mix, it does not create one".into());
        }
        if m.on_demand_base < 0 {
            refused.push(format!("on_demand_base must be ≥ 0, got {}", m.on_demand_base));
        }
        if !(0..=100).contains(&m.on_demand_percent_above_base) {
            refused.push(format!("on_demand_percent_above_base must be 0–100, got {}", m.on_demand_percent_above_base));
        }
        if !SPOT_STRATEGIES.contains(&m.spot_allocation_strategy.as_str()) {
            refused.push(format!(
                "spot_allocation_strategy {:?} is not one of {} ({RECOMMENDED} is recommended)",
                m.spot_allocation_strategy,
                SPOT_STRATEGIES.join(", ")
            ));
        } else if m.spot_allocation_strategy != RECOMMENDED {
            warned.push(format!("{RECOMMENDED} is the recommended spot allocation strategy (fewer interruptions at a low price)"));
        }
        let mut seen = std::collections::HashSet::new();
        for t in &m.instance_types {
            if !is_instance_type(t) {
                refused.push(format!("{t:?} is not an instance type (family.size, e.g. m6i.large)"));
            }
            if !seen.insert(t) {
                refused.push(format!("instance type {t} is listed twice"));
            }
        }
        if m.instance_types.is_empty() {
            refused.push("instance_types must list at least one instance type".into());
        }
        let spot = m.on_demand_percent_above_base < 100;
        if spot && m.instance_types.len() < 2 {
            refused.push(format!(
                "spot with {} instance type(s): one spot pool is one interruption away from no capacity; list at least 2 (3 or more recommended)",
                m.instance_types.len()
            ));
        } else if spot && m.instance_types.len() < 3 {
            warned.push("spot with 2 instance types: 3 or more (of similar size, several families) make interruptions rarer".into());
        }
        if !spot {
            warned.push("on_demand_percent_above_base is 100: the group runs no spot at all".into());
        }
    }
    (refused, warned)
}

/// `family.size`: lowercase letters, digits and `-`, one dot.
fn is_instance_type(t: &str) -> bool {
    let part = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    matches!(t.split_once('.'), Some((family, size)) if part(family) && part(size)) && t.len() <= 32
}

impl Capacities {
    /// Changes the group `kind`/`name` of `env` as `change` says (or only
    /// answers what would change, with `dry_run`).
    pub async fn change(
        &self,
        lc: &Arc<Lifecycle>,
        (env, live): (&Environment, &Live),
        (kind, name): (GroupKind, &str),
        change: GroupChange,
        who: Changer<'_>,
    ) -> Result<GroupChanged, DomainError> {
        let env_name = env.config.name.as_str();
        let what = format!("{} {name}", kind.noun());
        if !change.dry_run {
            // A dry run changes nothing: reviewing needs no confirmation.
            env.confirmed(change.confirm.as_deref())?;
        }
        let cluster = own_cluster(env).ok_or_else(|| {
            DomainError::Unprocessable(format!("{env_name} names no EKS cluster ([env.aws] eks_cluster): its groups cannot be changed"))
        })?;
        let group = env.aws().describe_group(cluster, kind, name).await.map_err(|e| match e {
            AdapterError::NotFound(m) => DomainError::NotFound(m),
            e => DomainError::Unavailable(format!("cannot describe {what}: {e}")),
        })?;
        let (refused, mut warnings) = check(kind, group.mix.is_some(), &change);
        if !refused.is_empty() {
            return Err(DomainError::Unprocessable(format!("{what} not changed: {}", refused.join("; "))));
        }
        lc.refuse_while_running(env).await?;

        let settings = lc.settings(env).await?;
        let awake = settings.as_ref().and_then(|s| s.capacity.iter().find(|c| c.kind == kind && c.name == name && !c.always_on));
        let asleep = awake.is_some_and(|a| a.desired > 0) && group.desired == 0;
        let now = Sizes { min: group.min, desired: group.desired, max: group.max };
        let target = if asleep && change.sizes.is_some() { SizesTarget::AwakeSizes } else { SizesTarget::Aws };
        let before = GroupSpec {
            sizes: match (target, awake) {
                (SizesTarget::AwakeSizes, Some(a)) => a.sizes(),
                _ => now,
            },
            mix: group.mix.as_ref().map(MixChange::of),
        };
        let after = GroupSpec { sizes: change.sizes.unwrap_or(before.sizes), mix: change.mix.clone().or(before.mix.clone()) };
        let scale_in = target == SizesTarget::Aws && after.sizes.desired < now.desired;
        if change.remove_nodes.is_some() && !scale_in {
            return Err(DomainError::Unprocessable(format!(
                "{what} not changed: remove_nodes names the nodes a lower desired removes, and desired is not lowered"
            )));
        }
        if scale_in {
            return self.scale_in(lc, (env, live), (&group, &what), (now, after.sizes), &change, who.name).await;
        }
        if target == SizesTarget::AwakeSizes && !who.may_configure {
            return Err(DomainError::Forbidden(format!(
                "{env_name} is asleep: new sizes of {what} would change what its next wake restores (its power settings), which needs an admin"
            )));
        }
        let message = describe(&what, target, &before, &after);
        if asleep && change.sizes.is_none() {
            warnings.push(format!("{env_name} is asleep: the mix applies to the instances its next wake starts"));
        }
        let answer = |message: String| GroupChanged {
            kind,
            name: name.to_string(),
            dry_run: change.dry_run,
            sizes_target: target,
            before: before.clone(),
            after: after.clone(),
            message,
            warnings: warnings.clone(),
            scale_in: Vec::new(),
            run: None,
        };
        if change.dry_run {
            return Ok(answer(message));
        }

        if let (SizesTarget::AwakeSizes, Some(mut s)) = (target, settings.clone()) {
            if let Some(g) = s.capacity.iter_mut().find(|c| c.kind == kind && c.name == name) {
                (g.min, g.desired, g.max) = (after.sizes.min, after.sizes.desired, after.sizes.max);
            }
            // Validated, stored and audited as any change of the power settings.
            lc.put_settings(env, s, who.name).await?;
        }
        let (sizes, mix) = changed((&before, &after), target);
        let aws = env.aws().set_group(cluster, kind, name, sizes.then_some(after.sizes), change.mix.as_ref().filter(|_| mix)).await;
        let aws_part = |spec: &GroupSpec| serde_json::json!({ "sizes": if target == SizesTarget::Aws { Some(spec.sizes) } else { None }, "mix": spec.mix });
        let entry = NewAuditEntry {
            actor: who.name.to_string(),
            action: "capacity.change".into(),
            env: Some(env_name.to_string()),
            target: Some(format!("{}/{name}", kind.as_str())),
            before: Some(aws_part(&before)),
            after: Some(aws_part(&after)),
            outcome: if aws.is_ok() { AuditOutcome::Ok } else { AuditOutcome::Error },
            message: aws.as_ref().err().map(|e| e.to_string()),
        };
        audit::record_or_undo(&self.db, entry, aws.is_ok(), || Self::undo(env, cluster, kind, name, (&before, &after), target)).await?;
        self.refresh(env_name);
        aws.map_err(|e| DomainError::Unavailable(format!("{what}: AWS refused the change ({e}); what AWS shows now is on the page")))?;
        Ok(answer(message))
    }

    /// Lowers desired of `group` — an Auto Scaling group or a managed node
    /// group — safely (`scale_in.rs`): answers which nodes go (a dry run stops
    /// there), or starts the run that drains them and then terminates exactly
    /// their instances.
    async fn scale_in(
        &self,
        lc: &Arc<Lifecycle>,
        (env, live): (&Environment, &Live),
        (group, what): (&Group, &str),
        (now, after): (Sizes, Sizes),
        change: &GroupChange,
        who: &str,
    ) -> Result<GroupChanged, DomainError> {
        let refuse = |why: String| Err(DomainError::Unprocessable(format!("{what} not changed: {why}")));
        if change.mix.is_some() {
            return refuse("a lower desired is a scale-in run: send the mix in a change of its own".into());
        }
        let cluster = own_cluster(env).unwrap_or_default();
        let nodes = {
            let objects = live.objects.read().unwrap_or_else(|p| p.into_inner());
            let described = Described { groups: vec![group.clone()], ..Default::default() };
            view::join(&env.config.name, cluster, &described, &objects, None).groups.pop().map(|g| g.nodes).unwrap_or_default()
        };
        let count = usize::try_from(now.desired - after.desired).unwrap_or_default();
        let chosen = match scale_in::choose(&nodes, count, change.remove_nodes.as_deref()) {
            Ok(c) => c,
            Err(why) => return refuse(why),
        };
        let plan =
            ScaleInPlan { kind: group.kind, cluster: cluster.to_string(), group: group.name.clone(), nodes: chosen, before: now, after };
        let pods: u32 = plan.nodes.iter().map(|n| n.pods).sum();
        let message = format!(
            "{what}: desired {} → {} by a safe scale-in — drain {} ({pods} pod(s) on them, DaemonSet pods included), then \
             terminate exactly their instances ({}) with a decrement of desired; sizes end at min {} / desired {} / max {}",
            now.desired,
            after.desired,
            plan.node_names().join(", "),
            plan.nodes.iter().map(|n| n.instance_id.as_str()).collect::<Vec<_>>().join(", "),
            after.min,
            after.desired,
            after.max
        );
        let spec = |sizes| GroupSpec { sizes, mix: group.mix.as_ref().map(MixChange::of) };
        let mut answer = GroupChanged {
            kind: group.kind,
            name: group.name.clone(),
            dry_run: change.dry_run,
            sizes_target: SizesTarget::Aws,
            before: spec(now),
            after: spec(after),
            message,
            warnings: Vec::new(),
            scale_in: plan.nodes.clone(),
            run: None,
        };
        if !change.dry_run {
            answer.run = Some(lc.start_scale_in(env, &plan, who).await?);
        }
        Ok(answer)
    }

    /// Puts back what a change of AWS did (it could not be audited).
    async fn undo(
        env: &Environment,
        cluster: &str,
        kind: GroupKind,
        name: &str,
        (before, after): (&GroupSpec, &GroupSpec),
        target: SizesTarget,
    ) -> Result<(), AdapterError> {
        let (sizes, mix) = changed((before, after), target);
        env.aws().set_group(cluster, kind, name, sizes.then_some(before.sizes), before.mix.as_ref().filter(|_| mix)).await
    }
}

/// Whether AWS's sizes and whether the mix change from `before` to `after`.
fn changed((before, after): (&GroupSpec, &GroupSpec), target: SizesTarget) -> (bool, bool) {
    (target == SizesTarget::Aws && before.sizes != after.sizes, before.mix != after.mix)
}

/// Before → after in words.
fn describe(what: &str, target: SizesTarget, before: &GroupSpec, after: &GroupSpec) -> String {
    let mut parts = Vec::new();
    let sizes = |s: &Sizes| format!("min {} / desired {} / max {}", s.min, s.desired, s.max);
    if before.sizes != after.sizes {
        parts.push(match target {
            SizesTarget::Aws => format!("sizes {} → {}", sizes(&before.sizes), sizes(&after.sizes)),
            SizesTarget::AwakeSizes => format!(
                "the sizes the next wake restores {} → {} (the environment is asleep: AWS is not changed now)",
                sizes(&before.sizes),
                sizes(&after.sizes)
            ),
        });
    }
    if let (Some(b), Some(a)) = (&before.mix, &after.mix)
        && b != a
    {
        let mix = |m: &MixChange| {
            format!(
                "on-demand base {}, {} % on-demand above it, {}, types {}",
                m.on_demand_base,
                m.on_demand_percent_above_base,
                m.spot_allocation_strategy,
                m.instance_types.join(", ")
            )
        };
        parts.push(format!("mix {} → {}", mix(b), mix(a)));
    }
    if parts.is_empty() { format!("{what}: nothing changes") } else { format!("{what}: {}", parts.join("; ")) }
}

#[cfg(test)]
mod tests;
