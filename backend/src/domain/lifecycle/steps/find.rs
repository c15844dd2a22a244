//! What in the cluster the power settings designate, read as JSON.

use mezame_shared::power::{CapacityGroup, GroupKind};
use serde_json::Value;

use crate::adapters::aws::Sizes;

use crate::adapters::kube::resources::Kind;
use crate::domain::lifecycle::ctx::{Ctx, StepResult};
use crate::domain::lifecycle::record::Record;

pub fn str_at<'v>(v: &'v Value, pointer: &str) -> &'v str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

pub fn int_at(v: &Value, pointer: &str) -> Option<i64> {
    v.pointer(pointer).and_then(Value::as_i64)
}

pub fn namespace(v: &Value) -> &str {
    str_at(v, "/metadata/namespace")
}

pub fn name(v: &Value) -> &str {
    str_at(v, "/metadata/name")
}

/// `exclude` entries: `name`, `namespace/name` or `label=value`.
pub fn excluded(exclude: &[String], object: &Value) -> bool {
    exclude.iter().any(|e| {
        if let Some((k, v)) = e.split_once('=') {
            object.pointer("/metadata/labels").and_then(|l| l.get(k)).and_then(Value::as_str) == Some(v)
        } else if let Some((ns, n)) = e.split_once('/') {
            namespace(object) == ns && name(object) == n
        } else {
            name(object) == e
        }
    })
}

/// Objects of `kind` in the settings' namespaces, minus exclusions.
pub async fn in_namespaces(ctx: &Ctx<'_>, kind: Kind) -> StepResult<Vec<Value>> {
    let mut out = Vec::new();
    for ns in &ctx.settings.namespaces {
        let items = ctx.kube().list(kind, Some(ns), None).await?;
        out.extend(items.into_iter().filter(|o| !excluded(&ctx.settings.exclude, o)));
    }
    Ok(out)
}

/// Is this Ingress served by the AWS Load Balancer Controller?
pub fn is_alb(ingress: &Value) -> bool {
    str_at(ingress, "/spec/ingressClassName") == "alb"
        || ingress.pointer("/metadata/annotations").and_then(|a| a.get("kubernetes.io/ingress.class")).and_then(Value::as_str)
            == Some("alb")
}

/// The Argo CD Applications that deploy into the settings' namespaces.
pub async fn applications(ctx: &Ctx<'_>) -> StepResult<Vec<Value>> {
    let all = ctx.kube().list(Kind::Application, Some(&ctx.settings.argocd_namespace), None).await?;
    Ok(all.into_iter().filter(|a| ctx.settings.namespaces.iter().any(|ns| ns == str_at(a, "/spec/destination/namespace"))).collect())
}

/// The restore point's record, or an empty one.
pub async fn record(ctx: &Ctx<'_>) -> StepResult<Record> {
    match ctx.db.restore_point(ctx.name()).await? {
        Some(p) => readable(p.record),
        None => Ok(Record::default()),
    }
}

/// A stored record, read back. Unreadable is fatal, never "empty": the
/// recorded replicas and sizes are what a wake restores, and losing them
/// loses the wake.
pub fn readable(record: Value) -> StepResult<Record> {
    serde_json::from_value(record).map_err(|e| {
        super::super::ctx::StepError::fatal(format!(
            "the restore point is unreadable ({e}): nothing was changed; fix or remove the restore point of this environment"
        ))
    })
}

/// `namespace/name` of an Ingress: the load balancer controller's stack of an
/// Ingress outside any IngressGroup.
pub fn stack(ingress: &Value) -> String {
    let group =
        ingress.pointer("/metadata/annotations").and_then(|a| a.get("alb.ingress.kubernetes.io/group.name")).and_then(Value::as_str);
    match group {
        Some(g) => g.to_string(),
        None => format!("{}/{}", namespace(ingress), name(ingress)),
    }
}

/// Nodes with `label=value`, and how many of them are Ready.
pub async fn nodes_with_label(ctx: &Ctx<'_>, label: &str, value: &str) -> StepResult<(usize, usize)> {
    let nodes = ctx.kube().list(Kind::Node, None, Some(&format!("{label}={value}"))).await?;
    Ok((nodes.len(), nodes.iter().filter(|n| node_ready(n)).count()))
}

/// The nodes of a capacity group, and how many are Ready: a managed node
/// group's by its EKS label; an Auto Scaling group's by the instances it has
/// now (plus `also`, e.g. those recorded before a sleep) named in the nodes'
/// `spec.providerID`.
pub async fn group_nodes(ctx: &Ctx<'_>, g: &CapacityGroup, also: &[String]) -> StepResult<(usize, usize)> {
    match g.kind {
        GroupKind::Nodegroup => nodes_with_label(ctx, "eks.amazonaws.com/nodegroup", &g.name).await,
        GroupKind::Asg => {
            let (_, mut instances) = ctx.aws().asg_sizes(&g.name).await?;
            instances.extend(also.iter().cloned());
            nodes_of_instances(ctx, &instances).await
        }
    }
}

/// Nodes whose `spec.providerID` names one of `instances`, and how many are Ready.
pub async fn nodes_of_instances(ctx: &Ctx<'_>, instances: &[String]) -> StepResult<(usize, usize)> {
    let nodes = ctx.kube().list(Kind::Node, None, None).await?;
    let mine: Vec<&Value> = nodes
        .iter()
        .filter(|n| {
            let provider = str_at(n, "/spec/providerID");
            instances.iter().any(|i| provider.rsplit('/').next() == Some(i.as_str()))
        })
        .collect();
    Ok((mine.len(), mine.iter().filter(|n| node_ready(n)).count()))
}

/// The settings' databases that are not yet in the wanted state (RDS status,
/// EC2 instance state), described.
pub async fn databases_not(ctx: &Ctx<'_>, rds_status: &str, ec2_state: &str) -> StepResult<Vec<String>> {
    let mut left = Vec::new();
    for id in &ctx.settings.rds {
        let st = ctx.aws().rds_status(id).await?;
        if st != rds_status {
            left.push(format!("RDS {id} is {st}"));
        }
    }
    for n in &ctx.settings.ec2 {
        for i in ctx.aws().instances_named(n).await? {
            if i.state != ec2_state {
                left.push(format!("EC2 {n} ({}) is {}", i.id, i.state));
            }
        }
    }
    Ok(left)
}

/// Resizes group `g` to `target(current sizes)`, unless that is `None`;
/// returns what changed (`{group, from, to}`), if anything.
pub async fn resize(ctx: &Ctx<'_>, g: &CapacityGroup, target: impl Fn(Sizes) -> Option<Sizes>) -> StepResult<Option<Value>> {
    let cluster = &ctx.settings.eks_cluster;
    let (current, _) = ctx.aws().group_sizes(cluster, g.kind, &g.name).await?;
    let Some(to) = target(current) else { return Ok(None) };
    ctx.aws().set_group_sizes(cluster, g.kind, &g.name, to).await?;
    Ok(Some(serde_json::json!({"group": g.name, "from": current, "to": to})))
}

pub fn node_ready(n: &Value) -> bool {
    n.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| cs.iter().any(|c| str_at(c, "/type") == "Ready" && str_at(c, "/status") == "True"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn exclusions_by_name_namespace_and_label() {
        let o = json!({"metadata": {"name": "api", "namespace": "platform", "labels": {"tier": "keep"}}});
        assert!(excluded(&["api".into()], &o));
        assert!(excluded(&["platform/api".into()], &o));
        assert!(excluded(&["tier=keep".into()], &o));
        assert!(!excluded(&["other/api".into(), "tier=x".into(), "web".into()], &o));
    }
}
