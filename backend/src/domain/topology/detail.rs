//! One microservice in depth: its topology entry, the rollout history of its
//! ReplicaSets (from the cache) and its recent events (read on demand).

use mezame_shared::topology::{Microservice, RolloutRevision, ServiceDetail};

use super::Live;
use crate::domain::DomainError;
use crate::domain::envs::Environment;

/// Events shown on the detail page.
const EVENTS: usize = 30;

/// The microservice `name` (in `namespace`, else the first of that name).
pub async fn service(env: &Environment, live: &Live, name: &str, namespace: Option<&str>) -> Result<ServiceDetail, DomainError> {
    let topo = live.feed.snapshot();
    let service = topo
        .services
        .iter()
        .find(|m| m.name == name && namespace.is_none_or(|ns| m.namespace == ns))
        .map(|m| Microservice::clone(m))
        .ok_or_else(|| {
            DomainError::NotFound(match namespace {
                Some(ns) => format!("no microservice {ns}/{name} in environment {}", live.env),
                None => format!("no microservice {name} in environment {}", live.env),
            })
        })?;
    let history = {
        let o = live.objects.read().unwrap();
        let uid = o
            .deployments()
            .find(|d| d.meta.namespace == service.namespace && d.meta.name == service.name)
            .map(|d| d.meta.uid.clone())
            .unwrap_or_default();
        let mut h: Vec<RolloutRevision> = o
            .replica_sets()
            .filter(|r| r.meta.namespace == service.namespace && r.meta.owner("Deployment").is_some_and(|d| d.uid == uid))
            .map(|r| RolloutRevision {
                revision: r.revision,
                replica_set: r.meta.name.clone(),
                images: r.images.clone(),
                replicas: r.replicas,
                ready: r.ready,
                created: r.meta.created,
            })
            .collect();
        h.sort_by_key(|r| std::cmp::Reverse(r.revision));
        h
    };
    let mut names = vec![service.name.clone()];
    names.extend(history.iter().map(|r| r.replica_set.clone()));
    names.extend(service.pods.iter().map(|p| p.name.clone()));
    let (events, events_error) = match env.cluster().await {
        Ok(c) => match c.events_for(&service.namespace, &names, EVENTS).await {
            Ok(ev) => (ev, None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        },
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    Ok(ServiceDetail { env: live.env.clone(), service, history, events, events_error })
}
