//! EKS managed node groups as EKS runs them: each is backed by an Auto Scaling
//! group — the one its `resources.autoScalingGroups` names, which moto does
//! not create (the controller does, as EKS does on CreateNodegroup, tagged as
//! EKS tags it) — and the two keep the same sizes, both ways:
//! - a change of the node group (UpdateNodegroupConfig: a person, mezame's
//!   power and capacity changes) is pushed to its Auto Scaling group, which
//!   launches or terminates instances (picking which itself);
//! - a change of the Auto Scaling group behind the node group's back (a
//!   TerminateInstanceInAutoScalingGroup with a decrement, as
//!   cluster-autoscaler and mezame's safe scale-in remove chosen nodes) is
//!   what the node group describes next.

use std::collections::HashMap;

use anyhow::{Context, Result};
use aws_sdk_autoscaling::types as asg;
use aws_sdk_ec2::types::{InstanceType, RequestLaunchTemplateData};
use aws_sdk_eks::types::{Nodegroup, NodegroupScalingConfig};

use crate::aws::{Aws, asg_tags};

/// Tag of an Auto Scaling group (and its instances) that backs a managed node group.
pub const NODEGROUP_TAG: &str = "eks:nodegroup-name";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sizes {
    min: i32,
    desired: i32,
    max: i32,
}

/// The sizes each node group and its Auto Scaling group last agreed on, by
/// node group (lost on a restart: the node group's are then pushed).
#[derive(Default)]
pub struct Synced(HashMap<String, Sizes>);

impl Synced {
    /// Creates the node group's Auto Scaling group if it is missing and brings
    /// the two sizes together; answers the ids of the group's instances that
    /// are in service or pending. `image`: the AMI of a new launch template.
    pub async fn reconcile(&mut self, aws: &Aws, cluster: &str, ng: &Nodegroup, image: &str) -> Result<Vec<String>> {
        let name = ng.nodegroup_name().unwrap_or_default().to_string();
        let asg_name = ng
            .resources()
            .and_then(|r| r.auto_scaling_groups().first())
            .and_then(|g| g.name())
            .with_context(|| format!("node group {name} names no Auto Scaling group"))?;
        let wanted = sizes(ng);
        let found = aws.asg.describe_auto_scaling_groups().auto_scaling_group_names(asg_name).send().await?;
        let Some(group) = found.auto_scaling_groups().first() else {
            create(aws, cluster, ng, asg_name, image, wanted).await?;
            self.0.insert(name, wanted);
            return Ok(Vec::new());
        };
        let actual = Sizes {
            min: group.min_size().unwrap_or(0),
            desired: group.desired_capacity().unwrap_or(0),
            max: group.max_size().unwrap_or(0),
        };
        match self.0.get(&name) {
            Some(last) if *last == wanted && actual != wanted => {
                tracing::info!(nodegroup = name, ?actual, "its Auto Scaling group changed: the node group follows");
                aws.eks
                    .update_nodegroup_config()
                    .cluster_name(cluster)
                    .nodegroup_name(&name)
                    .scaling_config(
                        NodegroupScalingConfig::builder().min_size(actual.min).desired_size(actual.desired).max_size(actual.max).build(),
                    )
                    .send()
                    .await
                    .context("eks:UpdateNodegroupConfig")?;
                self.0.insert(name, actual);
            }
            Some(last) if *last == wanted => {}
            _ => {
                if actual != wanted {
                    tracing::info!(nodegroup = name, ?wanted, "node group changed: its Auto Scaling group follows");
                    aws.asg
                        .update_auto_scaling_group()
                        .auto_scaling_group_name(asg_name)
                        .min_size(wanted.min)
                        .desired_capacity(wanted.desired)
                        .max_size(wanted.max)
                        .send()
                        .await
                        .context("autoscaling:UpdateAutoScalingGroup")?;
                }
                self.0.insert(name, wanted);
            }
        }
        Ok(in_service(group))
    }
}

/// The ids of the group's instances that are in service or pending.
pub fn in_service(group: &asg::AutoScalingGroup) -> Vec<String> {
    group
        .instances()
        .iter()
        .filter(|i| i.lifecycle_state().is_some_and(|s| matches!(s.as_str(), "InService" | "Pending")))
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect()
}

fn sizes(ng: &Nodegroup) -> Sizes {
    let s = ng.scaling_config();
    Sizes {
        min: s.and_then(|s| s.min_size()).unwrap_or(0),
        desired: s.and_then(|s| s.desired_size()).unwrap_or(0),
        max: s.and_then(|s| s.max_size()).unwrap_or(0),
    }
}

/// The node group's Auto Scaling group, on a launch template of the same
/// name (its first instance type), in its subnets, at its sizes.
async fn create(aws: &Aws, cluster: &str, ng: &Nodegroup, name: &str, image: &str, at: Sizes) -> Result<()> {
    let nodegroup = ng.nodegroup_name().unwrap_or_default();
    tracing::info!(nodegroup, asg = name, "creating the node group's Auto Scaling group");
    let has_template =
        aws.ec2.describe_launch_templates().launch_template_names(name).send().await.is_ok_and(|r| !r.launch_templates().is_empty());
    if !has_template {
        let instance_type = ng.instance_types().first().map(String::as_str).unwrap_or("t3.large");
        aws.ec2
            .create_launch_template()
            .launch_template_name(name)
            .launch_template_data(
                RequestLaunchTemplateData::builder().image_id(image).instance_type(InstanceType::from(instance_type)).build(),
            )
            .send()
            .await
            .context("ec2:CreateLaunchTemplate (node group)")?;
    }
    let name_tag = format!("{cluster}-{nodegroup}-node");
    let tags = asg_tags(name, cluster, &[("Name", &name_tag), ("eks:cluster-name", cluster), (NODEGROUP_TAG, nodegroup)]);
    aws.asg
        .create_auto_scaling_group()
        .auto_scaling_group_name(name)
        .launch_template(asg::LaunchTemplateSpecification::builder().launch_template_name(name).version("$Latest").build())
        .min_size(at.min)
        .max_size(at.max)
        .desired_capacity(at.desired)
        .vpc_zone_identifier(ng.subnets().join(","))
        .set_tags(Some(tags))
        .send()
        .await
        .context("autoscaling:CreateAutoScalingGroup (node group)")?;
    Ok(())
}
