//! The join on objects made by the real converters from Kubernetes JSON.

use k8s_openapi::api::core::v1 as core;
use mezame_shared::capacity::{Mix, Sizes};
use mezame_shared::power::{CapacityGroup, GroupKind, PowerSettings};
use serde_json::json;

use super::*;
use crate::adapters::kube::convert;
use crate::adapters::kube::objects::{Kind, Object};
use crate::adapters::kube::watch::{Change, Update};
use crate::domain::capacity::fixtures::{group, instance};

fn node(name: &str, labels: serde_json::Value, provider: Option<&str>, unschedulable: bool) -> Object {
    let n: core::Node = serde_json::from_value(json!({
        "metadata": {"name": name, "labels": labels},
        "spec": {"providerID": provider, "unschedulable": unschedulable},
        "status": {"allocatable": {"cpu": "1930m", "memory": "3500Mi"},
                   "conditions": [{"type": "Ready", "status": "True"}]},
    }))
    .unwrap();
    Object::Node(convert::node(&n))
}

fn pod(name: &str, node: &str, cpu: &str, memory: &str, phase: &str) -> Object {
    let p: core::Pod = serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "apps"},
        "spec": {"nodeName": node,
                 "containers": [{"name": "app", "resources": {"requests": {"cpu": cpu, "memory": memory}}},
                                {"name": "sidecar", "resources": {"requests": {"cpu": "50m"}}}],
                 "initContainers": [{"name": "migrate", "resources": {"requests": {"cpu": "2", "memory": "16Mi"}}}]},
        "status": {"phase": phase},
    }))
    .unwrap();
    Object::Pod(convert::pod(&p))
}

fn objects(nodes: Vec<Object>, pods: Vec<Object>) -> Objects {
    let mut o = Objects::default();
    o.apply(Update { kind: Kind::Node, change: Change::Reset(nodes) });
    o.apply(Update { kind: Kind::Pod, change: Change::Reset(pods) });
    o
}

fn mix(pct: i32, types: &[&str]) -> Mix {
    Mix {
        on_demand_base: 0,
        on_demand_percent_above_base: pct,
        spot_allocation_strategy: Some("price-capacity-optimized".into()),
        instance_types: types.iter().map(|t| t.to_string()).collect(),
        capacity_rebalance: true,
        launch_template: Some("lt-1 ($Latest)".into()),
    }
}

