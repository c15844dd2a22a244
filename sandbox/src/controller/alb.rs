//! The AWS Load Balancer Controller, emulated with the real one's conventions
//! (load balancer and security group names, tags, finalizer, status), and only
//! while its kwok pod in `kube-system` is Running: with no node for it, an
//! Ingress's load balancer is never created — and never deleted, so the
//! Ingress hangs in deletion and the ALB leaks, as on the platform.
//!
//! As in AWS, a deleted load balancer keeps its network interfaces for a
//! while ([`ENI_RELEASE`]): its security group cannot be deleted before
//! (`DependencyViolation`), and the Ingress keeps its finalizer until it is.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_sdk_elasticloadbalancingv2::types::{LoadBalancerSchemeEnum, LoadBalancerTypeEnum, Tag as ElbTag};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ListParams, Patch, PatchParams};
use sha2::{Digest, Sha256};

use crate::aws::Aws;
use crate::platform::EnvSpec;

/// Finalizer of an Ingress of an implicit group.
pub const FINALIZER: &str = "ingress.k8s.aws/resources";
pub const TAG_CLUSTER: &str = "elbv2.k8s.aws/cluster";
pub const TAG_STACK: &str = "ingress.k8s.aws/stack";
pub const TAG_RESOURCE: &str = "ingress.k8s.aws/resource";

/// How long a deleted load balancer's network interfaces keep its security group in use.
pub const ENI_RELEASE: Duration = Duration::from_secs(3);

pub struct Alb {
    client: kube::Client,
    aws: Aws,
    cluster: String,
    /// When each stack's load balancer was deleted (its ENIs are released after [`ENI_RELEASE`]).
    lb_deleted: HashMap<String, Instant>,
}

impl Alb {
    pub fn new(client: kube::Client, aws: Aws, env: &EnvSpec) -> Alb {
        Alb { client, aws, cluster: env.eks_cluster(), lb_deleted: HashMap::new() }
    }

    pub async fn reconcile(&mut self) -> Result<()> {
        if !super::addon_running(&self.client, "kube-system", "aws-load-balancer-controller").await? {
            return Ok(());
        }
        let ingresses: Api<Ingress> = Api::all(self.client.clone());
        for ing in ingresses.list(&ListParams::default()).await?.items {
            if !is_alb(&ing) {
                continue;
            }
            let ns = ing.metadata.namespace.clone().unwrap_or_default();
            let name = ing.metadata.name.clone().unwrap_or_default();
            let api: Api<Ingress> = Api::namespaced(self.client.clone(), &ns);
            let finalizers = ing.metadata.finalizers.clone().unwrap_or_default();
            let has_finalizer = finalizers.iter().any(|f| f == FINALIZER);
            if ing.metadata.deletion_timestamp.is_some() {
                if has_finalizer {
                    if !self.delete_stack(&ns, &name).await? {
                        continue;
                    }
                    let rest: Vec<&String> = finalizers.iter().filter(|f| *f != FINALIZER).collect();
                    api.patch(
                        &name,
                        &PatchParams::default(),
                        &Patch::Merge(serde_json::json!({
                            "metadata": {"finalizers": rest, "resourceVersion": ing.metadata.resource_version}
                        })),
                    )
                    .await?;
                    tracing::info!(ingress = %format!("{ns}/{name}"), "load balancer deleted, finalizer removed");
                }
                continue;
            }
            if !has_finalizer {
                let mut all = finalizers.clone();
                all.push(FINALIZER.to_string());
                api.patch(
                    &name,
                    &PatchParams::default(),
                    &Patch::Merge(serde_json::json!({
                        "metadata": {"finalizers": all, "resourceVersion": ing.metadata.resource_version}
                    })),
                )
                .await?;
            }
            let dns = self.ensure_stack(&ing, &ns, &name).await?;
            let published = ing
                .status
                .as_ref()
                .and_then(|s| s.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.as_ref())
                .and_then(|i| i.first())
                .and_then(|i| i.hostname.clone());
            if published.as_deref() != Some(dns.as_str()) {
                api.patch_status(
                    &name,
                    &PatchParams::default(),
                    &Patch::Merge(serde_json::json!({
                        "status": {"loadBalancer": {"ingress": [{"hostname": dns}]}}
                    })),
                )
                .await?;
                tracing::info!(ingress = %format!("{ns}/{name}"), dns, "load balancer ready");
            }
        }
        Ok(())
    }

