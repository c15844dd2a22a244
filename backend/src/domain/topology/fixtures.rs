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
                   "node_group": null, "capacity_type": null, "zone": null, "image": null, "created": null})
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
        services,
        unresolved: vec![],
    }
}
