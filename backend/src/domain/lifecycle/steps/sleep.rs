//! The sleep steps.

use std::time::Duration;

use serde_json::{Value, json};

use super::find::{self, int_at, name, namespace};
use crate::adapters::aws::Sizes;
use crate::adapters::db::RestorePoint;
use crate::adapters::kube::resources::{self, Kind};
use crate::domain::lifecycle::backup;
use crate::domain::lifecycle::ctx::{Ctx, Outcome, StepError, StepResult, done_unless};
use crate::domain::lifecycle::record::{self, Record};

/// 1. Everything the sleep will change, as it is now, into the restore point.
pub async fn record(ctx: &Ctx<'_>) -> StepResult<Outcome> {
    let s = &ctx.settings;
    let mut r = Record::default();
    for (kind, label) in [(Kind::Deployment, "Deployment"), (Kind::StatefulSet, "StatefulSet")] {
        for w in find::in_namespaces(ctx, kind).await? {
            r.workloads.push(record::Workload {
                kind: label.into(),
                namespace: namespace(&w).into(),
                name: name(&w).into(),
                replicas: int_at(&w, "/spec/replicas").unwrap_or(1),
            });
        }
    }
    for h in find::in_namespaces(ctx, Kind::HorizontalPodAutoscaler).await? {
        r.hpas.push(record::Hpa {
            namespace: namespace(&h).into(),
            name: name(&h).into(),
            min: int_at(&h, "/spec/minReplicas").unwrap_or(1),
            max: int_at(&h, "/spec/maxReplicas").unwrap_or(1),
        });
    }
    for c in find::in_namespaces(ctx, Kind::CronJob).await? {
        r.cronjobs.push(record::CronJob {
            namespace: namespace(&c).into(),
            name: name(&c).into(),
            suspend: c.pointer("/spec/suspend").and_then(Value::as_bool).unwrap_or(false),
        });
    }
    for a in find::applications(ctx).await? {
        r.applications.push(record::Application {
            name: name(&a).into(),
            sync_policy: a.pointer("/spec/syncPolicy").cloned().unwrap_or(Value::Null),
        });
    }
    r.ingresses = find::in_namespaces(ctx, Kind::Ingress).await?.iter().filter(|i| find::is_alb(i)).map(resources::manifest).collect();
    for g in s.capacity.iter().filter(|g| !g.always_on) {
        let (sizes, instances) = ctx.aws().group_sizes(&s.eks_cluster, g.kind, &g.name).await?;
        r.capacity.push(record::Capacity { kind: g.kind, name: g.name.clone(), sizes, instances });
    }
    for id in &s.rds {
        let state = ctx.aws().rds_status(id).await?;
        r.databases.push(record::Database { kind: "rds".into(), name: id.clone(), state });
    }
    for n in &s.ec2 {
        for i in ctx.aws().instances_named(n).await? {
            r.databases.push(record::Database { kind: "ec2".into(), name: n.clone(), state: i.state });
        }
    }
    let previous = ctx.db.restore_point(ctx.name()).await?;
    let kept = previous.is_some();
    let (r, backup) = match previous {
        Some(p) => (r.keeping(&find::readable(p.record)?), p.backup),
        None => (r, None),
    };
    let message = format!(
        "{} workloads, {} HPAs, {} CronJobs, {} Applications, {} Ingresses, {} capacity groups, {} databases{}",
        r.workloads.len(),
        r.hpas.len(),
        r.cronjobs.len(),
        r.applications.len(),
        r.ingresses.len(),
        r.capacity.len(),
        r.databases.len(),
        if kept { " (values of the earlier sleep kept)" } else { "" }
    );
    let record = serde_json::to_value(&r).map_err(|e| StepError::fatal(e.to_string()))?;
    ctx.db.put_restore_point(ctx.name(), &RestorePoint { record: record.clone(), backup }).await?;
    Ok(Outcome::new(message, record))
}

