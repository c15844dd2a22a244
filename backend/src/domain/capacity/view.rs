//! The capacity view, pure: AWS's groups joined with the cluster's nodes and
//! the pods on them, the actual on-demand/spot mix, warnings and totals.
//!
//! A node belongs to a managed node group by its `eks.amazonaws.com/nodegroup`
//! label, to an Auto Scaling group by the instance id of its `providerID`.
//! Its capacity type is EC2's `InstanceLifecycle` when the instance is known
//! (mixed-policy nodes carry no capacity-type label), else the EKS label.

use std::collections::HashMap;

use mezame_shared::capacity::{ActualMix, Capacity, Group, NodeRow, Totals, pct};
use mezame_shared::power::{GroupKind, PowerSettings};

use crate::adapters::kube::objects::{self as k, Requests};
use crate::domain::topology::store::Objects;

/// What AWS last said about the cluster's groups.
#[derive(Debug, Clone, Default)]
pub struct Described {
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    pub groups: Vec<Group>,
    pub error: Option<String>,
    /// EC2's spot prices of the groups' instance types.
    pub spot: super::prices::SpotPrices,
}

pub const SPOT: &str = "spot";
pub const ON_DEMAND: &str = "on-demand";

pub fn join(env: &str, cluster: &str, described: &Described, objects: &Objects, settings: Option<&PowerSettings>) -> Capacity {
    let mut usage: HashMap<&str, (u32, Requests)> = HashMap::new();
    for p in objects.pods() {
        let (Some(node), false) = (p.node.as_deref(), matches!(p.phase.as_str(), "Succeeded" | "Failed")) else { continue };
        let u = usage.entry(node).or_default();
        u.0 += 1;
        u.1.cpu_m += p.requests.cpu_m;
        u.1.memory += p.requests.memory;
    }
    let lifecycle: HashMap<&str, &str> =
        described.groups.iter().flat_map(|g| &g.instances).map(|i| (i.id.as_str(), i.lifecycle.as_str())).collect();
    let row = |n: &k::Node| {
        let (pods, used) = usage.get(n.meta.name.as_str()).copied().unwrap_or_default();
        let label = n.capacity_type.as_deref().map(|c| if c.eq_ignore_ascii_case("SPOT") { SPOT } else { ON_DEMAND });
        NodeRow {
            name: n.meta.name.clone(),
            ready: n.ready,
            cordoned: n.unschedulable,
            created: n.meta.created,
            instance_type: n.instance_type.clone(),
            zone: n.zone.clone(),
            instance_id: n.instance_id().map(str::to_string),
            capacity_type: n.instance_id().and_then(|id| lifecycle.get(id).copied()).or(label).map(str::to_string),
            pods,
            cpu_requested_m: used.cpu_m,
            cpu_allocatable_m: n.allocatable.cpu_m,
            memory_requested: used.memory,
            memory_allocatable: n.allocatable.memory,
            // Priced by `cost::apply`.
            hourly: None,
        }
    };

    let mut groups = described.groups.clone();
    let mut other_nodes = Vec::new();
    for n in objects.nodes() {
        let owner = groups.iter_mut().find(|g| match g.kind {
            GroupKind::Nodegroup => n.node_group.as_deref() == Some(g.name.as_str()),
            GroupKind::Asg => n.instance_id().is_some_and(|id| g.instances.iter().any(|i| i.id == id)),
        });
        let r = row(n);
        match owner {
            Some(g) => {
                if let Some(i) = g.instances.iter_mut().find(|i| Some(i.id.as_str()) == r.instance_id.as_deref()) {
                    i.node = Some(r.name.clone());
                }
                g.nodes.push(r);
            }
            None => other_nodes.push(r),
        }
    }
    for g in &mut groups {
        g.nodes.sort_by(|a, b| a.name.cmp(&b.name));
        g.actual = actual_mix(g);
        g.warnings = warnings(g);
        g.awake = settings.and_then(|s| s.capacity.iter().find(|c| c.kind == g.kind && c.name == g.name)).map(|c| c.sizes());
    }
    other_nodes.sort_by(|a, b| a.name.cmp(&b.name));
    let totals = totals(groups.iter().flat_map(|g| &g.nodes).chain(&other_nodes));
    Capacity {
        env: env.to_string(),
        cluster: cluster.to_string(),
        described_at: described.at,
        aws_error: described.error.clone(),
        nodes_synced: objects.source().synced,
        groups,
        other_nodes,
        totals,
        cost: Default::default(),
        spot_risk: Vec::new(),
        spot_moves: Vec::new(),
        interruptions: Vec::new(),
    }
}

