//! The drain overhead of the capacity bench: a node emptied with the bare
//! API (the API's own time) against a node drained by mezame's run.

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, EvictParams, ListParams, Patch, PatchParams, WatchEvent, WatchParams};

use crate::Server;
use crate::bench::say;

/// Per-pod times of both drains, in ms.
pub struct DrainFigures {
    pub api_pods: usize,
    pub api_per_pod: f64,
    pub mezame_pods: usize,
    pub mezame_per_pod: f64,
}

impl DrainFigures {
    pub fn overhead(&self) -> f64 {
        self.mezame_per_pod - self.api_per_pod
    }
}

/// The two bench nodes with the most pods (a sandbox kept from an earlier
/// run has its first nodes emptied by that run's drains): the larger the
/// sample, the less noise in the per-pod figures.
async fn fullest_two(client: &kube::Client) -> (String, String) {
    let pods = Api::<Pod>::namespaced(client.clone(), crate::bench::NS).list(&ListParams::default()).await.unwrap().items;
    let mut on: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for node in pods.iter().filter_map(|p| p.spec.as_ref()?.node_name.clone()) {
        *on.entry(node).or_default() += 1;
    }
    let mut by_count: Vec<(usize, String)> = on.into_iter().map(|(n, c)| (c, n)).collect();
    by_count.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let mut names = by_count.into_iter().map(|(_, n)| n);
    (names.next().expect("a bench node with pods"), names.next().expect("two bench nodes with pods"))
}

async fn pods_on(pods: &Api<Pod>, node: &str) -> Vec<Pod> {
    let on = ListParams::default().fields(&format!("spec.nodeName={node}"));
    pods.list(&on).await.unwrap().items.into_iter().filter(|p| p.metadata.deletion_timestamp.is_none()).collect()
}

async fn cordon(nodes: &Api<Node>, node: &str, on: bool) {
    nodes.patch(node, &PatchParams::default(), &Patch::Merge(serde_json::json!({"spec": {"unschedulable": on}}))).await.unwrap();
}

/// Empties `node` as a bare client would: cordon, evict each pod in turn,
/// then a watch until no pod is left on it. Returns (pods, elapsed).
async fn by_hand(client: &kube::Client, node: &str) -> (usize, Duration) {
    let (nodes, pods) = (Api::<Node>::all(client.clone()), Api::<Pod>::all(client.clone()));
    let t = Instant::now();
    cordon(&nodes, node, true).await;
    let on = ListParams::default().fields(&format!("spec.nodeName={node}"));
    let listed = pods.list(&on).await.unwrap();
    let mut left: std::collections::BTreeSet<String> = listed.items.iter().filter_map(|p| p.metadata.name.clone()).collect();
    let count = left.len();
    let rv = listed.metadata.resource_version.unwrap_or_default();
    let mut events = pods.watch(&WatchParams::default().fields(&format!("spec.nodeName={node}")), &rv).await.unwrap().boxed();
    for p in &listed.items {
        let ns = p.metadata.namespace.as_deref().unwrap_or_default();
        let name = p.metadata.name.as_deref().unwrap_or_default();
        if let Err(e) = Api::<Pod>::namespaced(client.clone(), ns).evict(name, &EvictParams::default()).await {
            panic!("evicting {ns}/{name}: {e}");
        }
    }
    while !left.is_empty() {
        match tokio::time::timeout(Duration::from_secs(120), events.try_next()).await {
            Ok(Ok(Some(WatchEvent::Deleted(p)))) => drop(left.remove(p.metadata.name.as_deref().unwrap_or_default())),
            Ok(Ok(Some(_))) => {}
            other => panic!("{} pod(s) still on {node} after 120 s ({other:?})", left.len()),
        }
    }
    (count, t.elapsed())
}

/// Drains `node` by mezame's API; the run's own record of its time.
async fn by_mezame(server: &Server, client: &kube::Client, env: &str, node: &str) -> (usize, Duration) {
    let count = pods_on(&Api::<Pod>::all(client.clone()), node).await.len();
    let http = crate::anonymous();
    let r = http.post(server.url(&format!("/api/envs/{env}/nodes/{node}/drain"))).json(&serde_json::json!({})).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 202, "drain {node}: {}", r.text().await.unwrap_or_default());
    let run = r.json::<serde_json::Value>().await.unwrap()["id"].as_i64().expect("a run id");
    let done = crate::runs::finished(server, run, Duration::from_secs(600)).await;
    assert_eq!(done.state, mezame_shared::power::RunState::Succeeded, "the drain of {node}: {:?}", done.message);
    let took = (done.finished_at.unwrap() - done.created_at).to_std().unwrap_or_default();
    (count, took)
}

/// Empties one bench node by hand and drains another by mezame (each then
/// uncordoned, its pods having gone to the spare node's room).
pub async fn drain_overhead(server: &Server, client: &kube::Client, env: &str) -> DrainFigures {
    let nodes = Api::<Node>::all(client.clone());
    let (first, second) = fullest_two(client).await;
    let (first, second) = (first.as_str(), second.as_str());
    let (api_pods, api) = by_hand(client, first).await;
    cordon(&nodes, first, false).await;
    say(&format!("by hand: {api_pods} pods off {first} in {:.0} ms", api.as_secs_f64() * 1000.0));
    let (mezame_pods, mezame) = by_mezame(server, client, env, second).await;
    cordon(&nodes, second, false).await;
    say(&format!("by mezame: {mezame_pods} pods off {second} in {:.0} ms (the run's own times)", mezame.as_secs_f64() * 1000.0));
    let per = |n: usize, d: Duration| d.as_secs_f64() * 1000.0 / n.max(1) as f64;
    let f = DrainFigures { api_pods, api_per_pod: per(api_pods, api), mezame_pods, mezame_per_pod: per(mezame_pods, mezame) };
    say(&format!("drain overhead {:.1} ms per pod (target ≤ 20)", f.overhead()));
    f
}