/// 2. Argo CD's settings into the restore point; Secrets sealed with the backup key.
pub async fn backup_argocd(ctx: &Ctx<'_>) -> StepResult<Outcome> {
    let taken = backup::take(ctx).await?;
    let mut point =
        ctx.db.restore_point(ctx.name()).await?.ok_or_else(|| StepError::fatal("no restore point: the record step did not run"))?;
    point.backup = Some(taken.text);
    ctx.db.put_restore_point(ctx.name(), &point).await?;
    Ok(Outcome::new(taken.summary, json!({"objects": taken.names})))
}

/// 3. No automated sync (hence no self-heal) on the env's Applications.
pub async fn pause_argocd(ctx: &Ctx<'_>) -> StepResult<Outcome> {
    let ns = ctx.settings.argocd_namespace.clone();
    let mut paused = Vec::new();
    for a in find::applications(ctx).await? {
        if a.pointer("/spec/syncPolicy/automated").is_some_and(|v| !v.is_null()) {
            let patch = json!({"spec": {"syncPolicy": {"automated": null}}});
            ctx.kube().merge_patch(Kind::Application, Some(&ns), name(&a), &patch).await?;
            paused.push(name(&a).to_string());
        }
    }
    Ok(Outcome::new(format!("auto-sync paused on {} Applications", paused.len()), json!({"paused": paused})))
}

/// 4. CronJobs suspended.
pub async fn suspend_cronjobs(ctx: &Ctx<'_>) -> StepResult<Outcome> {
    let mut changed = Vec::new();
    for c in find::in_namespaces(ctx, Kind::CronJob).await? {
        if c.pointer("/spec/suspend").and_then(Value::as_bool) != Some(true) {
            let patch = json!({"spec": {"suspend": true}});
            ctx.kube().merge_patch(Kind::CronJob, Some(namespace(&c)), name(&c), &patch).await?;
            changed.push(format!("{}/{}", namespace(&c), name(&c)));
        }
    }
    Ok(Outcome::new(format!("{} CronJobs suspended", changed.len()), json!({"suspended": changed})))
}

/// 5. Deployments and StatefulSets at 0 replicas, and their pods gone. HPAs are
///    left as they are: the HPA controller does not scale a target that has 0
///    replicas, so they cannot fight; their min/max are in the record.
pub async fn scale_workloads(ctx: &Ctx<'_>) -> StepResult<Outcome> {
    let mut changed = Vec::new();
    for kind in [Kind::Deployment, Kind::StatefulSet] {
        for w in find::in_namespaces(ctx, kind).await? {
            if scale_to_zero(ctx, kind, &w).await? {
                changed.push(format!("{}/{}", namespace(&w), name(&w)));
            }
        }
    }
    let timeout = Duration::from_secs(ctx.settings.timeouts.workloads);
    ctx.wait("workloads scaled to 0", timeout, || async move {
        let mut left = Vec::new();
        for kind in [Kind::Deployment, Kind::StatefulSet] {
            for w in find::in_namespaces(ctx, kind).await? {
                // Something scaled it back up (an Argo CD sync already under
                // way when auto-sync was paused): scale it down again.
                if scale_to_zero(ctx, kind, &w).await? {
                    left.push(format!("{}/{} was scaled back up, scaled to 0 again", namespace(&w), name(&w)));
                    continue;
                }
                let pods = int_at(&w, "/status/replicas").unwrap_or(0);
                if pods > 0 {
                    left.push(format!("{}/{} still has {pods} pods", namespace(&w), name(&w)));
                }
            }
        }
        Ok(done_unless(left))
    })
    .await?;
    Ok(Outcome::new(format!("{} workloads scaled to 0", changed.len()), json!({"scaled": changed})))
}

/// Sets `spec.replicas` to 0 unless it is; returns whether it changed it.
async fn scale_to_zero(ctx: &Ctx<'_>, kind: Kind, w: &Value) -> StepResult<bool> {
    if int_at(w, "/spec/replicas") == Some(0) {
        return Ok(false);
    }
    let patch = json!({"spec": {"replicas": 0}});
    ctx.kube().merge_patch(kind, Some(namespace(w)), name(w), &patch).await?;
    Ok(true)
}

