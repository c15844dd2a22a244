//! The topology, derived from the watch cache: Ingress → gateway Service →
//! gateway pods → Mappings → microservice Services → Deployments → Pods.
//! A pure function of the cached objects, rebuilt after every batch of changes.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use mezame_shared::topology as t;

use super::store::Objects;
use super::{ambassador, audit, hpa};
use crate::adapters::kube::objects as k;

/// Namespaces of the cluster's own machinery, never shown as microservices.
pub const SYSTEM_NAMESPACES: [&str; 5] = ["kube-system", "kube-public", "kube-node-lease", "argocd", "local-path-storage"];

/// The topology of `o`; its revision is set by the feed when published.
pub fn build(env: &str, o: &Objects) -> t::Topology {
    rebuild(env, o, None)
}

/// The topology of `o`, keeping the rows of `prev.0` but for the Deployments
/// in `prev.1` (see [`super::touched`]); `None`: every row is built.
pub fn rebuild(env: &str, o: &Objects, prev: Option<(&t::Topology, &HashSet<String>)>) -> t::Topology {
    let ix = Index::new(o);
    // Ingresses and the gateway Services they point at.
    let mut gateway_keys: BTreeSet<(String, String)> = BTreeSet::new();
    let ingresses: Vec<t::Ingress> = o
        .ingresses()
        .map(|i| {
            let mut problems = Vec::new();
            for b in &i.backends {
                gateway_keys.insert((i.meta.namespace.clone(), b.clone()));
                if !ix.services.contains_key(&(i.meta.namespace.as_str(), b.as_str())) {
                    problems.push(format!("backend Service {b} does not exist"));
                }
            }
            if i.addresses.is_empty() {
                problems.push("no load balancer address yet (is the load balancer controller running?)".into());
            }
            t::Ingress {
                namespace: i.meta.namespace.clone(),
                name: i.meta.name.clone(),
                class: i.class.clone(),
                hosts: i.hosts.clone(),
                address: i.addresses.first().cloned(),
                backends: i.backends.iter().map(|b| format!("{}/{b}", i.meta.namespace)).collect(),
                problems,
            }
        })
        .collect();

    // Deployments behind gateway Services are gateways, not microservices.
    let mut gateway_deployments: BTreeSet<String> = BTreeSet::new();
    let gateways: Vec<t::Gateway> = gateway_keys
        .iter()
        .filter_map(|(ns, name)| ix.services.get(&(ns.as_str(), name.as_str())).map(|s| (s, ns, name)))
        .map(|(svc, ns, name)| {
            let deployment = o.deployments().find(|d| d.meta.namespace == *ns && svc.selector.matches(&d.template_labels));
            if let Some(d) = deployment {
                gateway_deployments.insert(d.meta.key());
            }
            let (ready, _) = ix.endpoints(ns, name);
            let mut problems = Vec::new();
            if ready == 0 {
                problems.push(format!("Service {name} has no ready endpoints: every request fails"));
            }
            t::Gateway {
                namespace: ns.clone(),
                service: name.clone(),
                deployment: deployment.map(workload),
                pods: deployment.map(|d| ix.pods_of(d)).unwrap_or_default(),
                ready_endpoints: ready,
                problems,
            }
        })
        .collect();

    // Routes, by the Service they resolve to.
    let mut routes: HashMap<(String, String), Vec<t::Route>> = HashMap::new();
    let mut unresolved = Vec::new();
    for m in o.mappings() {
        let target = ambassador::resolve(&m.service, &m.meta.namespace);
        let route = t::Route {
            mapping: m.meta.key(),
            host: m.host.clone(),
            prefix: m.prefix.clone(),
            rewrite: m.rewrite.clone(),
            service: m.service.clone(),
            resolved: target.as_ref().map(|t| t.display()).unwrap_or_default(),
        };
        match target {
            Some(tg) if ix.services.contains_key(&(tg.namespace.as_str(), tg.name.as_str())) => {
                routes.entry((tg.namespace, tg.name)).or_default().push(route)
            }
            _ => unresolved.push(route),
        }
    }

    let kept: HashMap<String, &Arc<t::Microservice>> = match prev {
        Some((before, _)) => before.services.iter().map(|m| (m.key(), m)).collect(),
        None => HashMap::new(),
    };
    let services = o
        .deployments()
        .filter(|d| !SYSTEM_NAMESPACES.contains(&d.meta.namespace.as_str()))
        .map(|d| (d.meta.key(), d))
        .filter(|(key, _)| !gateway_deployments.contains(key))
        .map(|(key, d)| match (kept.get(&key), prev) {
            (Some(row), Some((_, touched))) if !touched.contains(&key) => Arc::clone(row),
            _ => Arc::new(microservice(d, &ix, &routes)),
        })
        .collect();

    t::Topology { env: env.to_string(), revision: 0, source: o.source(), ingresses, gateways, services, unresolved }
}

