//! The wake steps.

use std::time::Duration;

use serde_json::{Value, json};

use super::find::{self, int_at, name, namespace, str_at};
use crate::adapters::kube::resources::{self, Kind};
use crate::domain::lifecycle::backup;
use crate::domain::lifecycle::ctx::{Ctx, Outcome, StepResult, done_unless};

/// 2. Node groups and Auto Scaling groups back at their awake sizes.
pub async fn restore_nodes(ctx: &Ctx<'_>) -> StepResult<Outcome> {
    let s = &ctx.settings;
    let mut changed = Vec::new();
    for g in s.capacity.iter().filter(|g| !g.always_on) {
        let awake = g.sizes();
        changed.extend(find::resize(ctx, g, |c| (c != awake).then_some(awake)).await?);
    }
    Ok(Outcome::new(format!("{} groups resized", changed.len()), json!({"resized": changed})))
}

/// 3. As many Ready nodes in each group as it wants.
pub async fn wait_nodes(ctx: &Ctx<'_>) -> StepResult<Outcome> {
    let s = &ctx.settings;
    let counts = ctx
        .wait("Ready nodes", Duration::from_secs(s.timeouts.nodes), || async move {
            let mut left = Vec::new();
            let mut counts = Vec::new();
            let mut total = 0;
            for g in s.capacity.iter().filter(|g| g.always_on || g.desired > 0) {
                let (_, ready) = find::group_nodes(ctx, g, &[]).await?;
                total += ready;
                counts.push(format!("{}: {ready}", g.name));
                if !g.always_on && (ready as i32) < g.desired {
                    left.push(format!("{} has {ready} of {} Ready nodes", g.name, g.desired));
                }
            }
            // Sizes of 0 everywhere would "succeed" with nothing to run on.
            if total == 0 {
                left.push("no Ready node in any capacity group: the workloads would have nowhere to run".into());
            }
            Ok(done_unless(left).map(|()| counts))
        })
        .await?;
    Ok(Outcome::new(format!("Ready nodes: {}", counts.join(", ")), json!({"ready": counts})))
}

/// 4. Argo CD's workloads and the AWS Load Balancer Controller available: before
///    this, nothing would sync and no load balancer would be made.
pub async fn wait_addons(ctx: &Ctx<'_>) -> StepResult<Outcome> {
    let ns = &ctx.settings.argocd_namespace;
    ctx.wait("Argo CD and the load balancer controller running", Duration::from_secs(ctx.settings.timeouts.addons), || async move {
        let mut left = Vec::new();
        let mut argocd = 0;
        for kind in [Kind::Deployment, Kind::StatefulSet] {
            for w in ctx.kube().list(kind, Some(ns), None).await? {
                argocd += 1;
                if !available(&w) {
                    left.push(format!("{ns}/{} not ready", name(&w)));
                }
            }
        }
        if argocd == 0 {
            left.push(format!("no Argo CD workload in namespace {ns}"));
        }
        let lbc =
            ctx.kube().list(Kind::Deployment, Some("kube-system"), Some("app.kubernetes.io/name=aws-load-balancer-controller")).await?;
        if lbc.is_empty() {
            left.push("no aws-load-balancer-controller Deployment in kube-system".into());
        }
        left.extend(lbc.iter().filter(|d| !available(d)).map(|d| format!("kube-system/{} not ready", name(d))));
        Ok(done_unless(left))
    })
    .await?;
    Ok(Outcome::new("Argo CD and the load balancer controller are running", Value::Null))
}

/// A Deployment or StatefulSet with all its wanted replicas ready (and at least one).
fn available(w: &Value) -> bool {
    let wanted = int_at(w, "/spec/replicas").unwrap_or(1);
    let ready = int_at(w, "/status/readyReplicas").unwrap_or(0);
    wanted > 0 && ready >= wanted
}

/// 5. Argo CD settings missing from the cluster created from the backup.
pub async fn restore_argocd(ctx: &Ctx<'_>) -> StepResult<Outcome> {
    let Some(text) = ctx.db.restore_point(ctx.name()).await?.and_then(|p| p.backup) else {
        return Ok(Outcome::new("no backup to restore from (the environment was not put to sleep by mezame)", Value::Null));
    };
    let created = backup::restore(ctx, &text).await?;
    let message = if created.is_empty() { "nothing missing".to_string() } else { format!("restored {}", created.join(", ")) };
    Ok(Outcome::new(message, json!({"created": created})))
}

