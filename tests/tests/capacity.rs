//! The capacity view against the sandbox: node groups and Auto Scaling groups
//! as moto describes them, joined with the real API server's nodes and pods.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams};
use mezame_e2e::cluster::{LOCK, MINUTE, aws, settled};
use mezame_e2e::{Server, eventually, get_json, kube, sandbox_env_toml};
use mezame_sandbox::platform::env_spec;
use mezame_shared::capacity::{Capacity, Group};
use mezame_shared::power::GroupKind;

async fn capacity(server: &Server, env: &str) -> Capacity {
    let (status, body) = get_json(&server.url(&format!("/api/envs/{env}/capacity"))).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).expect("a Capacity")
}

/// The view once AWS was described and every node of the cluster is in it.
async fn described(server: &Server, env: &str) -> (Capacity, Vec<Node>) {
    let client = kube(env).await;
    eventually(&format!("{env}: the groups described and every node joined"), 2 * MINUTE, || async {
        let c = capacity(server, env).await;
        let nodes = Api::<Node>::all(client.clone()).list(&ListParams::default()).await.ok()?.items;
        let shown = c.groups.iter().map(|g| g.nodes.len()).sum::<usize>() + c.other_nodes.len();
        (c.described_at.is_some()
            && c.nodes_synced
            && c.aws_error.is_none()
            && shown == nodes.len()
            && c.totals.nodes as usize == nodes.len())
        .then_some((c, nodes))
    })
    .await
}

fn names<'a>(nodes: impl IntoIterator<Item = &'a Node>) -> BTreeSet<String> {
    nodes.into_iter().filter_map(|n| n.metadata.name.clone()).collect()
}

fn group<'a>(c: &'a Capacity, kind: GroupKind, name: &str) -> &'a Group {
    c.groups.iter().find(|g| g.kind == kind && g.name == name).unwrap_or_else(|| panic!("{name} in {:?}", c.groups))
}

