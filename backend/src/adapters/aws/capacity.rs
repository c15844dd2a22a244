//! Node capacity: EKS managed node groups and (spot) Auto Scaling groups.

use aws_sdk_autoscaling::types::{AutoScalingGroup, InstancesDistribution, LaunchTemplateOverrides, MixedInstancesPolicy};
use aws_sdk_eks::types::NodegroupScalingConfig;
use mezame_shared::capacity::MixChange;
use mezame_shared::power::GroupKind;

use super::{Account, sdk_error};
use crate::adapters::AdapterError;
use crate::adapters::waited::TimedExt;

pub use mezame_shared::capacity::Sizes;

impl Account {
    /// The sizes of a node group or an Auto Scaling group, and (for an Auto
    /// Scaling group) its instances' ids.
    pub async fn group_sizes(&self, cluster: &str, kind: GroupKind, name: &str) -> Result<(Sizes, Vec<String>), AdapterError> {
        match kind {
            GroupKind::Nodegroup => Ok((self.nodegroup_sizes(cluster, name).await?, Vec::new())),
            GroupKind::Asg => self.asg_sizes(name).await,
        }
    }

    /// [`Account::group_sizes`] for read paths (the state shown to people):
    /// answered from a 5 s cache, one call in flight per group.
    pub async fn group_sizes_cached(&self, cluster: &str, kind: GroupKind, name: &str) -> Result<Sizes, AdapterError> {
        self.sizes
            .get((kind, cluster.to_string(), name.to_string()), || async {
                self.group_sizes(cluster, kind, name).await.map(|(s, _)| s).map_err(|e| e.to_string())
            })
            .await
            .map_err(AdapterError::Aws)
    }

    pub async fn set_group_sizes(&self, cluster: &str, kind: GroupKind, name: &str, sizes: Sizes) -> Result<(), AdapterError> {
        self.set_group(cluster, kind, name, Some(sizes), None).await
    }

    /// Sets the group's sizes and/or (an Auto Scaling group's) mix, in one
    /// update. An error for a mix on a managed node group.
    pub async fn set_group(
        &self,
        cluster: &str,
        kind: GroupKind,
        name: &str,
        sizes: Option<Sizes>,
        mix: Option<&MixChange>,
    ) -> Result<(), AdapterError> {
        match (kind, sizes, mix) {
            (GroupKind::Nodegroup, _, Some(_)) => {
                Err(AdapterError::Aws(format!("node group {name}: a managed node group has no spot mix")))
            }
            (GroupKind::Nodegroup, Some(sizes), None) => self.set_nodegroup_sizes(cluster, name, sizes).await,
            (GroupKind::Nodegroup, None, None) => Ok(()),
            (GroupKind::Asg, sizes, mix) => self.set_asg(name, sizes, mix).await,
        }
    }