/// Whether an Auto Scaling group's instance in `state` (its lifecycle state) runs, or is about to.
pub fn is_running(state: &str) -> bool {
    matches!(state, "InService" | "Pending" | "Pending:Wait" | "Pending:Proceed")
}

/// An Auto Scaling group's running instances by EC2 lifecycle; a managed
/// group's nodes by its capacity type.
fn actual_mix(g: &Group) -> ActualMix {
    match g.kind {
        GroupKind::Asg => {
            let running = g.instances.iter().filter(|i| is_running(&i.state));
            let spot = running.clone().filter(|i| i.lifecycle == SPOT).count() as u32;
            ActualMix { spot, on_demand: running.count() as u32 - spot }
        }
        GroupKind::Nodegroup => {
            let n = g.nodes.len() as u32;
            if g.capacity_type == "SPOT" { ActualMix { spot: n, on_demand: 0 } } else { ActualMix { spot: 0, on_demand: n } }
        }
    }
}

fn warnings(g: &Group) -> Vec<String> {
    let mut out = Vec::new();
    if g.kind == GroupKind::Nodegroup && g.status != "ACTIVE" {
        out.push(format!("the node group is {}", g.status));
    }
    out.extend(g.health.iter().cloned());
    if let Some(m) = &g.mix {
        if m.on_demand_percent_above_base == 100 {
            out.push(
                "OnDemandPercentageAboveBaseCapacity is 100 (AWS's default when it is not set): this mixed group launches no spot at all"
                    .into(),
            );
        } else if m.instance_types.len() < 2 {
            out.push(format!(
                "spot with {} instance type{}: one interruption wave can take the whole group; use at least 3",
                m.instance_types.len(),
                if m.instance_types.len() == 1 { "" } else { "s" }
            ));
        } else if m.instance_types.len() < 3 {
            out.push("spot with only 2 instance types: 3 or more spread the interruption risk".into());
        }
        let declared_spot = declared_spot(m.on_demand_base, m.on_demand_percent_above_base, g.actual.on_demand + g.actual.spot);
        if g.actual.spot != declared_spot {
            out.push(format!(
                "declared {declared_spot} spot of {} running, EC2 says {} are spot",
                g.actual.on_demand + g.actual.spot,
                g.actual.spot
            ));
        }
    }
    let joined = g.nodes.len();
    let waiting = g.instances.iter().filter(|i| i.state == "InService" && i.node.is_none()).count();
    if waiting > 0 {
        out.push(format!("{waiting} in-service instance{} not (yet) a Kubernetes node", if waiting == 1 { " is" } else { "s are" }));
    }
    if g.desired > 0 && joined == 0 {
        out.push(format!("desired {} but no node has joined", g.desired));
    }
    out
}

/// How many of `running` instances the policy makes spot: above the
/// on-demand base, the share not on-demand (AWS rounds on-demand up).
pub fn declared_spot(base: i32, on_demand_pct: i32, running: u32) -> u32 {
    let above = (running as i64 - base.max(0) as i64).max(0);
    let on_demand_above = (above * on_demand_pct.clamp(0, 100) as i64 + 99) / 100;
    (above - on_demand_above) as u32
}

fn totals<'a>(nodes: impl Iterator<Item = &'a NodeRow>) -> Totals {
    let mut t = Totals::default();
    let (mut cpu_req, mut mem_req, mut known, mut spot) = (0u64, 0u64, 0u32, 0u32);
    for n in nodes {
        t.nodes += 1;
        t.ready += u32::from(n.ready);
        t.cpu_allocatable_m += n.cpu_allocatable_m;
        t.memory_allocatable += n.memory_allocatable;
        cpu_req += n.cpu_requested_m;
        mem_req += n.memory_requested;
        if let Some(c) = &n.capacity_type {
            known += 1;
            spot += u32::from(c == SPOT);
        }
    }
    t.cpu_requested_pct = pct(cpu_req, t.cpu_allocatable_m);
    t.memory_requested_pct = pct(mem_req, t.memory_allocatable);
    t.spot_share_pct = pct(spot as u64, known as u64);
    t
}

#[cfg(test)]
mod tests;
