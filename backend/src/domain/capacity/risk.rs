//! Spot risk per microservice (pure): where its ready replicas run — on spot
//! or on-demand as EC2 says (the capacity view's nodes; a node's label only
//! when EC2 does not know it), in which zones, on which nodes — and the flags
//! with their fix: a serving microservice whose ready replicas are all on
//! spot, all in one zone or all on one node; any microservice on spot without
//! a PodDisruptionBudget (the topology's zero-downtime audit says which).

use std::collections::{BTreeSet, HashMap};

use mezame_shared::capacity::{NodeRow, RiskFlag, RiskKind, SpotRisk};
use mezame_shared::topology::{Check, Microservice, Topology};

use super::view::{ON_DEMAND, SPOT};

/// Every microservice with a pod, flagged ones first (most flags first), then by name.
pub fn assess(topology: &Topology, nodes: &HashMap<&str, &NodeRow>) -> Vec<SpotRisk> {
    let mut out: Vec<SpotRisk> = topology.services.iter().filter(|m| !m.pods.is_empty()).map(|m| one(m, nodes)).collect();
    out.sort_by(|a, b| b.flags.len().cmp(&a.flags.len()).then_with(|| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name))));
    out
}

fn one(m: &Microservice, nodes: &HashMap<&str, &NodeRow>) -> SpotRisk {
    let (mut on_spot, mut on_demand, mut unknown) = (0, 0, 0);
    let (mut zones, mut on_nodes) = (BTreeSet::new(), BTreeSet::new());
    for p in m.pods.iter().filter(|p| p.ready && p.phase == "Running") {
        let Some(node) = p.node.as_deref() else { continue };
        let row = nodes.get(node);
        let capacity = row.and_then(|n| n.capacity_type.clone()).or_else(|| {
            p.capacity_type.as_deref().map(|c| if c.eq_ignore_ascii_case("SPOT") { SPOT.to_string() } else { ON_DEMAND.to_string() })
        });
        match capacity.as_deref() {
            Some(SPOT) => on_spot += 1,
            Some(_) => on_demand += 1,
            None => unknown += 1,
        }
        if let Some(z) = row.and_then(|n| n.zone.clone()).or_else(|| p.zone.clone()) {
            zones.insert(z);
        }
        on_nodes.insert(node.to_string());
    }
    let ready = on_spot + on_demand + unknown;
    let serving = m.serving();
    let has_pdb = !m.findings.iter().any(|f| f.check == Check::DisruptionBudget);
    let mut flags = Vec::new();
    let all = |n: u32| if n == 1 { "its only ready replica runs".to_string() } else { format!("all {n} ready replicas run") };
    if serving && ready > 0 && on_spot == ready {
        flags.push(RiskFlag {
            kind: RiskKind::AllOnSpot,
            message: format!("{} on spot: one interruption wave (2 minutes' notice) can take every one", all(ready)),
            fix: "keep some on on-demand: an on-demand base in the spot group's MixedInstancesPolicy and a topologySpreadConstraint \
                  over the capacity type (a preferred, not required, spot affinity)"
                .into(),
        });
    }
    if serving && ready > 0 && zones.len() == 1 {
        let zone = zones.iter().next().cloned().unwrap_or_default();
        flags.push(RiskFlag {
            kind: RiskKind::OneZone,
            message: format!("{} in {zone}: a zone's spot capacity is often reclaimed at once", all(ready)),
            fix: "spec.template.spec.topologySpreadConstraints with topologyKey topology.kubernetes.io/zone".into(),
        });
    }
    if serving && ready > 0 && on_nodes.len() == 1 {
        let node = on_nodes.iter().next().cloned().unwrap_or_default();
        flags.push(RiskFlag {
            kind: RiskKind::OneNode,
            message: format!("{} on {node}: losing that node is an outage", all(ready)),
            fix: "at least 2 replicas and spec.template.spec.topologySpreadConstraints with topologyKey kubernetes.io/hostname".into(),
        });
    }
    if on_spot > 0 && !has_pdb {
        flags.push(RiskFlag {
            kind: RiskKind::NoPdbOnSpot,
            message: format!("{on_spot} on spot without a PodDisruptionBudget: a spot drain may evict them all at once"),
            fix: "a PodDisruptionBudget (e.g. maxUnavailable: 1) selecting spec.template.metadata.labels".into(),
        });
    }
    SpotRisk {
        namespace: m.namespace.clone(),
        name: m.name.clone(),
        serving,
        ready,
        on_spot,
        on_demand,
        unknown,
        zones: zones.into_iter().collect(),
        nodes: on_nodes.len() as u32,
        has_pdb,
        flags,
    }
}

#[cfg(test)]
mod tests;