#[test]
fn nodes_join_their_group_by_label_or_instance_id_with_their_pods_and_the_ec2_lifecycle() {
    let mut spot = group(GroupKind::Asg, "platform-dev-spot");
    spot.mix = Some(mix(0, &["t3.large", "t3a.large", "m5.large"]));
    spot.instances = vec![instance("i-0aaa", "spot"), instance("i-0bbb", "on-demand")];
    let described = Described { groups: vec![group(GroupKind::Nodegroup, "system"), spot], ..Default::default() };
    let o = objects(
        vec![
            node("sys-1", json!({"eks.amazonaws.com/nodegroup": "system", "eks.amazonaws.com/capacityType": "ON_DEMAND"}), None, false),
            // A mixed group's node carries no capacity-type label: EC2 says what it is.
            node("ip-10-0-1-1", json!({}), Some("aws:///eu-west-1a/i-0aaa"), true),
            node("ip-10-0-1-2", json!({}), Some("aws:///eu-west-1b/i-0bbb"), false),
            node("fargate-1", json!({}), None, false),
        ],
        vec![
            pod("a", "sys-1", "250m", "256Mi", "Running"),
            pod("b", "sys-1", "0.5", "1Gi", "Running"),
            pod("done", "sys-1", "4", "4Gi", "Succeeded"),
            pod("c", "ip-10-0-1-1", "100m", "128Mi", "Running"),
        ],
    );
    let settings: PowerSettings = serde_json::from_value(json!({"eks_cluster": "platform-dev"})).unwrap();
    let settings = PowerSettings {
        capacity: vec![CapacityGroup {
            kind: GroupKind::Asg,
            name: "platform-dev-spot".into(),
            min: 0,
            desired: 3,
            max: 10,
            always_on: false,
        }],
        ..settings
    };
    let c = join("dev", "platform-dev", &described, &o, Some(&settings));

    let system = &c.groups[0];
    assert_eq!(system.nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(), ["sys-1"]);
    let sys1 = &system.nodes[0];
    // Each pod's effective request: max(containers' sum, largest init) — the finished pod counts for nothing.
    assert_eq!((sys1.pods, sys1.cpu_requested_m, sys1.memory_requested), (2, 2000 + 2000, (256 + 1024) << 20));
    assert_eq!((sys1.cpu_allocatable_m, sys1.memory_allocatable), (1930, 3500 << 20));
    assert_eq!(sys1.capacity_type.as_deref(), Some(ON_DEMAND));
    assert_eq!(system.actual, ActualMix { on_demand: 1, spot: 0 });
    assert_eq!(system.awake, None);

    let asg = &c.groups[1];
    assert_eq!(
        asg.nodes.iter().map(|n| (n.name.as_str(), n.capacity_type.as_deref())).collect::<Vec<_>>(),
        [("ip-10-0-1-1", Some(SPOT)), ("ip-10-0-1-2", Some(ON_DEMAND))]
    );
    assert!(asg.nodes[0].cordoned && !asg.nodes[1].cordoned);
    assert_eq!(asg.instances[0].node.as_deref(), Some("ip-10-0-1-1"));
    assert_eq!(asg.actual, ActualMix { on_demand: 1, spot: 1 });
    assert!(asg.warnings.iter().any(|w| w == "declared 2 spot of 2 running, EC2 says 1 are spot"), "{:?}", asg.warnings);
    assert_eq!(asg.awake, Some(Sizes { min: 0, desired: 3, max: 10 }));

    assert_eq!(c.other_nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(), ["fargate-1"]);
    assert_eq!((c.totals.nodes, c.totals.ready), (4, 4));
    assert_eq!(c.totals.cpu_allocatable_m, 4 * 1930);
    // 1 spot of the 3 nodes whose capacity type is known.
    assert_eq!(c.totals.spot_share_pct, 33.3);
    assert_eq!(c.totals.cpu_requested_pct, pct(4000 + 2000, 4 * 1930));
}

#[test]
fn warnings_name_a_mixed_group_without_spot_too_few_types_and_instances_that_never_joined() {
    let mut none = group(GroupKind::Asg, "default-100");
    none.mix = Some(mix(100, &["m5.large", "m5a.large", "m6i.large"]));
    let mut narrow = group(GroupKind::Asg, "one-type");
    narrow.mix = Some(mix(0, &["m5.large"]));
    narrow.instances = vec![instance("i-1", "spot")];
    let mut two = group(GroupKind::Asg, "two-types");
    two.mix = Some(mix(0, &["m5.large", "m5a.large"]));
    let mut degraded = group(GroupKind::Nodegroup, "system");
    degraded.status = "DEGRADED".into();
    degraded.health = vec!["Ec2LaunchTemplateNotFound: the launch template is gone".into()];
    let described = Described { groups: vec![none, narrow, two, degraded], ..Default::default() };
    let c = join("qa", "platform-qa", &described, &objects(vec![], vec![]), None);
    let w = |i: usize| c.groups[i].warnings.join(" | ");
    assert!(w(0).contains("OnDemandPercentageAboveBaseCapacity is 100"), "{}", w(0));
    assert!(w(1).contains("spot with 1 instance type:"), "{}", w(1));
    assert!(w(1).contains("1 in-service instance is not (yet) a Kubernetes node"), "{}", w(1));
    assert!(w(2).contains("only 2 instance types"), "{}", w(2));
    assert!(w(3).contains("the node group is DEGRADED") && w(3).contains("Ec2LaunchTemplateNotFound"), "{}", w(3));
    assert!(c.groups.iter().all(|g| g.warnings.iter().any(|x| x == "desired 2 but no node has joined")));
}

#[test]
fn the_declared_spot_share_rounds_on_demand_up_as_aws_does() {
    assert_eq!(declared_spot(0, 0, 3), 3);
    assert_eq!(declared_spot(1, 0, 3), 2);
    assert_eq!(declared_spot(0, 50, 3), 1);
    assert_eq!(declared_spot(0, 100, 5), 0);
    assert_eq!(declared_spot(4, 0, 2), 0);
}