/// Lookups built once per rebuild.
struct Index<'a> {
    services: HashMap<(&'a str, &'a str), &'a k::Service>,
    /// Services and PodDisruptionBudgets by namespace, HPAs by the Deployment
    /// they scale (the first one): a microservice looks in its namespace, not
    /// at every object of the cluster.
    services_in: HashMap<&'a str, Vec<&'a k::Service>>,
    pdbs_in: HashMap<&'a str, Vec<&'a k::PodDisruptionBudget>>,
    hpas: HashMap<(&'a str, &'a str), &'a k::Hpa>,
    endpoints: HashMap<(&'a str, &'a str), (u32, u32)>,
    nodes: HashMap<&'a str, &'a k::Node>,
    /// Pods by the uid of the Deployment that owns them (through a ReplicaSet).
    pods: HashMap<&'a str, Vec<&'a k::Pod>>,
    apps: HashMap<(&'a str, &'a str), &'a k::Application>,
}

impl<'a> Index<'a> {
    fn new(o: &'a Objects) -> Index<'a> {
        let mut endpoints: HashMap<(&str, &str), (u32, u32)> = HashMap::new();
        for s in o.endpoint_slices() {
            let e = endpoints.entry((s.meta.namespace.as_str(), s.service.as_str())).or_default();
            e.0 += s.ready;
            e.1 += s.not_ready;
        }
        let rs_owner: HashMap<&str, &str> =
            o.replica_sets().filter_map(|r| r.meta.owner("Deployment").map(|d| (r.meta.uid.as_str(), d.uid.as_str()))).collect();
        let mut pods: HashMap<&str, Vec<&k::Pod>> = HashMap::new();
        for p in o.pods() {
            if let Some(d) = p.meta.owner("ReplicaSet").and_then(|rs| rs_owner.get(rs.uid.as_str())) {
                pods.entry(d).or_default().push(p);
            }
        }
        let mut services_in: HashMap<&str, Vec<&k::Service>> = HashMap::new();
        for s in o.services() {
            services_in.entry(s.meta.namespace.as_str()).or_default().push(s);
        }
        let mut pdbs_in: HashMap<&str, Vec<&k::PodDisruptionBudget>> = HashMap::new();
        for p in o.pdbs() {
            pdbs_in.entry(p.meta.namespace.as_str()).or_default().push(p);
        }
        let mut hpas = HashMap::new();
        for h in o.hpas().filter(|h| h.target_kind == "Deployment") {
            hpas.entry((h.meta.namespace.as_str(), h.target_name.as_str())).or_insert(h);
        }
        let mut apps = HashMap::new();
        for a in o.applications() {
            for (kind, ns, name) in &a.resources {
                if kind == "Deployment" {
                    apps.insert((ns.as_str(), name.as_str()), a);
                }
            }
        }
        Index {
            services: o.services().map(|s| ((s.meta.namespace.as_str(), s.meta.name.as_str()), s)).collect(),
            services_in,
            pdbs_in,
            hpas,
            endpoints,
            nodes: o.nodes().map(|n| (n.meta.name.as_str(), n)).collect(),
            pods,
            apps,
        }
    }

    fn endpoints(&self, ns: &str, service: &str) -> (u32, u32) {
        self.endpoints.get(&(ns, service)).copied().unwrap_or_default()
    }

    fn pods_of(&self, d: &k::Deployment) -> Vec<t::Pod> {
        let mut pods: Vec<t::Pod> = self.pods.get(d.meta.uid.as_str()).into_iter().flatten().map(|p| self.pod(p)).collect();
        pods.sort_by(|a, b| a.name.cmp(&b.name));
        pods
    }

    fn pod(&self, p: &k::Pod) -> t::Pod {
        let node = p.node.as_deref().and_then(|n| self.nodes.get(n));
        t::Pod {
            name: p.meta.name.clone(),
            phase: if p.meta.deleting { "Terminating".into() } else { p.phase.clone() },
            ready: p.ready,
            restarts: p.restarts,
            node: p.node.clone(),
            node_group: node.and_then(|n| n.node_group.clone()),
            capacity_type: node.and_then(|n| n.capacity_type.clone()),
            zone: node.and_then(|n| n.zone.clone()),
            image: p.image.clone(),
            created: p.meta.created,
        }
    }
}

fn workload(d: &k::Deployment) -> t::Workload {
    let images: Vec<String> = d.containers.iter().map(|c| c.image.clone()).collect();
    t::Workload {
        name: d.meta.name.clone(),
        desired: d.replicas,
        ready: d.ready,
        updated: d.updated,
        available: d.available,
        rollout: rollout(d),
        image_tag: images.first().and_then(|i| image_tag(i)),
        images,
    }
}

/// The tag of an image reference (`registry/name:tag`; digests are kept whole).
pub fn image_tag(image: &str) -> Option<String> {
    if let Some((_, digest)) = image.split_once('@') {
        return Some(digest.to_string());
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    last.split_once(':').map(|(_, tag)| tag.to_string())
}

fn rollout(d: &k::Deployment) -> t::Rollout {
    let progressing = d.conditions.iter().find(|c| c.kind == "Progressing");
    if let Some(c) = progressing.filter(|c| c.reason.as_deref() == Some("ProgressDeadlineExceeded")) {
        return t::Rollout::Failed { message: c.message.clone().unwrap_or_else(|| "progress deadline exceeded".into()) };
    }
    if d.observed_generation < d.generation {
        return t::Rollout::Progressing { message: "waiting for the controller to see the new spec".into() };
    }
    if d.updated < d.replicas {
        return t::Rollout::Progressing { message: format!("{} of {} replicas updated", d.updated, d.replicas) };
    }
    if d.status_replicas > d.updated {
        return t::Rollout::Progressing { message: format!("{} old replicas pending termination", d.status_replicas - d.updated) };
    }
    if d.available < d.updated {
        return t::Rollout::Progressing { message: format!("{} of {} updated replicas available", d.available, d.updated) };
    }
    t::Rollout::Complete
}

fn microservice(d: &k::Deployment, ix: &Index, routes: &HashMap<(String, String), Vec<t::Route>>) -> t::Microservice {
    let ns = d.meta.namespace.as_str();
    let services: Vec<&k::Service> =
        ix.services_in.get(ns).into_iter().flatten().filter(|s| s.selector.matches(&d.template_labels)).copied().collect();
    let mut my_routes: Vec<t::Route> =
        services.iter().flat_map(|s| routes.get(&(ns.to_string(), s.meta.name.clone())).into_iter().flatten().cloned()).collect();
    my_routes.sort_by(|a, b| a.mapping.cmp(&b.mapping));
    let mut problems = Vec::new();
    let mut service_refs: Vec<t::ServiceRef> = services
        .iter()
        .map(|s| {
            let (ready, not_ready) = ix.endpoints(ns, &s.meta.name);
            if ready == 0 && d.replicas > 0 {
                problems.push(format!("Service {} has no ready endpoints", s.meta.name));
            }
            t::ServiceRef { name: s.meta.name.clone(), ports: s.ports.clone(), ready_endpoints: ready, not_ready_endpoints: not_ready }
        })
        .collect();
    service_refs.sort_by(|a, b| a.name.cmp(&b.name));
    let hpa_obj = ix.hpas.get(&(ns, d.meta.name.as_str())).copied();
    let pods = ix.pods_of(d);
    let scheduled: Vec<&t::Pod> = pods.iter().filter(|p| p.phase != "Terminating" && p.node.is_some()).collect();
    let nodes: BTreeSet<&str> = scheduled.iter().filter_map(|p| p.node.as_deref()).collect();
    let ctx = audit::Context {
        behind_service: !services.is_empty(),
        min_replicas: hpa_obj.map(|h| h.min).unwrap_or(d.replicas),
        has_hpa: hpa_obj.is_some(),
        has_pdb: ix.pdbs_in.get(ns).into_iter().flatten().any(|p| p.selector.matches(&d.template_labels)),
        nodes: nodes.len(),
        scheduled_pods: scheduled.len(),
    };
    let findings = audit::audit(d, &ctx);
    let workload = workload(d);
    if let t::Rollout::Failed { message } = &workload.rollout {
        problems.push(format!("rollout failed: {message}"));
    }
    let health = health(&workload, &problems);
    t::Microservice {
        namespace: ns.to_string(),
        name: d.meta.name.clone(),
        health,
        internal: my_routes.is_empty(),
        routes: my_routes,
        services: service_refs,
        workload,
        pods,
        hpa: hpa_obj.map(hpa::explain),
        argo: ix.apps.get(&(ns, d.meta.name.as_str())).map(|a| t::ArgoApp {
            name: a.meta.name.clone(),
            sync: a.sync.clone(),
            health: a.health.clone(),
            revision: a.revision.clone(),
            auto_sync: a.auto_sync,
            self_heal: a.self_heal,
        }),
        findings,
        problems,
    }
}

fn health(w: &t::Workload, problems: &[String]) -> t::Health {
    if w.desired == 0 {
        t::Health::Idle
    } else if w.ready == 0 {
        t::Health::Down
    } else if !problems.is_empty() || matches!(w.rollout, t::Rollout::Failed { .. }) {
        t::Health::Degraded
    } else if matches!(w.rollout, t::Rollout::Progressing { .. }) {
        t::Health::Progressing
    } else if w.ready < w.desired {
        t::Health::Degraded
    } else {
        t::Health::Healthy
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn image_tags() {
        assert_eq!(super::image_tag("r.example/a/b:abc123").as_deref(), Some("abc123"));
        assert_eq!(super::image_tag("localhost:5000/app").as_deref(), None);
        assert_eq!(super::image_tag("app@sha256:ff").as_deref(), Some("sha256:ff"));
    }
}