    /// The node group, described; `NotFound` if the cluster has no such node group.
    pub(super) async fn describe_nodegroup(&self, cluster: &str, name: &str) -> Result<aws_sdk_eks::types::Nodegroup, AdapterError> {
        let target = format!("{cluster}/{name}");
        let out = aws_sdk_eks::Client::new(&self.ops())
            .describe_nodegroup()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .send()
            .timed()
            .await
            .map_err(|e| {
                if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) {
                    AdapterError::NotFound(format!("EKS cluster {cluster} has no managed node group {name}"))
                } else {
                    sdk_error("eks:DescribeNodegroup", &target, e)
                }
            })?;
        out.nodegroup().cloned().ok_or_else(|| AdapterError::NotFound(format!("EKS cluster {cluster} has no managed node group {name}")))
    }

    /// The node group's sizes; `NotFound` if the cluster has no such node group.
    pub async fn nodegroup_sizes(&self, cluster: &str, name: &str) -> Result<Sizes, AdapterError> {
        let n = self.describe_nodegroup(cluster, name).await?;
        let s = n.scaling_config();
        Ok(Sizes {
            min: s.and_then(|s| s.min_size()).unwrap_or(0),
            desired: s.and_then(|s| s.desired_size()).unwrap_or(0),
            max: s.and_then(|s| s.max_size()).unwrap_or(0),
        })
    }

    /// The Auto Scaling group EKS made for the managed node group (its
    /// instances are there); `NotFound` if the cluster has no such node group
    /// or EKS names none.
    pub async fn nodegroup_asg(&self, cluster: &str, name: &str) -> Result<String, AdapterError> {
        let n = self.describe_nodegroup(cluster, name).await?;
        n.resources().and_then(|r| r.auto_scaling_groups().first()).and_then(|g| g.name()).map(str::to_string).ok_or_else(|| {
            AdapterError::NotFound(format!("EKS names no Auto Scaling group for node group {cluster}/{name} (still creating?)"))
        })
    }

    pub async fn set_nodegroup_sizes(&self, cluster: &str, name: &str, sizes: Sizes) -> Result<(), AdapterError> {
        aws_sdk_eks::Client::new(&self.ops())
            .update_nodegroup_config()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .scaling_config(NodegroupScalingConfig::builder().min_size(sizes.min).desired_size(sizes.desired).max_size(sizes.max).build())
            .send()
            .timed()
            .await
            .map_err(|e| sdk_error("eks:UpdateNodegroupConfig", &format!("{cluster}/{name}"), e))?;
        Ok(())
    }

    /// The Auto Scaling group, described; `NotFound` if there is none.
    pub(super) async fn describe_asg(&self, name: &str) -> Result<AutoScalingGroup, AdapterError> {
        let out = aws_sdk_autoscaling::Client::new(&self.ops())
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(name)
            .send()
            .timed()
            .await
            .map_err(|e| sdk_error("autoscaling:DescribeAutoScalingGroups", name, e))?;
        out.auto_scaling_groups().first().cloned().ok_or_else(|| AdapterError::NotFound(format!("no Auto Scaling group named {name}")))
    }

    /// The Auto Scaling group's sizes and its instances' ids.
    pub async fn asg_sizes(&self, name: &str) -> Result<(Sizes, Vec<String>), AdapterError> {
        let g = self.describe_asg(name).await?;
        let ids = g.instances().iter().filter_map(|i| i.instance_id().map(str::to_string)).collect();
        Ok((Sizes { min: g.min_size().unwrap_or(0), desired: g.desired_capacity().unwrap_or(0), max: g.max_size().unwrap_or(0) }, ids))
    }

    /// The Auto Scaling group's tags (`NotFound` if there is no such group).
    pub async fn asg_tags(&self, name: &str) -> Result<Vec<(String, String)>, AdapterError> {
        let g = self.describe_asg(name).await?;
        Ok(g.tags().iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect())
    }

    pub async fn set_asg_sizes(&self, name: &str, sizes: Sizes) -> Result<(), AdapterError> {
        self.set_asg(name, Some(sizes), None).await
    }

    /// Terminates one instance of its Auto Scaling group and lowers the
    /// group's desired capacity by one (nothing replaces it).
    pub async fn terminate_in_asg(&self, instance_id: &str) -> Result<(), AdapterError> {
        aws_sdk_autoscaling::Client::new(&self.ops())
            .terminate_instance_in_auto_scaling_group()
            .instance_id(instance_id)
            .should_decrement_desired_capacity(true)
            .send()
            .timed()
            .await
            .map_err(|e| sdk_error("autoscaling:TerminateInstanceInAutoScalingGroup", instance_id, e))?;
        Ok(())
    }

    /// Sets the Auto Scaling group's sizes and/or the steerable part of its
    /// MixedInstancesPolicy — the distribution's base, % above base and spot
    /// strategy, and the overrides' instance types (an override kept keeps its
    /// weight and launch template) — with one describe and one update.
    /// Everything else of the policy is sent back as described, the launch
    /// template by id or by name; the policy is sent back even when only the
    /// sizes change: moto (5.2.5) drops a policy an UpdateAutoScalingGroup does
    /// not repeat (AWS keeps it), which would turn a spot group on-demand.
    /// `NotFound` if there is no such group; an error for a mix on a group
    /// without a MixedInstancesPolicy.
    async fn set_asg(&self, name: &str, sizes: Option<Sizes>, mix: Option<&MixChange>) -> Result<(), AdapterError> {
        if sizes.is_none() && mix.is_none() {
            return Ok(());
        }
        let g = self.describe_asg(name).await?;
        let mut policy = g.mixed_instances_policy().map(resendable);
        if let Some(mix) = mix {
            let Some(policy) = policy.as_mut() else {
                return Err(AdapterError::Aws(format!("Auto Scaling group {name} has no MixedInstancesPolicy to change")));
            };
            steer(policy, mix);
        }
        aws_sdk_autoscaling::Client::new(&self.ops())
            .update_auto_scaling_group()
            .auto_scaling_group_name(name)
            .set_min_size(sizes.map(|s| s.min))
            .set_desired_capacity(sizes.map(|s| s.desired))
            .set_max_size(sizes.map(|s| s.max))
            .set_mixed_instances_policy(policy)
            .send()
            .timed()
            .await
            .map_err(|e| sdk_error("autoscaling:UpdateAutoScalingGroup", name, e))?;
        Ok(())
    }
}

/// `policy` steered as `mix` says.
fn steer(policy: &mut MixedInstancesPolicy, mix: &MixChange) {
    let dist = policy.instances_distribution.get_or_insert_with(|| InstancesDistribution::builder().build());
    dist.on_demand_base_capacity = Some(mix.on_demand_base);
    dist.on_demand_percentage_above_base_capacity = Some(mix.on_demand_percent_above_base);
    dist.spot_allocation_strategy = Some(mix.spot_allocation_strategy.clone());
    if let Some(lt) = policy.launch_template.as_mut() {
        let old = lt.overrides.take().unwrap_or_default();
        lt.overrides = Some(
            mix.instance_types
                .iter()
                .map(|t| {
                    old.iter()
                        .find(|o| o.instance_type() == Some(t.as_str()))
                        .cloned()
                        .unwrap_or_else(|| LaunchTemplateOverrides::builder().instance_type(t).build())
                })
                .collect(),
        );
    }
}

/// A described policy fit to be sent back: its launch template named by id or
/// by name, not both (which AWS refuses).
fn resendable(p: &MixedInstancesPolicy) -> MixedInstancesPolicy {
    let mut p = p.clone();
    if let Some(lt) = p.launch_template.as_mut()
        && let Some(spec) = lt.launch_template_specification.as_mut()
        && spec.launch_template_id.is_some()
    {
        spec.launch_template_name = None;
    }
    p
}
