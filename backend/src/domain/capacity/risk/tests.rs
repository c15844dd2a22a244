//! Flags from where replicas run.

use mezame_shared::capacity::NodeRow;

use super::*;
use crate::domain::capacity::fixtures::node_row;
use crate::domain::topology::fixtures::{microservice as ms, topology};

fn node(name: &str, zone: &str, capacity: &str) -> NodeRow {
    NodeRow { zone: Some(zone.into()), capacity_type: Some(capacity.into()), ..node_row(name) }
}

fn kinds(r: &SpotRisk) -> Vec<RiskKind> {
    r.flags.iter().map(|f| f.kind).collect()
}

#[test]
fn serving_replicas_all_on_spot_in_one_zone_on_one_node_and_spot_without_a_budget_are_flagged() {
    let rows = [
        node("spot-a", "eu-west-1a", "spot"),
        node("spot-b", "eu-west-1b", "spot"),
        node("od-a", "eu-west-1a", "on-demand"),
        NodeRow { capacity_type: None, zone: None, ..node_row("mystery") },
    ];
    let nodes: HashMap<&str, &NodeRow> = rows.iter().map(|n| (n.name.as_str(), n)).collect();
    let topology = topology(vec![
        ms("spread", &["spot-a", "od-a"], true, true),
        ms("all-spot", &["spot-a", "spot-b"], true, true),
        ms("one-node", &["spot-a", "spot-a"], true, false),
        ms("worker", &["spot-b"], false, false),
        ms("on-demand-worker", &["od-a"], false, false),
        ms("unknown", &["mystery"], false, true),
        ms("none", &[], true, true),
    ]);
    let risks = assess(&topology, &nodes);
    let by = |name: &str| risks.iter().find(|r| r.name == name).unwrap_or_else(|| panic!("{name} in {risks:?}"));
    assert!(risks.iter().all(|r| r.name != "none"), "no pod, no risk");

    let spread = by("spread");
    assert_eq!((spread.ready, spread.on_spot, spread.on_demand, spread.zones.len(), spread.nodes), (2, 1, 1, 1, 2));
    assert_eq!(kinds(spread), [RiskKind::OneZone], "both replicas are in eu-west-1a");
    assert_eq!(kinds(by("all-spot")), [RiskKind::AllOnSpot]);
    let one_node = by("one-node");
    assert_eq!(kinds(one_node), [RiskKind::AllOnSpot, RiskKind::OneZone, RiskKind::OneNode, RiskKind::NoPdbOnSpot]);
    assert!(one_node.flags[2].message.contains("spot-a") && one_node.flags[2].fix.contains("kubernetes.io/hostname"));
    assert!(!one_node.has_pdb);
    assert_eq!(kinds(by("worker")), [RiskKind::NoPdbOnSpot], "not serving: only the budget matters");
    assert!(kinds(by("on-demand-worker")).is_empty());
    let unknown = by("unknown");
    assert_eq!((unknown.unknown, unknown.on_spot, unknown.flags.len()), (1, 0, 0));
    assert_eq!(risks[0].name, "one-node", "the most flagged first");
}