#[tokio::test]
async fn dev_shows_its_managed_group_and_its_spot_asg_each_with_its_own_nodes_and_ec2_lifecycle() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let server = Server::start(&sandbox_env_toml("dev"));
    let (c, nodes) = described(&server, "dev").await;
    let spec = env_spec("dev").unwrap();
    assert_eq!(c.cluster, "platform-dev");
    assert_eq!(c.groups.len(), 2, "{:?}", c.groups.iter().map(|g| &g.name).collect::<Vec<_>>());

    // The managed group: as EKS (moto) describes it, with the nodes EKS labels as its own.
    let system = group(&c, GroupKind::Nodegroup, "system");
    let ng = &spec.nodegroups[0];
    assert_eq!((system.min, system.desired, system.max), (ng.min, ng.desired, ng.max));
    assert_eq!((system.capacity_type.as_str(), system.instance_types.as_slice()), ("ON_DEMAND", [ng.instance_type.to_string()].as_slice()));
    assert_eq!(system.status, "ACTIVE");
    let labelled = names(
        nodes
            .iter()
            .filter(|n| n.metadata.labels.as_ref().and_then(|l| l.get("eks.amazonaws.com/nodegroup")).is_some_and(|g| g == "system")),
    );
    assert_eq!(system.nodes.iter().map(|n| n.name.clone()).collect::<BTreeSet<_>>(), labelled);
    assert_eq!(labelled.len(), ng.desired as usize);
    assert!(
        system.nodes.iter().all(|n| n.ready && n.capacity_type.as_deref() == Some("on-demand") && n.cpu_allocatable_m > 0),
        "{:?}",
        system.nodes
    );

    // The spot ASG: its MixedInstancesPolicy as declared, its instances as EC2 says (spot), its nodes by providerID.
    let spot_name = spec.spot_asg_name().unwrap();
    let asg = group(&c, GroupKind::Asg, &spot_name);
    let spot = spec.spot.unwrap();
    assert_eq!((asg.min, asg.desired, asg.max), (spot.min, spot.desired, spot.max));
    let mix = asg.mix.as_ref().expect("a MixedInstancesPolicy");
    assert_eq!((mix.on_demand_base, mix.on_demand_percent_above_base), (0, 0));
    assert_eq!(mix.spot_allocation_strategy.as_deref(), Some("price-capacity-optimized"));
    assert_eq!(mix.instance_types, spot.instance_types.iter().map(|t| t.to_string()).collect::<Vec<_>>());
    // AWS (and moto) name the launch template by id once described; by name if only that is known.
    assert!(mix.launch_template.as_deref().is_some_and(|l| l.starts_with("lt-") || l.starts_with(&spot_name)), "{mix:?}");
    let moto = aws("dev").await;
    let described = moto.asg.describe_auto_scaling_groups().auto_scaling_group_names(&spot_name).send().await.unwrap();
    let ids: BTreeSet<String> =
        described.auto_scaling_groups()[0].instances().iter().filter_map(|i| i.instance_id().map(str::to_string)).collect();
    assert_eq!(asg.instances.iter().map(|i| i.id.clone()).collect::<BTreeSet<_>>(), ids);
    assert_eq!(ids.len(), spot.desired as usize);
    let ec2 = moto.ec2.describe_instances().set_instance_ids(Some(ids.iter().cloned().collect())).send().await.unwrap();
    let lifecycles: Vec<_> =
        ec2.reservations().iter().flat_map(|r| r.instances()).map(|i| i.instance_lifecycle().map(|l| l.as_str().to_string())).collect();
    assert!(lifecycles.iter().all(|l| l.as_deref() == Some("spot")), "EC2 says {lifecycles:?}");
    assert!(asg.instances.iter().all(|i| i.lifecycle == "spot" && i.node.is_some()), "{:?}", asg.instances);
    assert_eq!((asg.actual.spot, asg.actual.on_demand), (spot.desired as u32, 0));
    let by_provider = names(nodes.iter().filter(|n| {
        n.spec.as_ref().and_then(|s| s.provider_id.as_deref()).and_then(|p| p.rsplit('/').next()).is_some_and(|id| ids.contains(id))
    }));
    assert_eq!(asg.nodes.iter().map(|n| n.name.clone()).collect::<BTreeSet<_>>(), by_provider);
    assert!(asg.nodes.iter().all(|n| n.capacity_type.as_deref() == Some("spot")), "{:?}", asg.nodes);
    assert!(asg.warnings.is_empty(), "{:?}", asg.warnings);
    // Awake sizes from the power settings (the configuration's).
    assert_eq!(asg.awake.as_ref().map(|a| (a.min, a.desired, a.max)), Some((spot.min, spot.desired, spot.max)));

    // Pods per node as the API server binds them (non-terminal ones).
    let pods = Api::<Pod>::all(kube("dev").await).list(&ListParams::default()).await.unwrap().items;
    let node = &system.nodes[0];
    let bound = pods
        .iter()
        .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node.name.as_str()))
        .filter(|p| !matches!(p.status.as_ref().and_then(|s| s.phase.as_deref()), Some("Succeeded" | "Failed")))
        .count();
    assert_eq!(node.pods as usize, bound, "{node:?}");

    let spot_nodes = asg.nodes.len() as f64;
    assert_eq!(c.totals.spot_share_pct, (spot_nodes * 1000.0 / nodes.len() as f64).round() / 10.0);
    assert_eq!(c.totals.ready as usize, nodes.len());
}

#[tokio::test]
async fn prod_shows_its_on_demand_group_and_its_empty_spot_asg_and_an_unknown_env_is_a_404() {
    let _lock = LOCK.lock().await;
    let server = Server::start(&sandbox_env_toml("prod"));
    let (c, nodes) = described(&server, "prod").await;
    let spec = env_spec("prod").unwrap();
    let general = group(&c, GroupKind::Nodegroup, spec.nodegroups[0].name);
    assert_eq!(general.nodes.len(), nodes.len());
    assert_eq!(general.desired, spec.nodegroups[0].desired);
    assert!(general.nodes.iter().all(|n| n.capacity_type.as_deref() == Some("on-demand")));
    // A protected environment has no power settings: no awake sizes.
    assert_eq!(general.awake, None);
    assert_eq!(c.totals.spot_share_pct, 0.0);
    // The hybrid's spot half: an Auto Scaling group with a spot policy, empty.
    let spot = group(&c, GroupKind::Asg, &spec.spot_asg_name().unwrap());
    assert_eq!((spot.min, spot.desired, spot.nodes.len(), spot.instances.len()), (0, 0, 0, 0));
    assert_eq!(spot.mix.as_ref().map(|m| m.on_demand_percent_above_base), Some(0));
    assert!(spot.warnings.is_empty(), "{:?}", spot.warnings);
    assert_eq!(c.groups.len(), 2);
    let (status, body) = get_json(&server.url("/api/envs/staging/capacity")).await;
    assert_eq!(status, 404, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("prod"), "{body}");
}
