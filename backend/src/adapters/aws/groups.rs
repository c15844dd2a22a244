//! The node groups of an EKS cluster as AWS describes them, for the capacity
//! view: every managed node group, every Auto Scaling group tagged
//! `kubernetes.io/cluster/<cluster>` (with its MixedInstancesPolicy) but
//! those EKS made for its managed node groups, and
//! those groups' EC2 instances with their lifecycle (spot or on-demand) — the
//! truth for mixed groups, whose nodes carry no capacity-type label.
//!
//! The answers are `mezame_shared::capacity::Group`s with the AWS side filled
//! in; the domain adds the Kubernetes nodes, the actual mix and the warnings.

use std::collections::HashMap;

use aws_sdk_autoscaling::types::{AutoScalingGroup, Filter as AsgFilter, MixedInstancesPolicy};
use aws_sdk_ec2::types::Instance as Ec2Instance;
use mezame_shared::capacity::{ActualMix, Group, InstanceRow, Mix};
use mezame_shared::power::GroupKind;

use super::{Account, sdk_error};
use crate::adapters::AdapterError;
use crate::adapters::waited::TimedExt;

/// EKS's tag on the Auto Scaling group of a managed node group (shown and
/// changed as the node group, not as an Auto Scaling group of its own).
pub const NODEGROUP_TAG: &str = "eks:nodegroup-name";

/// DescribeInstances takes at most this many ids per call.
const IDS_PER_CALL: usize = 200;

impl Account {
    /// The cluster's managed node groups, then its Auto Scaling groups, by name.
    pub async fn describe_groups(&self, cluster: &str) -> Result<Vec<Group>, AdapterError> {
        let (managed, asgs) = tokio::try_join!(self.managed_groups(cluster), self.cluster_asgs(cluster))?;
        Ok(managed.into_iter().chain(asgs).collect())
    }

    /// One group of the cluster, described as [`Account::describe_groups`]
    /// does; `NotFound` if the cluster has no such managed node group, or no
    /// Auto Scaling group of that name tagged for it.
    pub async fn describe_group(&self, cluster: &str, kind: GroupKind, name: &str) -> Result<Group, AdapterError> {
        match kind {
            GroupKind::Nodegroup => Ok(managed_group(&self.describe_nodegroup(cluster, name).await?)),
            GroupKind::Asg => {
                let g = self.describe_asg(name).await?;
                let tag = format!("kubernetes.io/cluster/{cluster}");
                if !g.tags().iter().any(|t| t.key() == Some(tag.as_str())) {
                    return Err(AdapterError::NotFound(format!(
                        "Auto Scaling group {name} is not tagged {tag}: not a group of cluster {cluster}"
                    )));
                }
                if let Some(ng) = g.tags().iter().find(|t| t.key() == Some(NODEGROUP_TAG)).and_then(|t| t.value()) {
                    return Err(AdapterError::NotFound(format!(
                        "Auto Scaling group {name} is EKS's for managed node group {ng}: it is the node group (nodegroup/{ng})"
                    )));
                }
                let ids: Vec<String> = g.instances().iter().filter_map(|i| i.instance_id().map(str::to_string)).collect();
                Ok(asg_group(&g, &self.instances_by_id(&ids).await?))
            }
        }
    }