    /// The load balancer (and its managed security group) of an Ingress;
    /// returns its DNS name.
    async fn ensure_stack(&self, ing: &Ingress, ns: &str, name: &str) -> Result<String> {
        let stack = format!("{ns}/{name}");
        if let Some((_, dns)) = self.find_load_balancer(&stack).await? {
            return Ok(dns);
        }
        let scheme = ing
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("alb.ingress.kubernetes.io/scheme"))
            .map(String::as_str)
            .unwrap_or("internal");
        let role = if scheme == "internet-facing" { "kubernetes.io/role/elb" } else { "kubernetes.io/role/internal-elb" };
        let subnets = self
            .aws
            .ec2
            .describe_subnets()
            .filters(aws_sdk_ec2::types::Filter::builder().name("tag-key").values(role).build())
            .send()
            .await?;
        let subnet_ids: Vec<String> = subnets.subnets().iter().filter_map(|s| s.subnet_id().map(str::to_string)).collect();
        let vpc = subnets.subnets().first().and_then(|s| s.vpc_id()).context("no subnet tagged for load balancers")?.to_string();
        let sg = self.ensure_security_group(&stack, ns, name, &vpc).await?;
        let tags = [(TAG_CLUSTER, self.cluster.as_str()), (TAG_STACK, stack.as_str()), (TAG_RESOURCE, "LoadBalancer")];
        let created = self
            .aws
            .elb
            .create_load_balancer()
            .name(load_balancer_name(&self.cluster, ns, name, scheme))
            .set_subnets(Some(subnet_ids))
            .security_groups(sg)
            .scheme(LoadBalancerSchemeEnum::from(scheme))
            .r#type(LoadBalancerTypeEnum::Application)
            .set_tags(Some(tags.iter().map(|(k, v)| ElbTag::builder().key(*k).value(*v).build()).collect()))
            .send()
            .await
            .context("elbv2:CreateLoadBalancer")?;
        let dns = created.load_balancers().first().and_then(|lb| lb.dns_name()).context("CreateLoadBalancer returned no DNS name")?;
        Ok(dns.to_lowercase())
    }

    async fn ensure_security_group(&self, stack: &str, ns: &str, name: &str, vpc: &str) -> Result<String> {
        if let Some(id) = self.find_security_group(stack).await? {
            return Ok(id);
        }
        let group = self
            .aws
            .ec2
            .create_security_group()
            .group_name(security_group_name(&self.cluster, ns, name))
            .description("[k8s] Managed SecurityGroup for LoadBalancer")
            .vpc_id(vpc)
            .tag_specifications(
                aws_sdk_ec2::types::TagSpecification::builder()
                    .resource_type(aws_sdk_ec2::types::ResourceType::SecurityGroup)
                    .tags(aws_sdk_ec2::types::Tag::builder().key(TAG_CLUSTER).value(&self.cluster).build())
                    .tags(aws_sdk_ec2::types::Tag::builder().key(TAG_STACK).value(stack).build())
                    .tags(aws_sdk_ec2::types::Tag::builder().key(TAG_RESOURCE).value("ManagedLBSecurityGroup").build())
                    .build(),
            )
            .send()
            .await
            .context("ec2:CreateSecurityGroup")?;
        Ok(group.group_id().unwrap_or_default().to_string())
    }

    async fn find_security_group(&self, stack: &str) -> Result<Option<String>> {
        let out = self
            .aws
            .ec2
            .describe_security_groups()
            .filters(aws_sdk_ec2::types::Filter::builder().name(format!("tag:{TAG_STACK}")).values(stack).build())
            .filters(aws_sdk_ec2::types::Filter::builder().name(format!("tag:{TAG_CLUSTER}")).values(&self.cluster).build())
            .send()
            .await?;
        Ok(out.security_groups().first().and_then(|g| g.group_id()).map(str::to_string))
    }

    /// (ARN, DNS name) of the load balancer tagged with this stack.
    async fn find_load_balancer(&self, stack: &str) -> Result<Option<(String, String)>> {
        let lbs = self.aws.elb.describe_load_balancers().send().await?;
        let arns: Vec<String> = lbs.load_balancers().iter().filter_map(|lb| lb.load_balancer_arn().map(str::to_string)).collect();
        if arns.is_empty() {
            return Ok(None);
        }
        let tags = self.aws.elb.describe_tags().set_resource_arns(Some(arns)).send().await?;
        for desc in tags.tag_descriptions() {
            let has = |k: &str, v: &str| desc.tags().iter().any(|t| t.key() == Some(k) && t.value() == Some(v));
            if has(TAG_STACK, stack) && has(TAG_CLUSTER, &self.cluster) {
                let arn = desc.resource_arn().unwrap_or_default();
                let dns = lbs
                    .load_balancers()
                    .iter()
                    .find(|lb| lb.load_balancer_arn() == Some(arn))
                    .and_then(|lb| lb.dns_name())
                    .unwrap_or_default();
                return Ok(Some((arn.to_string(), dns.to_lowercase())));
            }
        }
        Ok(None)
    }

    /// Deletes the load balancer, then — once its network interfaces are
    /// released — its security group (the controller's order); true when both are gone.
    async fn delete_stack(&mut self, ns: &str, name: &str) -> Result<bool> {
        let stack = format!("{ns}/{name}");
        if let Some((arn, _)) = self.find_load_balancer(&stack).await? {
            self.aws.elb.delete_load_balancer().load_balancer_arn(arn).send().await.context("elbv2:DeleteLoadBalancer")?;
            self.lb_deleted.insert(stack.clone(), Instant::now());
        }
        if let Some(id) = self.find_security_group(&stack).await? {
            if self.lb_deleted.get(&stack).is_some_and(|at| at.elapsed() < ENI_RELEASE) {
                tracing::info!(stack, "security group still in use by the load balancer's network interfaces");
                return Ok(false);
            }
            self.aws.ec2.delete_security_group().group_id(id).send().await.context("ec2:DeleteSecurityGroup")?;
        }
        self.lb_deleted.remove(&stack);
        Ok(true)
    }
}