/// 6. The recorded Ingresses created again, and waited for until the controller
///    publishes a load balancer hostname for each.
pub async fn restore_ingresses(ctx: &Ctx<'_>) -> StepResult<Outcome> {
    let recorded = find::record(ctx).await?.ingresses;
    let mut created = Vec::new();
    for i in &recorded {
        if ctx.kube().get(Kind::Ingress, Some(namespace(i)), name(i)).await?.is_none() {
            ctx.kube().create(Kind::Ingress, Some(namespace(i)), i).await?;
            created.push(format!("{}/{}", namespace(i), name(i)));
        }
    }
    let recorded = &recorded;
    let hostnames = ctx
        .wait("load balancer hostnames published", Duration::from_secs(ctx.settings.timeouts.load_balancers), || async move {
            let mut left = Vec::new();
            let mut hostnames = Vec::new();
            for i in recorded {
                let live = ctx.kube().get(Kind::Ingress, Some(namespace(i)), name(i)).await?;
                let host = live.as_ref().map(|l| str_at(l, "/status/loadBalancer/ingress/0/hostname").to_string()).unwrap_or_default();
                if host.is_empty() {
                    left.push(format!("Ingress {}/{} has no load balancer hostname yet", namespace(i), name(i)));
                } else {
                    hostnames.push(json!({"ingress": format!("{}/{}", namespace(i), name(i)), "hostname": host}));
                }
            }
            Ok(done_unless(left).map(|()| hostnames))
        })
        .await?;
    let list: Vec<&str> = hostnames.iter().filter_map(|h| h["hostname"].as_str()).collect();
    Ok(Outcome::new(
        format!("{} Ingresses created; hostnames: {}", created.len(), if list.is_empty() { "none".into() } else { list.join(", ") }),
        json!({"created": created, "hostnames": hostnames}),
    ))
}

/// 7. Deployments and StatefulSets back at their recorded replicas.
pub async fn restore_workloads(ctx: &Ctx<'_>) -> StepResult<Outcome> {
    let mut changed = Vec::new();
    for w in find::record(ctx).await?.workloads {
        let kind = if w.kind == "StatefulSet" { Kind::StatefulSet } else { Kind::Deployment };
        let Some(live) = ctx.kube().get(kind, Some(&w.namespace), &w.name).await? else { continue };
        if int_at(&live, "/spec/replicas") != Some(w.replicas) {
            let patch = json!({"spec": {"replicas": w.replicas}});
            ctx.kube().merge_patch(kind, Some(&w.namespace), &w.name, &patch).await?;
            changed.push(format!("{}/{} → {}", w.namespace, w.name, w.replicas));
        }
    }
    Ok(Outcome::new(format!("{} workloads restored", changed.len()), json!({"restored": changed})))
}

/// 8. Each Application's `syncPolicy` exactly as recorded.
pub async fn restore_sync(ctx: &Ctx<'_>) -> StepResult<Outcome> {
    let ns = ctx.settings.argocd_namespace.clone();
    let mut changed = Vec::new();
    for a in find::record(ctx).await?.applications {
        let Some(live) = ctx.kube().get(Kind::Application, Some(&ns), &a.name).await? else { continue };
        let now = live.pointer("/spec/syncPolicy").cloned().unwrap_or(Value::Null);
        if now != a.sync_policy {
            let patch = json!({"spec": {"syncPolicy": resources::merge_patch_between(&now, &a.sync_policy)}});
            ctx.kube().merge_patch(Kind::Application, Some(&ns), &a.name, &patch).await?;
            changed.push(a.name.clone());
        }
    }
    Ok(Outcome::new(format!("sync policy restored on {} Applications", changed.len()), json!({"restored": changed})))
}

/// 9. CronJobs' `suspend` as recorded.
pub async fn unsuspend_cronjobs(ctx: &Ctx<'_>) -> StepResult<Outcome> {
    let mut changed = Vec::new();
    for c in find::record(ctx).await?.cronjobs {
        let Some(live) = ctx.kube().get(Kind::CronJob, Some(&c.namespace), &c.name).await? else { continue };
        if live.pointer("/spec/suspend").and_then(Value::as_bool).unwrap_or(false) != c.suspend {
            let patch = json!({"spec": {"suspend": c.suspend}});
            ctx.kube().merge_patch(Kind::CronJob, Some(&c.namespace), &c.name, &patch).await?;
            changed.push(format!("{}/{}", c.namespace, c.name));
        }
    }
    Ok(Outcome::new(format!("{} CronJobs unsuspended", changed.len()), json!({"unsuspended": changed})))
}

/// 10. Every Deployment available, every Application Synced and Healthy; then
///     the restore point is spent.
pub async fn wait_healthy(ctx: &Ctx<'_>) -> StepResult<Outcome> {
    ctx.wait("workloads available and Applications Synced/Healthy", Duration::from_secs(ctx.settings.timeouts.workloads), || async move {
        let mut left = Vec::new();
        for d in find::in_namespaces(ctx, Kind::Deployment).await? {
            let wanted = int_at(&d, "/spec/replicas").unwrap_or(1);
            let available = int_at(&d, "/status/availableReplicas").unwrap_or(0);
            if available < wanted {
                left.push(format!("{}/{} {available}/{wanted} available", namespace(&d), name(&d)));
            }
        }
        for a in find::applications(ctx).await? {
            let (sync, health) = (str_at(&a, "/status/sync/status"), str_at(&a, "/status/health/status"));
            if sync != "Synced" || health != "Healthy" {
                left.push(format!("Application {} is {}/{}", name(&a), or_unknown(sync), or_unknown(health)));
            }
        }
        Ok(done_unless(left))
    })
    .await?;
    ctx.db.clear_restore_point(ctx.name()).await?;
    Ok(Outcome::new("every Deployment available, every Application Synced/Healthy", Value::Null))
}

fn or_unknown(s: &str) -> &str {
    if s.is_empty() { "Unknown" } else { s }
}
