//! Load balancers made by the AWS Load Balancer Controller and the security
//! groups it manages for them, found by its tags (`elbv2.k8s.aws/cluster`,
//! `ingress.k8s.aws/stack`, `ingress.k8s.aws/resource`).

use super::{Account, sdk_error};
use crate::adapters::AdapterError;
use crate::adapters::waited::TimedExt;

pub const TAG_CLUSTER: &str = "elbv2.k8s.aws/cluster";
pub const TAG_STACK: &str = "ingress.k8s.aws/stack";
pub const TAG_RESOURCE: &str = "ingress.k8s.aws/resource";

/// A security group the controller created for a load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedSecurityGroup {
    pub id: String,
    pub name: String,
    pub stack: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancer {
    pub arn: String,
    pub name: String,
    pub dns_name: String,
    /// `namespace/name` of the Ingress (or the group name of an IngressGroup).
    pub stack: String,
    /// When AWS created it (no request can have reached it before).
    pub created: Option<chrono::DateTime<chrono::Utc>>,
}

impl Account {
    /// Every load balancer the controller of `cluster` owns.
    pub async fn controller_load_balancers(&self, cluster: &str) -> Result<Vec<LoadBalancer>, AdapterError> {
        let client = aws_sdk_elasticloadbalancingv2::Client::new(&self.ops());
        let mut all = Vec::new();
        let mut marker = None;
        loop {
            let page = client
                .describe_load_balancers()
                .set_marker(marker.take())
                .send()
                .timed()
                .await
                .map_err(|e| sdk_error("elasticloadbalancing:DescribeLoadBalancers", "(all)", e))?;
            all.extend(page.load_balancers().iter().filter_map(|lb| {
                Some((
                    lb.load_balancer_arn()?.to_string(),
                    lb.load_balancer_name().unwrap_or_default().to_string(),
                    lb.dns_name().unwrap_or_default().to_string(),
                    lb.created_time().and_then(|t| chrono::DateTime::from_timestamp(t.secs(), 0)),
                ))
            }));
            marker = page.next_marker().map(str::to_string);
            if marker.is_none() {
                break;
            }
        }
        let mut out = Vec::new();
        // DescribeTags takes at most 20 ARNs.
        for chunk in all.chunks(20) {
            let tags = client
                .describe_tags()
                .set_resource_arns(Some(chunk.iter().map(|(arn, ..)| arn.clone()).collect()))
                .send()
                .timed()
                .await
                .map_err(|e| sdk_error("elasticloadbalancing:DescribeTags", "(load balancers)", e))?;
            for desc in tags.tag_descriptions() {
                let tag = |k: &str| desc.tags().iter().find(|t| t.key() == Some(k)).and_then(|t| t.value()).map(str::to_string);
                if tag(TAG_CLUSTER).as_deref() != Some(cluster) {
                    continue;
                }
                let Some((arn, name, dns, created)) = chunk.iter().find(|(a, ..)| Some(a.as_str()) == desc.resource_arn()) else {
                    continue;
                };
                out.push(LoadBalancer {
                    arn: arn.clone(),
                    name: name.clone(),
                    dns_name: dns.clone(),
                    stack: tag(TAG_STACK).unwrap_or_default(),
                    created: *created,
                });
            }
        }
        Ok(out)
    }

    /// Every security group the controller of `cluster` manages for its load
    /// balancers (`ingress.k8s.aws/resource=ManagedLBSecurityGroup`).
    pub async fn controller_security_groups(&self, cluster: &str) -> Result<Vec<ManagedSecurityGroup>, AdapterError> {
        use aws_sdk_ec2::types::Filter;
        let client = aws_sdk_ec2::Client::new(&self.ops());
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = client
                .describe_security_groups()
                .filters(Filter::builder().name(format!("tag:{TAG_CLUSTER}")).values(cluster).build())
                .filters(Filter::builder().name(format!("tag:{TAG_RESOURCE}")).values("ManagedLBSecurityGroup").build())
                .set_next_token(token.take())
                .send()
                .timed()
                .await
                .map_err(|e| sdk_error("ec2:DescribeSecurityGroups", "(load balancer security groups)", e))?;
            out.extend(page.security_groups().iter().map(|g| {
                let tag = |k: &str| g.tags().iter().find(|t| t.key() == Some(k)).and_then(|t| t.value()).unwrap_or_default().to_string();
                ManagedSecurityGroup {
                    id: g.group_id().unwrap_or_default().to_string(),
                    name: g.group_name().unwrap_or_default().to_string(),
                    stack: tag(TAG_STACK),
                }
            }));
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        Ok(out)
    }
}
