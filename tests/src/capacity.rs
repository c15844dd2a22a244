//! Helpers of the capacity tests (`tests/capacity.rs`, `tests/interrupt.rs`):
//! the Node groups API's answer, and the cluster's truth to hold it against.

use std::collections::{BTreeSet, HashMap};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams};
use mezame_shared::capacity::{Capacity, Group, RiskKind};
use mezame_shared::power::GroupKind;

use crate::cluster::MINUTE;
use crate::{Server, eventually, get_json, kube};

/// `GET /api/envs/{env}/capacity`, answered 200.
pub async fn capacity(server: &Server, env: &str) -> Capacity {
    let (status, body) = get_json(&server.url(&format!("/api/envs/{env}/capacity"))).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).expect("a Capacity")
}

/// The view once AWS was described and every node of the cluster is in it.
pub async fn described(server: &Server, env: &str) -> (Capacity, Vec<Node>) {
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

/// What moto holds of an Auto Scaling group: sizes and its MixedInstancesPolicy, whole.
pub async fn asg_in_moto(moto: &mezame_sandbox::aws::Aws, name: &str) -> ((i32, i32, i32), String) {
    let out = moto.asg.describe_auto_scaling_groups().auto_scaling_group_names(name).send().await.unwrap();
    let g = &out.auto_scaling_groups()[0];
    ((g.min_size().unwrap(), g.desired_capacity().unwrap(), g.max_size().unwrap()), format!("{:?}", g.mixed_instances_policy()))
}

/// The group `kind`/`name` of the view.
pub fn group<'a>(c: &'a Capacity, kind: GroupKind, name: &str) -> &'a Group {
    c.groups.iter().find(|g| g.kind == kind && g.name == name).unwrap_or_else(|| panic!("{name} in {:?}", c.groups))
}

/// A pod that runs, is Ready and is not being deleted.
pub fn ready_pod(p: &Pod) -> bool {
    let s = p.status.as_ref();
    p.metadata.deletion_timestamp.is_none()
        && s.and_then(|s| s.phase.as_deref()) == Some("Running")
        && s.and_then(|s| s.conditions.as_ref()).is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Checks every microservice's spot risk against the cluster's Deployments
/// and ready pods; answers how many are flagged.
pub async fn spot_risk_matches_the_cluster(c: &Capacity, pods: &[Pod], client: &kube::Client) -> usize {
    let capacity_of: HashMap<&str, Option<&str>> =
        c.groups.iter().flat_map(|g| &g.nodes).map(|n| (n.name.as_str(), n.capacity_type.as_deref())).collect();
    let deployments = Api::<Deployment>::all(client.clone()).list(&ListParams::default()).await.unwrap().items;
    let ready_pods = |d: &Deployment| {
        let want = d.spec.as_ref().and_then(|s| s.selector.match_labels.clone()).unwrap_or_default();
        let ns = d.metadata.namespace.as_deref();
        pods.iter()
            .filter(move |p| p.metadata.namespace.as_deref() == ns && ready_pod(p))
            .filter(move |p| want.iter().all(|(k, v)| p.metadata.labels.as_ref().and_then(|l| l.get(k)) == Some(v)))
            .filter_map(|p| p.spec.as_ref()?.node_name.clone())
            .collect::<Vec<String>>()
    };
    assert!(!c.spot_risk.is_empty(), "every microservice with pods is assessed");
    for r in &c.spot_risk {
        let d = deployments
            .iter()
            .find(|d| d.metadata.namespace.as_deref() == Some(r.namespace.as_str()) && d.metadata.name.as_deref() == Some(r.name.as_str()));
        let on = ready_pods(d.unwrap_or_else(|| panic!("{}/{} is a Deployment", r.namespace, r.name)));
        let spot = on.iter().filter(|n| capacity_of.get(n.as_str()).copied().flatten() == Some("spot")).count() as u32;
        assert_eq!((r.ready, r.on_spot), (on.len() as u32, spot), "{r:?} vs pods on {on:?}");
        assert_eq!(r.nodes, on.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>(), "{r:?}");
        let has = |k: RiskKind| r.flags.iter().any(|f| f.kind == k);
        assert_eq!(has(RiskKind::AllOnSpot), r.serving && r.ready > 0 && spot == r.ready, "{r:?}");
        assert_eq!(has(RiskKind::OneNode), r.serving && r.nodes.len() == 1, "{r:?}");
        assert_eq!(has(RiskKind::NoPdbOnSpot), spot > 0 && !r.has_pdb, "{r:?}");
    }
    c.spot_risk.iter().filter(|r| !r.flags.is_empty()).count()
}

/// The on-demand price table shipped with mezame.
pub static TABLE: std::sync::LazyLock<serde_json::Value> =
    std::sync::LazyLock::new(|| serde_json::from_str(include_str!("../../backend/data/ec2-on-demand.json")).unwrap());

/// Equal, as rounded: hourly prices to 1/10,000 of a dollar, monthly figures to the cent.
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < if b.abs() < 10.0 { 2e-4 } else { 0.01 }
}