    async fn managed_groups(&self, cluster: &str) -> Result<Vec<Group>, AdapterError> {
        let eks = aws_sdk_eks::Client::new(&self.ops());
        let mut names = Vec::new();
        let mut pages = eks.list_nodegroups().cluster_name(cluster).into_paginator().send();
        while let Some(page) = pages.next().timed().await {
            let page = page.map_err(|e| sdk_error("eks:ListNodegroups", cluster, e))?;
            names.extend(page.nodegroups().iter().cloned());
        }
        let described = futures::future::try_join_all(names.iter().map(|name| {
            let eks = eks.clone();
            async move {
                eks.describe_nodegroup()
                    .cluster_name(cluster)
                    .nodegroup_name(name)
                    .send()
                    .timed()
                    .await
                    .map_err(|e| sdk_error("eks:DescribeNodegroup", &format!("{cluster}/{name}"), e))
            }
        }))
        .await?;
        let mut out: Vec<Group> = described.iter().filter_map(|d| d.nodegroup()).map(managed_group).collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn cluster_asgs(&self, cluster: &str) -> Result<Vec<Group>, AdapterError> {
        let client = aws_sdk_autoscaling::Client::new(&self.ops());
        let tag = format!("kubernetes.io/cluster/{cluster}");
        let mut groups: Vec<AutoScalingGroup> = Vec::new();
        let mut pages = client
            .describe_auto_scaling_groups()
            .filters(AsgFilter::builder().name("tag-key").values(&tag).build())
            .into_paginator()
            .send();
        while let Some(page) = pages.next().timed().await {
            let page = page.map_err(|e| sdk_error("autoscaling:DescribeAutoScalingGroups", &tag, e))?;
            // A managed node group's own Auto Scaling group is that node group.
            let ours = |g: &&AutoScalingGroup| {
                g.tags().iter().any(|t| t.key() == Some(tag.as_str())) && !g.tags().iter().any(|t| t.key() == Some(NODEGROUP_TAG))
            };
            groups.extend(page.auto_scaling_groups().iter().filter(ours).cloned());
        }
        let ids: Vec<String> = groups.iter().flat_map(|g| g.instances()).filter_map(|i| i.instance_id().map(str::to_string)).collect();
        let ec2 = self.instances_by_id(&ids).await?;
        let mut out: Vec<Group> = groups.iter().map(|g| asg_group(g, &ec2)).collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn instances_by_id(&self, ids: &[String]) -> Result<HashMap<String, Ec2Instance>, AdapterError> {
        let client = aws_sdk_ec2::Client::new(&self.ops());
        let mut out = HashMap::new();
        for chunk in ids.chunks(IDS_PER_CALL) {
            let answer = client
                .describe_instances()
                .set_instance_ids(Some(chunk.to_vec()))
                .send()
                .timed()
                .await
                .map_err(|e| sdk_error("ec2:DescribeInstances", &format!("{} instances", chunk.len()), e))?;
            for i in answer.reservations().iter().flat_map(|r| r.instances()) {
                if let Some(id) = i.instance_id() {
                    out.insert(id.to_string(), i.clone());
                }
            }
        }
        Ok(out)
    }
}

fn managed_group(n: &aws_sdk_eks::types::Nodegroup) -> Group {
    let s = n.scaling_config();
    let health = n
        .health()
        .map(|h| h.issues())
        .unwrap_or_default()
        .iter()
        .map(|i| format!("{}: {}", i.code().map(|c| c.as_str()).unwrap_or("issue"), i.message().unwrap_or_default()))
        .collect();
    let labels = n.labels().into_iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect();
    Group {
        kind: GroupKind::Nodegroup,
        name: n.nodegroup_name().unwrap_or_default().to_string(),
        status: n.status().map(|s| s.as_str().to_string()).unwrap_or_else(|| "UNKNOWN".into()),
        capacity_type: n.capacity_type().map(|c| c.as_str().to_string()).unwrap_or_else(|| "ON_DEMAND".into()),
        instance_types: n.instance_types().to_vec(),
        ami_type: n.ami_type().map(|a| a.as_str().to_string()),
        min: s.and_then(|s| s.min_size()).unwrap_or(0),
        desired: s.and_then(|s| s.desired_size()).unwrap_or(0),
        max: s.and_then(|s| s.max_size()).unwrap_or(0),
        health,
        labels,
        taints: n
            .taints()
            .iter()
            .map(|t| {
                let effect = t.effect().map(|e| e.as_str()).unwrap_or_default();
                match t.value() {
                    Some(v) => format!("{}={v}:{effect}", t.key().unwrap_or_default()),
                    None => format!("{}:{effect}", t.key().unwrap_or_default()),
                }
            })
            .collect(),
        mix: None,
        instances: Vec::new(),
        actual: ActualMix::default(),
        nodes: Vec::new(),
        warnings: Vec::new(),
        awake: None,
        cost: Default::default(),
    }
}

fn asg_group(g: &AutoScalingGroup, ec2: &HashMap<String, Ec2Instance>) -> Group {
    let mix = g.mixed_instances_policy().map(|p| declared_mix(p, g.capacity_rebalance().unwrap_or(false)));
    let instances = g
        .instances()
        .iter()
        .filter_map(|i| {
            let id = i.instance_id()?.to_string();
            let described = ec2.get(&id);
            Some(InstanceRow {
                instance_type: i.instance_type().map(str::to_string).unwrap_or_default(),
                zone: i.availability_zone().unwrap_or_default().to_string(),
                // EC2 names spot (and scheduled) instances; an absent lifecycle is on-demand.
                lifecycle: match described.and_then(|d| d.instance_lifecycle()).map(|l| l.as_str()) {
                    Some("spot") => "spot".into(),
                    _ => "on-demand".into(),
                },
                state: i.lifecycle_state().map(|s| s.as_str().to_string()).unwrap_or_default(),
                health: i.health_status().unwrap_or_default().to_string(),
                // Set by the domain once a node with this instance id has joined.
                node: None,
                // Priced by the domain.
                hourly: None,
                id,
            })
        })
        .collect();
    let instance_types = match &mix {
        Some(m) => m.instance_types.clone(),
        None => g
            .instances()
            .iter()
            .filter_map(|i| i.instance_type().map(str::to_string))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
    };
    Group {
        kind: GroupKind::Asg,
        name: g.auto_scaling_group_name().unwrap_or_default().to_string(),
        status: g.status().unwrap_or("Active").to_string(),
        capacity_type: if mix.is_some() { "MIXED" } else { "ON_DEMAND" }.into(),
        instance_types,
        ami_type: None,
        min: g.min_size().unwrap_or(0),
        desired: g.desired_capacity().unwrap_or(0),
        max: g.max_size().unwrap_or(0),
        health: Vec::new(),
        labels: Default::default(),
        taints: Vec::new(),
        mix,
        instances,
        actual: ActualMix::default(),
        nodes: Vec::new(),
        warnings: Vec::new(),
        awake: None,
        cost: Default::default(),
    }
}

/// The policy as declared; AWS's defaults where it says nothing (base 0, 100 % on-demand above it).
fn declared_mix(p: &MixedInstancesPolicy, capacity_rebalance: bool) -> Mix {
    let d = p.instances_distribution();
    let lt = p.launch_template();
    let spec = lt.and_then(|l| l.launch_template_specification());
    Mix {
        on_demand_base: d.and_then(|d| d.on_demand_base_capacity()).unwrap_or(0),
        on_demand_percent_above_base: d.and_then(|d| d.on_demand_percentage_above_base_capacity()).unwrap_or(100),
        spot_allocation_strategy: d.and_then(|d| d.spot_allocation_strategy()).map(str::to_string),
        instance_types: lt
            .map(|l| l.overrides())
            .unwrap_or_default()
            .iter()
            .filter_map(|o| o.instance_type().map(str::to_string))
            .collect(),
        capacity_rebalance,
        launch_template: spec.and_then(|s| {
            let which = s.launch_template_id().or(s.launch_template_name())?;
            Some(match s.version() {
                Some(v) => format!("{which} ({v})"),
                None => which.to_string(),
            })
        }),
    }
}
