//! Topologies for unit tests.

use mezame_shared::topology::{Microservice, Topology};
use serde_json::json;

/// A Deployment `platform/<name>` with one ready, running pod on each of
/// `nodes`; a Service sends it traffic if `serving`; a PodDisruptionBudget
/// selects its pods if `pdb` (else the audit's finding says it has none).
pub fn microservice(name: &str, nodes: &[&str], serving: bool, pdb: bool) -> Microservice {
    let pods: Vec<_> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            json!({"name": format!("{name}-{i}"), "phase": "Running", "ready": true, "restarts": 0, "node": n,
                   "node_group": null, "capacity_type": null, "zone": "eu-west-1a", "image": format!("r.example/{name}:v1"),
                   "created": "2026-01-01T00:00:00Z"})
        })
        .collect();
    let findings = if pdb {
        json!([])
    } else {
        json!([{"check": "disruption_budget", "reason": "no PodDisruptionBudget", "field": "a PodDisruptionBudget"}])
    };
    let services =
        if serving { json!([{"name": name, "ports": ["80/TCP"], "ready_endpoints": 1, "not_ready_endpoints": 0}]) } else { json!([]) };
    let n = nodes.len();
    serde_json::from_value(json!({
        "namespace": "platform", "name": name, "health": "healthy", "routes": [], "internal": true, "services": services,
        "workload": {"name": name, "desired": n, "ready": n, "updated": n, "available": n,
                     "rollout": {"state": "complete"}, "image_tag": null, "images": []},
        "pods": pods, "hpa": null, "argo": null, "findings": findings, "problems": [],
    }))
    .unwrap()
}

/// The topology of dev with these microservices.
pub fn topology(services: Vec<Microservice>) -> Topology {
    Topology {
        env: "dev".into(),
        revision: 1,
        source: serde_json::from_value(json!({"synced": true, "connected": true, "error": null, "kinds": []})).unwrap(),
        ingresses: vec![],
        gateways: vec![],
        services: services.into_iter().map(std::sync::Arc::new).collect(),
        unresolved: vec![],
    }
}

/// Slim cached objects for unit tests: `platform/<name>` unless said.
pub mod objects {
    use std::collections::BTreeMap;

    use crate::adapters::kube::objects::*;

    pub fn meta(namespace: &str, name: &str, owner: Option<(&str, &str)>) -> Meta {
        Meta {
            namespace: namespace.into(),
            name: name.into(),
            uid: format!("uid-{namespace}-{name}"),
            labels: BTreeMap::new(),
            owners: owner
                .map(|(kind, n)| vec![Owner { kind: kind.into(), name: n.into(), uid: format!("uid-{namespace}-{n}") }])
                .unwrap_or_default(),
            created: None,
            deleting: false,
        }
    }

    pub fn app_selector(app: &str) -> Selector {
        Selector { labels: [("app".to_string(), app.to_string())].into(), expressions: vec![] }
    }

    pub fn deployment(name: &str, ready: i32) -> Object {
        Object::Deployment(Deployment {
            meta: meta("platform", name, None),
            replicas: 2,
            selector: app_selector(name),
            template_labels: [("app".to_string(), name.to_string())].into(),
            strategy: "RollingUpdate".into(),
            max_unavailable: None,
            containers: vec![Container {
                name: "app".into(),
                image: format!("r.example/{name}:v1"),
                ports: vec![],
                readiness_probe: true,
                pre_stop: PreStop::None,
            }],
            generation: 1,
            observed_generation: 1,
            status_replicas: 2,
            ready,
            updated: 2,
            available: ready,
            conditions: vec![],
        })
    }

    /// The ReplicaSet `<deployment>-rs`.
    pub fn replica_set(deployment: &str) -> Object {
        Object::ReplicaSet(ReplicaSet {
            meta: meta("platform", &format!("{deployment}-rs"), Some(("Deployment", deployment))),
            revision: 1,
            images: vec![],
            replicas: 2,
            ready: 2,
        })
    }

    pub fn pod(deployment: &str, i: usize, node: &str, ready: bool) -> Object {
        Object::Pod(Pod {
            meta: meta("platform", &format!("{deployment}-rs-{i}"), Some(("ReplicaSet", &format!("{deployment}-rs")))),
            phase: "Running".into(),
            ready,
            restarts: 0,
            node: Some(node.into()),
            image: None,
            requests: Requests::default(),
        })
    }

    pub fn service(name: &str, selects: &str) -> Object {
        Object::Service(Service { meta: meta("platform", name, None), selector: app_selector(selects), ports: vec!["80".into()] })
    }

    pub fn endpoint_slice(service: &str, ready: u32) -> Object {
        Object::EndpointSlice(EndpointSlice {
            meta: meta("platform", &format!("{service}-abc"), None),
            service: service.into(),
            ready,
            not_ready: 2 - ready.min(2),
        })
    }

    pub fn node(name: &str, zone: &str) -> Object {
        Object::Node(Node {
            meta: meta("", name, None),
            ready: true,
            node_group: Some("spot".into()),
            capacity_type: Some("SPOT".into()),
            instance_type: None,
            zone: Some(zone.into()),
            provider_id: None,
            unschedulable: false,
            taints: vec![],
            allocatable: Requests::default(),
        })
    }

    pub fn hpa(target: &str, current: i32) -> Object {
        Object::Hpa(Hpa {
            meta: meta("platform", target, None),
            target_kind: "Deployment".into(),
            target_name: target.into(),
            min: 2,
            max: 5,
            current,
            desired: current,
            metric: None,
            target_type: None,
            target: None,
            value: None,
            problems: vec![],
        })
    }

    pub fn application(deployment: &str, health: &str) -> Object {
        Object::Application(Application {
            meta: meta("argocd", deployment, None),
            sync: "Synced".into(),
            health: health.into(),
            health_since: None,
            revision: None,
            auto_sync: true,
            self_heal: true,
            resources: vec![("Deployment".into(), "platform".into(), deployment.into())],
            path: None,
            history: vec![],
            operation: None,
        })
    }
}
