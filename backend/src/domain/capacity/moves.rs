//! What moving each microservice to spot would take and save (pure, on the
//! spot risk and the priced nodes): it is ready for spot with at least 2
//! ready replicas on 2 nodes or more in 2 zones or more and a
//! PodDisruptionBudget; the saving is each of its on-demand replicas' share of
//! its node (CPU or memory requests over allocatable, the larger) times the
//! node's on-demand price less EC2's spot price of the same type in the same
//! zone. A replica without a price is not counted, and said.

use std::collections::{BTreeSet, HashMap};

use mezame_shared::capacity::{HOURS_PER_MONTH, NodeRow, SpotMove, SpotRisk};
use mezame_shared::topology::Topology;

use super::cost::{Pricing, round2};
use super::view::ON_DEMAND;
use crate::adapters::kube::objects::Requests;

/// A pod's requests by (namespace, pod name).
pub type PodRequests = HashMap<(String, String), Requests>;

/// The moves of every microservice with ready replicas on on-demand nodes;
/// the spot-ready ones first, the largest saving first.
pub fn assess(
    topology: &Topology,
    risks: &[SpotRisk],
    requests: &PodRequests,
    nodes: &HashMap<&str, &NodeRow>,
    p: &Pricing,
) -> Vec<SpotMove> {
    let mut out: Vec<SpotMove> = risks
        .iter()
        .filter(|r| r.on_demand > 0)
        .map(|r| {
            let mut missing = Vec::new();
            if r.ready < 2 {
                missing.push(format!("{} ready replica(s): at least 2, so that an interruption leaves one", r.ready));
            }
            if r.nodes < 2 {
                missing.push("its ready replicas on one node: spread them (topologySpreadConstraints on kubernetes.io/hostname)".into());
            }
            if r.zones.len() < 2 {
                missing
                    .push("its ready replicas in one zone: spread them (topologySpreadConstraints on topology.kubernetes.io/zone)".into());
            }
            if !r.has_pdb {
                missing.push("no PodDisruptionBudget: a spot drain may evict every replica at once".into());
            }
            let (saving, notes) = saving(topology, r, requests, nodes, p);
            SpotMove {
                namespace: r.namespace.clone(),
                name: r.name.clone(),
                on_demand: r.on_demand,
                ready_for_spot: missing.is_empty(),
                missing,
                saving_monthly: round2(saving * HOURS_PER_MONTH),
                notes: notes.into_iter().collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.ready_for_spot.cmp(&a.ready_for_spot).then(b.saving_monthly.total_cmp(&a.saving_monthly)).then(a.name.cmp(&b.name))
    });
    out
}

/// What `r`'s ready on-demand replicas would save per hour on spot, and what could not be priced.
fn saving(
    topology: &Topology,
    r: &SpotRisk,
    requests: &PodRequests,
    nodes: &HashMap<&str, &NodeRow>,
    p: &Pricing,
) -> (f64, BTreeSet<String>) {
    let (mut hourly, mut notes) = (0.0, BTreeSet::new());
    let Some(m) = topology.services.iter().find(|m| m.namespace == r.namespace && m.name == r.name) else { return (0.0, notes) };
    for pod in m.pods.iter().filter(|p| p.ready && p.phase == "Running") {
        let Some(n) = pod.node.as_deref().and_then(|n| nodes.get(n)) else { continue };
        if n.capacity_type.as_deref() != Some(ON_DEMAND) {
            continue;
        }
        let req = requests.get(&(r.namespace.clone(), pod.name.clone())).copied().unwrap_or_default();
        let share = |used: u64, all: u64| if all == 0 { 0.0 } else { used as f64 / all as f64 };
        let part = share(req.cpu_m, n.cpu_allocatable_m).max(share(req.memory, n.memory_allocatable));
        let (Some(t), Some(zone)) = (n.instance_type.as_deref(), n.zone.as_deref()) else {
            notes.insert(format!("node {}: instance type or zone unknown, not counted", n.name));
            continue;
        };
        let on_demand = p.table.on_demand(p.region, t).filter(|o| o.estimated.is_none());
        let spot = p.spot.by_type_zone.get(&(t.to_string(), zone.to_string()));
        match (on_demand, spot) {
            (Some(o), Some(s)) => hourly += part * (o.hourly - s).max(0.0),
            _ => {
                notes.insert(format!("{t} in {zone}: no on-demand or EC2 spot price, not counted"));
            }
        }
    }
    (hourly, notes)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::domain::capacity::fixtures::node_row;
    use crate::domain::capacity::prices::{PriceTable, SpotPrices};
    use crate::domain::capacity::risk;
    use crate::domain::topology::fixtures::{microservice as ms, topology};

    fn node(name: &str, zone: &str, capacity: &str) -> NodeRow {
        NodeRow {
            zone: Some(zone.into()),
            capacity_type: Some(capacity.into()),
            instance_type: Some("m5.large".into()),
            cpu_allocatable_m: 2000,
            memory_allocatable: 8 << 30,
            ..node_row(name)
        }
    }

    #[test]
    fn a_spread_budgeted_microservice_is_ready_and_saves_its_share_of_on_demand_less_spot() {
        let rows = [node("od-a", "eu-west-1a", "on-demand"), node("od-b", "eu-west-1b", "on-demand"), node("spot-a", "eu-west-1a", "spot")];
        let nodes: HashMap<&str, &NodeRow> = rows.iter().map(|n| (n.name.as_str(), n)).collect();
        let topology = topology(vec![
            ms("ready", &["od-a", "od-b"], true, true),
            ms("no-budget", &["od-a", "od-b"], true, false),
            ms("lonely", &["od-a"], true, true),
            ms("on-spot", &["spot-a"], true, true),
        ]);
        // ready-0 asks half a node's CPU, ready-1 a quarter of its memory.
        let mut requests = PodRequests::new();
        requests.insert(("platform".into(), "ready-0".into()), Requests { cpu_m: 1000, memory: 1 << 30 });
        requests.insert(("platform".into(), "ready-1".into()), Requests { cpu_m: 100, memory: 2 << 30 });
        let table = PriceTable::new(BTreeMap::new()).unwrap();
        let mut spot = SpotPrices::default();
        spot.by_type_zone.insert(("m5.large".into(), "eu-west-1a".into()), 0.037);
        let pricing = Pricing { table: &table, spot: &spot, region: "eu-west-1" };
        let risks = risk::assess(&topology, &nodes);
        let moves = assess(&topology, &risks, &requests, &nodes, &pricing);
        assert_eq!(
            moves.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
            vec!["ready", "lonely", "no-budget"],
            "on-spot has nothing to move"
        );
        let ready = &moves[0];
        assert!(ready.ready_for_spot && ready.missing.is_empty(), "{ready:?}");
        // eu-west-1 m5.large on-demand 0.107 (the shipped table), spot 0.037 in eu-west-1a; none known in 1b.
        assert_eq!(ready.saving_monthly, ((0.5 * (0.107 - 0.037)) * HOURS_PER_MONTH * 100.0_f64).round() / 100.0);
        assert_eq!(ready.notes, vec!["m5.large in eu-west-1b: no on-demand or EC2 spot price, not counted".to_string()]);
        assert_eq!(moves[1].missing.len(), 3, "one replica, one node, one zone: {:?}", moves[1].missing);
        assert!(!moves[2].ready_for_spot && moves[2].missing.iter().all(|m| m.contains("PodDisruptionBudget")));
    }
}
