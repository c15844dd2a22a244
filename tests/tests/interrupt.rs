//! A spot interruption in the sandbox (`mezame-sandbox interrupt`, played as
//! aws-node-termination-handler plays it) on the Node groups API: the
//! interruption, the microservices that lost ready replicas — all of them
//! where the spot risk said every ready replica ran on that one node — and
//! the Auto Scaling group replacing the instance.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::api::{Api, ListParams};
use mezame_e2e::capacity::{capacity, ready_pod};
use mezame_e2e::cluster::{LOCK, MINUTE, aws, settled};
use mezame_e2e::{Server, eventually, kube, sandbox_env_toml};
use mezame_sandbox::platform::{APP_NAMESPACE, env_spec};
use mezame_shared::capacity::{InterruptionKind, RiskKind};

/// The Deployment of a pod: its ReplicaSet's name without the pod-template-hash.
fn deployment_of(p: &Pod) -> Option<(String, String)> {
    let hash = p.metadata.labels.as_ref()?.get("pod-template-hash")?;
    let rs = p.metadata.owner_references.as_ref()?.iter().find(|o| o.kind == "ReplicaSet")?;
    Some((p.metadata.namespace.clone()?, rs.name.strip_suffix(&format!("-{hash}"))?.to_string()))
}

#[tokio::test]
async fn a_spot_interruption_shows_the_microservices_that_lost_capacity_as_the_spot_risk_predicted() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let mut server = Server::start(&sandbox_env_toml("dev"));
    let client = kube("dev").await;
    let spot_asg = env_spec("dev").unwrap().spot_asg_name().unwrap();
    let before = eventually("dev's capacity described, with its spot risk", 2 * MINUTE, || async {
        let c = capacity(&server, "dev").await;
        (c.described_at.is_some() && c.nodes_synced && !c.spot_risk.is_empty()).then_some(c)
    })
    .await;
    let spot = before.groups.iter().find(|g| g.name == spot_asg).expect("the spot ASG");

    // The spot node with the most ready replicas of microservices, and what each had there and in all.
    let pods = Api::<Pod>::all(client.clone()).list(&ListParams::default()).await.unwrap().items;
    let mut total: BTreeMap<(String, String), u32> = BTreeMap::new();
    let mut by_node: BTreeMap<String, BTreeMap<(String, String), u32>> = BTreeMap::new();
    // The microservices: the platform's Deployments (system namespaces and the gateway are not).
    for p in pods.iter().filter(|p| ready_pod(p) && p.metadata.namespace.as_deref() == Some(APP_NAMESPACE)) {
        let (Some(ms), Some(node)) = (deployment_of(p), p.spec.as_ref().and_then(|s| s.node_name.clone())) else { continue };
        *total.entry(ms.clone()).or_default() += 1;
        *by_node.entry(node).or_default().entry(ms).or_default() += 1;
    }
    let node = spot
        .nodes
        .iter()
        .map(|n| n.name.clone())
        .max_by_key(|n| by_node.get(n).map_or(0, |m| m.values().sum::<u32>()))
        .expect("a spot node");
    let there = by_node.get(&node).cloned().unwrap_or_default();
    assert!(!there.is_empty(), "{node} runs some microservice");
    let want: BTreeSet<(String, String, u32, u32, bool)> = there
        .iter()
        .map(|((ns, name), here)| {
            (ns.clone(), name.clone(), *here, total[&(ns.clone(), name.clone())], *here == total[&(ns.clone(), name.clone())])
        })
        .collect();

    let state = mezame_e2e::sandbox();
    let report = mezame_sandbox::interrupt::interrupt(&state, "dev", &node, false, Duration::from_secs(20)).await.unwrap();
    let replacement = report.replacement.clone().expect("the group launches a replacement");

    // mezame saw the node tainted, with what ran there just before.
    let seen = eventually("the interruption on the Node groups API", MINUTE, || async {
        capacity(&server, "dev").await.interruptions.into_iter().find(|i| i.node == node && i.kind == InterruptionKind::SpotInterruption)
    })
    .await;
    assert_eq!(seen.instance_id.as_deref(), Some(report.instance_id.as_str()));
    let got: BTreeSet<(String, String, u32, u32, bool)> =
        seen.hit.iter().map(|h| (h.namespace.clone(), h.name.clone(), h.ready_here, h.ready_before, h.lost_all)).collect();
    assert_eq!(got, want, "what lost capacity on {node}");
    // Whatever lost every ready replica was flagged before: all its ready replicas on one node.
    for h in seen.hit.iter().filter(|h| h.lost_all && h.serving) {
        let r = before.spot_risk.iter().find(|r| r.namespace == h.namespace && r.name == h.name).expect("assessed before");
        assert!(r.flags.iter().any(|f| f.kind == RiskKind::OneNode), "{r:?}");
    }

    // Kept across a restart (saved within a second; a kill -9 loses nothing saved).
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    server.kill_and_restart();
    let kept = eventually("the interruption after a restart", MINUTE, || async {
        capacity(&server, "dev").await.interruptions.into_iter().find(|i| i.node == node && i.kind == InterruptionKind::SpotInterruption)
    })
    .await;
    assert_eq!(kept, seen, "the same interruption, as it was noticed");

    // As aws-node-termination-handler does it: the event on the Node, the taint; then AWS replaces the instance.
    let events = Api::<Event>::namespaced(client.clone(), "default")
        .list(&ListParams::default().fields(&format!("involvedObject.name={node},reason=SpotInterruption")))
        .await
        .unwrap()
        .items;
    assert!(events.iter().any(|e| e.source.as_ref().and_then(|s| s.component.as_deref()) == Some("aws-node-termination-handler")));
    let moto = aws("dev").await;
    let group = moto.asg.describe_auto_scaling_groups().auto_scaling_group_names(&spot_asg).send().await.unwrap();
    let ids: Vec<&str> = group.auto_scaling_groups()[0].instances().iter().filter_map(|i| i.instance_id()).collect();
    assert!(ids.contains(&replacement.as_str()) && !ids.contains(&report.instance_id.as_str()), "{ids:?}");
    assert_eq!(group.auto_scaling_groups()[0].desired_capacity(), Some(spot.desired), "desired kept");

    // The node leaves, the replacement joins, and dev is whole again.
    let nodes = Api::<Node>::all(client.clone());
    eventually("the interrupted node gone and the group's nodes back", 2 * MINUTE, || async {
        let c = capacity(&server, "dev").await;
        let g = c.groups.iter().find(|g| g.name == spot_asg)?;
        let back = nodes.get_opt(&node).await.ok()?.is_none() && g.nodes.len() == spot.desired as usize && g.nodes.iter().all(|n| n.ready);
        back.then_some(())
    })
    .await;
    settled("dev").await;
}
