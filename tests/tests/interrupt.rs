//! A spot interruption in the sandbox (`mezame-sandbox interrupt`, played as
//! aws-node-termination-handler plays it) on the Node groups API: the
//! interruption, the microservices that lost ready replicas — all of them
//! where the spot risk said every ready replica ran on that one node (a
//! microservice of one replica is put there for it) — and the Auto Scaling
//! group replacing the instance; and a rebalance recommendation, which shows
//! what is at risk on its pool's timeline and takes nothing down.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Node, Pod, Service};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use mezame_e2e::capacity::{capacity, described, ready_pod};
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
    let client = kube("dev").await;
    remove_lone_microservice(&client).await;
    settled("dev").await;
    let mut server = Server::start(&sandbox_env_toml("dev"));
    let spot_asg = env_spec("dev").unwrap().spot_asg_name().unwrap();
    let before = eventually("dev's capacity described, with its spot risk", 2 * MINUTE, || async {
        let c = capacity(&server, "dev").await;
        (c.described_at.is_some() && c.nodes_synced && !c.spot_risk.is_empty()).then_some(c)
    })
    .await;
    let spot = before.groups.iter().find(|g| g.name == spot_asg).expect("the spot ASG").clone();

    // The spot node with the most ready replicas of microservices, and what each had there and in all.
    let pods = Api::<Pod>::all(client.clone()).list(&ListParams::default()).await.unwrap().items;
    let ready_on = |pods: &[Pod], node: &str| {
        pods.iter().filter(|p| ready_pod(p) && p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node)).count()
    };
    let node = spot.nodes.iter().map(|n| n.name.clone()).max_by_key(|n| ready_on(&pods, n)).expect("a spot node");
    // A microservice whose only replica runs there (beside the platform's, which Argo CD does not prune):
    // its interruption is an outage, predicted by the spot risk.
    lone_microservice(&client, &node).await;
    let before = eventually("the lone microservice assessed: all on one node", 2 * MINUTE, || async {
        let c = capacity(&server, "dev").await;
        let r = c.spot_risk.iter().find(|r| r.namespace == APP_NAMESPACE && r.name == LONE)?;
        r.flags.iter().any(|f| f.kind == RiskKind::OneNode).then_some(c)
    })
    .await;
    let pods = Api::<Pod>::all(client.clone()).list(&ListParams::default()).await.unwrap().items;
    let (total, by_node) = ready_microservices(&pods);
    let there = by_node.get(&node).cloned().unwrap_or_default();
    assert!(!there.is_empty(), "{node} runs some microservice");
    let want = expected_hits(&total, &there);

    let state = mezame_e2e::sandbox();
    let report = mezame_sandbox::interrupt::interrupt(&state, "dev", &node, false, Duration::from_secs(20)).await.unwrap();
    let replacement = report.replacement.clone().expect("the group launches a replacement");

    // mezame saw the node tainted, with what ran there just before.
    let seen = eventually("the interruption on the Node groups API", MINUTE, || async {
        capacity(&server, "dev").await.interruptions.into_iter().find(|i| i.node == node && i.kind == InterruptionKind::SpotInterruption)
    })
    .await;
    assert_eq!(seen.instance_id.as_deref(), Some(report.instance_id.as_str()));
    let got = hits(&seen);
    assert_eq!(got, want, "what lost capacity on {node}");
    // Whatever lost every ready replica was flagged before: all its ready replicas on one node.
    assert!(seen.hit.iter().any(|h| h.name == LONE && h.lost_all && h.serving), "the lone microservice lost all: {seen:?}");
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

    // The node leaves, the replacement joins, and dev is whole again (the lone microservice, pinned to the node, removed).
    remove_lone_microservice(&client).await;
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

#[tokio::test]
async fn a_rebalance_recommendation_is_on_its_pools_timeline_with_what_is_at_risk_and_takes_nothing_down() {
    let _lock = LOCK.lock().await;
    let client = kube("dev").await;
    settled("dev").await;
    let server = Server::start(&sandbox_env_toml("dev"));
    let spot_asg = env_spec("dev").unwrap().spot_asg_name().unwrap();
    let (before, _) = described(&server, "dev").await;
    let spot = before.groups.iter().find(|g| g.name == spot_asg).expect("the spot ASG").clone();
    let pods = Api::<Pod>::all(client.clone()).list(&ListParams::default()).await.unwrap().items;
    let (total, by_node) = ready_microservices(&pods);
    let node = spot.nodes.iter().map(|n| n.name.clone()).max_by_key(|n| by_node.get(n).map_or(0, |m| m.len())).expect("a spot node");
    let there = by_node.get(&node).cloned().unwrap_or_default();
    assert!(!there.is_empty(), "{node} runs some microservice");
    let want = expected_hits(&total, &there);

    let state = mezame_e2e::sandbox();
    let report = mezame_sandbox::interrupt::interrupt(&state, "dev", &node, true, Duration::from_secs(20)).await.unwrap();
    assert!(report.evicted.is_empty() && report.replacement.is_none(), "a recommendation takes nothing down: {report:?}");

    // On the API: the node, its instance, its pool as EC2 has it, and what is at risk there.
    let seen = eventually("the rebalance recommendation on the Node groups API", MINUTE, || async {
        capacity(&server, "dev").await.interruptions.into_iter().find(|i| i.node == node)
    })
    .await;
    assert_eq!(seen.kind, InterruptionKind::RebalanceRecommendation);
    assert_eq!(seen.instance_id.as_deref(), Some(report.instance_id.as_str()));
    let moto = aws("dev").await;
    let described = moto.ec2.describe_instances().instance_ids(&report.instance_id).send().await.unwrap();
    let instance = described.reservations()[0].instances()[0].clone();
    let pool =
        format!("{} in {}", instance.instance_type().unwrap().as_str(), instance.placement().and_then(|p| p.availability_zone()).unwrap());
    assert_eq!(seen.pool(), pool);
    let got = hits(&seen);
    assert_eq!(got, want, "what is at risk on {node}");

    // Nothing is taken down: a while later the node is schedulable with the same ready replicas, its instance in
    // the group, desired kept, and no interruption followed.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let nodes = Api::<Node>::all(client.clone());
    let n = nodes.get(&node).await.unwrap();
    assert_ne!(n.spec.as_ref().and_then(|s| s.unschedulable), Some(true), "{node} not cordoned");
    let pods = Api::<Pod>::all(client.clone()).list(&ListParams::default()).await.unwrap().items;
    assert_eq!(ready_microservices(&pods).1.get(&node).cloned().unwrap_or_default(), there, "the same ready replicas on {node}");
    let group = moto.asg.describe_auto_scaling_groups().auto_scaling_group_names(&spot_asg).send().await.unwrap();
    let g = &group.auto_scaling_groups()[0];
    assert!(g.instances().iter().any(|i| i.instance_id() == Some(report.instance_id.as_str())), "the instance kept");
    assert_eq!(g.desired_capacity(), Some(spot.desired), "desired kept");
    let c = capacity(&server, "dev").await;
    assert!(!c.interruptions.iter().any(|i| i.node == node && i.kind == InterruptionKind::SpotInterruption), "no interruption");

    // The taint off again, as the handler leaves it when the instance is replaced: dev as it was.
    let taints: Vec<_> = n
        .spec
        .and_then(|s| s.taints)
        .unwrap_or_default()
        .into_iter()
        .filter(|t| !t.key.starts_with("aws-node-termination-handler/"))
        .collect();
    nodes.patch(&node, &PatchParams::default(), &Patch::Merge(serde_json::json!({"spec": {"taints": taints}}))).await.unwrap();
}