/// 6. ALB Ingresses deleted, and waited for until the Ingress objects, their
///    load balancers and the load balancers' security groups (found by the
///    controller's tags) are gone. Nodes are not touched if that does not
///    happen: a security group left behind keeps the VPC.
pub async fn delete_ingresses(ctx: &Ctx<'_>) -> StepResult<Outcome> {
    let recorded = find::record(ctx).await?.ingresses;
    let stacks: Vec<String> = recorded.iter().map(find::stack).collect();
    for i in &recorded {
        ctx.kube().delete(Kind::Ingress, Some(namespace(i)), name(i)).await?;
    }
    let (recorded, stacks, cluster) = (&recorded, &stacks, &ctx.settings.eks_cluster);
    let timeout = Duration::from_secs(ctx.settings.timeouts.load_balancers);
    let waited = ctx
        .wait("Ingresses, their load balancers and security groups deleted", timeout, || async move {
            let mut left = Vec::new();
            for i in recorded {
                if let Some(live) = ctx.kube().get(Kind::Ingress, Some(namespace(i)), name(i)).await? {
                    let finalizers = live.pointer("/metadata/finalizers").map(Value::to_string).unwrap_or_default();
                    left.push(format!("Ingress {}/{} still exists (finalizers {finalizers})", namespace(i), name(i)));
                }
            }
            for lb in ctx.aws().controller_load_balancers(cluster).await? {
                if stacks.contains(&lb.stack) {
                    left.push(format!("load balancer {} (Ingress {}) still exists in AWS", lb.name, lb.stack));
                }
            }
            for sg in ctx.aws().controller_security_groups(cluster).await? {
                if stacks.contains(&sg.stack) {
                    left.push(format!("security group {} {} (Ingress {}) still exists in AWS", sg.id, sg.name, sg.stack));
                }
            }
            Ok(done_unless(left))
        })
        .await;
    if let Err(e) = waited {
        return Err(StepError::fatal(format!(
            "{}. The node groups were left running. Check that the AWS Load Balancer Controller runs \
             (kubectl -n kube-system get pods -l app.kubernetes.io/name=aws-load-balancer-controller) and can delete \
             the load balancer and its security group, then retry the run.",
            e.message
        )));
    }
    Ok(Outcome::new(format!("{} Ingresses, their load balancers and security groups deleted", recorded.len()), json!({"deleted": stacks})))
}

/// 7. Node groups and Auto Scaling groups that are not always-on at 0, and their nodes gone.
pub async fn scale_nodes(ctx: &Ctx<'_>) -> StepResult<Outcome> {
    let s = &ctx.settings;
    let record = &find::record(ctx).await?;
    let mut changed = Vec::new();
    for g in s.capacity.iter().filter(|g| !g.always_on) {
        // An EKS managed node group needs max ≥ 1; an ASG keeps its max too.
        let asleep = |c: Sizes| (c.min != 0 || c.desired != 0).then_some(Sizes { min: 0, desired: 0, max: c.max.max(1) });
        changed.extend(find::resize(ctx, g, asleep).await?);
    }
    let timeout = Duration::from_secs(s.timeouts.nodes);
    ctx.wait("nodes of the scaled groups gone", timeout, || async move {
        let mut left = Vec::new();
        for g in s.capacity.iter().filter(|g| !g.always_on) {
            let recorded = record.capacity.iter().find(|c| c.kind == g.kind && c.name == g.name).map_or(&[][..], |r| &r.instances[..]);
            let (count, _) = find::group_nodes(ctx, g, recorded).await?;
            if count > 0 {
                left.push(format!("{} still has {count} nodes", g.name));
            }
        }
        Ok(done_unless(left))
    })
    .await?;
    Ok(Outcome::new(format!("{} groups scaled to 0, their nodes gone", changed.len()), json!({"scaled": changed})))
}