/// An Ingress for this controller: class `alb` (field or legacy annotation).
fn is_alb(ing: &Ingress) -> bool {
    let annotation = ing.metadata.annotations.as_ref().and_then(|a| a.get("kubernetes.io/ingress.class"));
    match annotation {
        Some(class) => class == "alb",
        None => ing.spec.as_ref().and_then(|s| s.ingress_class_name.as_deref()) == Some("alb"),
    }
}

fn alnum(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn short(s: &str, n: usize) -> &str {
    &s[..s.len().min(n)]
}

/// `k8s-<ns:8>-<name:8>-<sha256(cluster, ns/name, scheme):10>`, as the controller names it.
pub fn load_balancer_name(cluster: &str, ns: &str, name: &str, scheme: &str) -> String {
    let mut h = Sha256::new();
    h.update(cluster.as_bytes());
    h.update(format!("{ns}/{name}").as_bytes());
    h.update(scheme.as_bytes());
    let hash = hex(&h.finalize());
    format!("k8s-{}-{}-{}", short(&alnum(ns), 8), short(&alnum(name), 8), short(&hash, 10))
}

/// `k8s-<ns:8>-<name:8>-<sha256(cluster, ns/name):10>`
pub fn security_group_name(cluster: &str, ns: &str, name: &str) -> String {
    let mut h = Sha256::new();
    h.update(cluster.as_bytes());
    h.update(format!("{ns}/{name}").as_bytes());
    let hash = hex(&h.finalize());
    format!("k8s-{}-{}-{}", short(&alnum(ns), 8), short(&alnum(name), 8), short(&hash, 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_controller() {
        let n = load_balancer_name("platform-dev", "ambassador", "ambassador", "internet-facing");
        assert!(n.starts_with("k8s-ambassad-ambassad-"), "{n}");
        assert_eq!(n.len(), "k8s-ambassad-ambassad-".len() + 10);
        assert!(n.len() <= 32, "ELBv2 names are at most 32 characters");
        assert_ne!(n, load_balancer_name("platform-dev", "ambassador", "ambassador", "internal"));
        assert!(load_balancer_name("c", "a-b", "x.y", "internal").starts_with("k8s-ab-xy-"));
    }
}
