//! Groups, instances and node rows for the capacity module's unit tests.

use mezame_shared::capacity::{Group, InstanceRow, NodeRow};
use mezame_shared::power::GroupKind;

/// A group as AWS would describe it, with no instance and no node yet.
pub fn group(kind: GroupKind, name: &str) -> Group {
    Group {
        kind,
        name: name.into(),
        status: if kind == GroupKind::Nodegroup { "ACTIVE" } else { "Active" }.into(),
        capacity_type: if kind == GroupKind::Nodegroup { "ON_DEMAND" } else { "MIXED" }.into(),
        instance_types: vec![],
        ami_type: None,
        min: 0,
        desired: 2,
        max: 4,
        health: vec![],
        labels: Default::default(),
        taints: vec![],
        mix: None,
        instances: vec![],
        actual: Default::default(),
        nodes: vec![],
        warnings: vec![],
        awake: None,
        cost: Default::default(),
    }
}

/// An in-service t3.large in eu-west-1a.
pub fn instance(id: &str, lifecycle: &str) -> InstanceRow {
    InstanceRow {
        id: id.into(),
        instance_type: "t3.large".into(),
        zone: "eu-west-1a".into(),
        lifecycle: lifecycle.into(),
        state: "InService".into(),
        health: "Healthy".into(),
        node: None,
        hourly: None,
    }
}

/// A Ready, empty node of instance `i-<name>`, type and zone unknown.
pub fn node_row(name: &str) -> NodeRow {
    NodeRow {
        name: name.into(),
        ready: true,
        cordoned: false,
        created: None,
        instance_type: None,
        zone: None,
        instance_id: Some(format!("i-{name}")),
        capacity_type: None,
        pods: 0,
        cpu_requested_m: 0,
        cpu_allocatable_m: 0,
        memory_requested: 0,
        memory_allocatable: 0,
        hourly: None,
    }
}