/// The platform's microservices (its Deployments; system namespaces and the
/// gateway are not) by their ready pods: in all, and per node.
#[allow(clippy::type_complexity)]
fn ready_microservices(pods: &[Pod]) -> (BTreeMap<(String, String), u32>, BTreeMap<String, BTreeMap<(String, String), u32>>) {
    let mut total: BTreeMap<(String, String), u32> = BTreeMap::new();
    let mut by_node: BTreeMap<String, BTreeMap<(String, String), u32>> = BTreeMap::new();
    for p in pods.iter().filter(|p| ready_pod(p) && p.metadata.namespace.as_deref() == Some(APP_NAMESPACE)) {
        let (Some(ms), Some(node)) = (deployment_of(p), p.spec.as_ref().and_then(|s| s.node_name.clone())) else { continue };
        *total.entry(ms.clone()).or_default() += 1;
        *by_node.entry(node).or_default().entry(ms).or_default() += 1;
    }
    (total, by_node)
}

/// A microservice's part in an interruption: namespace, name, ready replicas
/// on the node, ready in all just before, whether it lost them all.
type Hit = (String, String, u32, u32, bool);

/// What an interruption of the node holding `there` takes, by the API server's pods.
fn expected_hits(total: &BTreeMap<(String, String), u32>, there: &BTreeMap<(String, String), u32>) -> BTreeSet<Hit> {
    there.iter().map(|(ms, here)| (ms.0.clone(), ms.1.clone(), *here, total[ms], *here == total[ms])).collect()
}

/// What mezame says the interruption took.
fn hits(seen: &mezame_shared::capacity::Interruption) -> BTreeSet<Hit> {
    seen.hit.iter().map(|h| (h.namespace.clone(), h.name.clone(), h.ready_here, h.ready_before, h.lost_all)).collect()
}

/// The lone microservice's name.
const LONE: &str = "e2e-lone";

/// A Deployment of one replica pinned to `node` (tolerating its taints) and
/// its Service, in the platform's namespace; waits until it is Ready.
async fn lone_microservice(client: &kube::Client, node: &str) {
    let pp = PatchParams::apply("mezame-e2e").force();
    let deployment = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": LONE, "namespace": APP_NAMESPACE},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": LONE}}, "template": {
            "metadata": {"labels": {"app": LONE}},
            "spec": {"nodeSelector": {"kubernetes.io/hostname": node}, "tolerations": [{"operator": "Exists"}],
                "containers": [{"name": "app", "image": "e2e.example/lone:v1", "ports": [{"name": "http", "containerPort": 8080}]}]},
        }},
    });
    Api::<Deployment>::namespaced(client.clone(), APP_NAMESPACE).patch(LONE, &pp, &Patch::Apply(deployment)).await.unwrap();
    let service = serde_json::json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": LONE, "namespace": APP_NAMESPACE},
        "spec": {"selector": {"app": LONE}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    });
    Api::<Service>::namespaced(client.clone(), APP_NAMESPACE).patch(LONE, &pp, &Patch::Apply(service)).await.unwrap();
    let pods = Api::<Pod>::namespaced(client.clone(), APP_NAMESPACE);
    eventually("the lone microservice's pod ready", MINUTE, || async {
        pods.list(&ListParams::default().labels(&format!("app={LONE}"))).await.ok()?.items.iter().any(ready_pod).then_some(())
    })
    .await;
}

/// Removes it (if there: a failed run may have left it).
async fn remove_lone_microservice(client: &kube::Client) {
    let dp = DeleteParams::default();
    let _ = Api::<Deployment>::namespaced(client.clone(), APP_NAMESPACE).delete(LONE, &dp).await;
    let _ = Api::<Service>::namespaced(client.clone(), APP_NAMESPACE).delete(LONE, &dp).await;
}
