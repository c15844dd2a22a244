//! What the watch caches show of deploys: each Argo CD Application's sync
//! history and health since when (to record), and per microservice its
//! Application and Deployment (for the chain's last links).

use std::collections::{BTreeSet, HashMap};

use super::chain::{AppState, ReplicaSetState, Rollouts};
use super::index::env_ms_of;
use crate::adapters::db::{HealthRow, SyncRow};
use crate::adapters::kube::objects as k;
use crate::config::git::GitConfig;
use crate::domain::topology::Topologies;
use crate::domain::topology::store::Objects;

/// The sync history entries of every environment's Applications.
pub fn syncs(topologies: &Topologies) -> Vec<SyncRow> {
    let mut out = Vec::new();
    for live in topologies.iter() {
        let o = live.objects.read().unwrap_or_else(|p| p.into_inner());
        for a in o.applications() {
            let Some(path) = &a.path else { continue };
            out.extend(a.history.iter().map(|h| SyncRow {
                env: live.env.clone(),
                app: a.meta.name.clone(),
                path: path.trim_end_matches('/').to_string(),
                revision: h.revision.clone(),
                finished: h.deployed_at,
                history_id: h.id,
                started: h.started_at,
                initiated_by: h.initiated_by.clone(),
                seq: None,
            }));
        }
    }
    out
}

/// Every environment's Applications' health, since when Argo CD says (an
/// Application without `lastTransitionTime`, before Argo CD 3, is left out).
pub fn healths(topologies: &Topologies) -> Vec<HealthRow> {
    let mut out = Vec::new();
    for live in topologies.iter() {
        let o = live.objects.read().unwrap_or_else(|p| p.into_inner());
        out.extend(o.applications().filter_map(|a| {
            Some(HealthRow {
                env: live.env.clone(),
                app: a.meta.name.clone(),
                path: a.path.as_deref()?.trim_end_matches('/').to_string(),
                status: a.health.clone(),
                at: a.health_since?,
            })
        }));
    }
    out
}

/// The Application deploying each of `services` in `env` (by its source
/// path), with the Deployment it manages.
pub fn apps(topologies: &Topologies, env: &str, config: &GitConfig, services: &BTreeSet<&str>) -> HashMap<String, AppState> {
    let Some(live) = topologies.get(env) else { return HashMap::new() };
    let o = live.objects.read().unwrap_or_else(|p| p.into_inner());
    o.applications()
        .filter_map(|a| {
            let path = a.path.as_deref()?.trim_end_matches('/');
            let (e, ms) = env_ms_of(&config.path, &format!("{path}/-"))?;
            (e == env && services.contains(ms.as_str())).then(|| (ms, state(&o, a)))
        })
        .collect()
}

/// The Application (namespace, name) whose source path is the directory `dir`.
pub fn application_at(topologies: &Topologies, env: &str, dir: &str) -> Option<(String, String)> {
    let live = topologies.get(env)?;
    let o = live.objects.read().unwrap_or_else(|p| p.into_inner());
    o.applications()
        .find(|a| a.path.as_deref().is_some_and(|p| p.trim_end_matches('/') == dir.trim_end_matches('/')))
        .map(|a| (a.meta.namespace.clone(), a.meta.name.clone()))
}

fn state(o: &Objects, a: &k::Application) -> AppState {
    let deployment = a
        .resources
        .iter()
        .find(|(kind, _, _)| kind == "Deployment")
        .and_then(|(_, ns, name)| o.deployments().find(|d| d.meta.namespace == *ns && d.meta.name == *name))
        .map(|d| rollouts(o, d));
    AppState { name: a.meta.name.clone(), auto_sync: a.auto_sync, sync: a.sync.clone(), operation: a.operation.clone(), deployment }
}

fn rollouts(o: &Objects, d: &k::Deployment) -> Rollouts {
    let progressing = d.conditions.iter().find(|c| c.kind == "Progressing");
    Rollouts {
        images: d.containers.iter().map(|c| c.image.clone()).collect(),
        replicas: d.replicas,
        updated: d.updated,
        available: d.available,
        ready: d.ready,
        problem: progressing.filter(|c| c.status == "False").map(|c| c.reason.clone().unwrap_or_else(|| "not progressing".into())),
        completed_at: progressing.filter(|c| c.reason.as_deref() == Some("NewReplicaSetAvailable")).and_then(|c| c.updated),
        replica_sets: o
            .replica_sets()
            .filter(|r| r.meta.namespace == d.meta.namespace && r.meta.owner("Deployment").is_some_and(|w| w.uid == d.meta.uid))
            .map(|r| ReplicaSetState { name: r.meta.name.clone(), revision: r.revision, images: r.images.clone(), created: r.meta.created })
            .collect(),
    }
}
