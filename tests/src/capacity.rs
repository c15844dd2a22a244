//! Helpers of the capacity tests (`tests/capacity.rs`, `tests/interrupt.rs`):
//! the Node groups API's answer, and the cluster's truth to hold it against.

use std::collections::{BTreeSet, HashMap};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, ListParams};
use mezame_shared::capacity::{Capacity, Group, GroupChanged, NodeRow, RiskKind};
use mezame_shared::power::GroupKind;

use crate::cluster::MINUTE;
use crate::manifests::send;
use crate::{OPERATOR, Server, client_as, eventually, eventually_ok, get_json, kube};

/// The dry run, as an operator, of lowering dev's group `kind`/`name` by one
/// to `sizes`: answered 200, naming one node — the youngest of those with the
/// fewest pods (none being cordoned or not Ready), with its instance — in a
/// message about a safe scale-in, and starting no run.
pub async fn planned_scale_in_of_one(server: &Server, kind: GroupKind, name: &str, sizes: &serde_json::Value) -> GroupChanged {
    let c = capacity(server, "dev").await;
    let nodes = &group(&c, kind, name).nodes;
    let url = server.url(&format!("/api/envs/dev/capacity/{}/{name}", kind.as_str()));
    let (s, answer) = send(client_as(OPERATOR).patch(&url).json(&serde_json::json!({"sizes": sizes, "dry_run": true}))).await;
    assert_eq!(s, 200, "{answer}");
    let planned: GroupChanged = serde_json::from_value(answer).unwrap();
    assert_eq!(planned.scale_in.len(), 1, "{planned:?}");
    let chosen = &planned.scale_in[0];
    let fewest = nodes.iter().map(|n| n.pods).min().expect("nodes");
    let expected = nodes.iter().filter(|n| n.pods == fewest).max_by_key(|n| (n.created, std::cmp::Reverse(n.name.clone()))).expect("nodes");
    assert_eq!(chosen.node, expected.name, "the youngest of the emptiest nodes: {nodes:?}");
    assert_eq!(Some(&chosen.instance_id), expected.instance_id.as_ref());
    let said = &planned.message;
    assert!(said.contains("safe scale-in") && said.contains(&chosen.node) && said.contains(&chosen.instance_id), "{said}");
    assert!(planned.run.is_none());
    planned
}

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

/// Waits (a minute) until the view shows the group `kind`/`name` of `env`
/// at `desired` with as many nodes, all Ready; else fails saying what the
/// view and the cluster had last (the sandbox controller's warnings are
/// printed at the end of `cargo xtask test`).
pub async fn group_reaches(server: &Server, env: &str, kind: GroupKind, name: &str, desired: i32) -> Capacity {
    let client = kube(env).await;
    eventually_ok(&format!("{env}: {name} showing {desired} Ready nodes"), MINUTE, || async {
        let c = capacity(server, env).await;
        let g = group(&c, kind, name);
        if g.desired == desired && g.nodes.len() == desired as usize && g.nodes.iter().all(|n| n.ready) {
            return Ok(c);
        }
        let nodes: Vec<String> = Api::<Node>::all(client.clone())
            .list(&ListParams::default())
            .await
            .map(|l| l.items.iter().map(node_line).collect())
            .unwrap_or_else(|e| vec![format!("cannot list: {e}")]);
        let shown: Vec<String> = g.nodes.iter().map(|n| format!("{} ready={} {:?}", n.name, n.ready, n.instance_id)).collect();
        let instances: Vec<String> = g.instances.iter().map(|i| format!("{} {} node={:?}", i.id, i.lifecycle, i.node)).collect();
        Err(format!(
            "the view (AWS described at {:?}, AWS error {:?}, nodes synced {}): desired {}, instances {instances:?}, nodes {shown:?}. \
             The cluster's nodes: {nodes:?}",
            c.described_at, c.aws_error, c.nodes_synced, g.desired
        ))
    })
    .await
}

/// A node as `kubectl get nodes` would sum it up: name, Ready, its instance.
fn node_line(n: &Node) -> String {
    let provider = n.spec.as_ref().and_then(|s| s.provider_id.as_deref()).unwrap_or("-");
    format!("{} ready={} {provider}", n.metadata.name.as_deref().unwrap_or("?"), crate::cluster::ready(n))
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

/// The ready pods `d` selects.
fn ready_pods_of<'a>(d: &Deployment, pods: &'a [Pod]) -> Vec<&'a Pod> {
    let want = d.spec.as_ref().and_then(|s| s.selector.match_labels.clone()).unwrap_or_default();
    let ns = d.metadata.namespace.as_deref();
    pods.iter()
        .filter(|p| p.metadata.namespace.as_deref() == ns && ready_pod(p))
        .filter(|p| want.iter().all(|(k, v)| p.metadata.labels.as_ref().and_then(|l| l.get(k)) == Some(v)))
        .collect()
}

/// `100m`, `2`, `256Mi`, `1Gi`, `1000` as a number (millicores with `milli`, else bytes or cores).
fn quantity(q: &str, milli: bool) -> f64 {
    let units = [("Ki", 1024f64), ("Mi", 1024f64.powi(2)), ("Gi", 1024f64.powi(3)), ("m", 0.001)];
    let (n, scale) = units.iter().find_map(|(u, f)| q.strip_suffix(u).map(|n| (n, *f))).unwrap_or((q, 1.0));
    n.parse::<f64>().unwrap() * scale * if milli { 1000.0 } else { 1.0 }
}

/// Checks each microservice's spot move — ready for spot, and its saving
/// recomputed from its ready pods' requests (the API server's), the shipped
/// on-demand table and EC2's (moto's) spot prices; answers how many are ready.
pub async fn spot_moves_are_priced(c: &Capacity, pods: &[Pod], client: &kube::Client, ec2: &aws_sdk_ec2::Client) -> usize {
    let nodes: HashMap<&str, &NodeRow> =
        c.groups.iter().flat_map(|g| &g.nodes).chain(&c.other_nodes).map(|n| (n.name.as_str(), n)).collect();
    let types: BTreeSet<String> = nodes.values().filter_map(|n| n.instance_type.clone()).collect();
    let history = ec2
        .describe_spot_price_history()
        .set_instance_types(Some(types.iter().map(|t| t.as_str().into()).collect()))
        .start_time(aws_sdk_ec2::primitives::DateTime::from(std::time::SystemTime::now()))
        .send()
        .await
        .unwrap();
    let spot = |t: &str, z: &str| {
        history
            .spot_price_history()
            .iter()
            .find(|p| p.instance_type().map(|i| i.as_str()) == Some(t) && p.availability_zone() == Some(z))
            .and_then(|p| p.spot_price()?.parse::<f64>().ok())
    };
    let od = |t: &str| TABLE["regions"][c.cost.prices.region.as_str()][t].as_f64();
    let deployments = Api::<Deployment>::all(client.clone()).list(&ListParams::default()).await.unwrap().items;
    let mut total = 0.0;
    for m in &c.spot_moves {
        let r =
            c.spot_risk.iter().find(|r| (&r.namespace, &r.name) == (&m.namespace, &m.name)).expect("a move of an assessed microservice");
        assert_eq!(m.on_demand, r.on_demand);
        assert!(m.on_demand > 0, "{m:?}");
        assert_eq!(m.ready_for_spot, r.ready >= 2 && r.nodes >= 2 && r.zones.len() >= 2 && r.has_pdb, "{m:?} {r:?}");
        let d = deployments
            .iter()
            .find(|d| d.metadata.namespace.as_deref() == Some(&m.namespace) && d.metadata.name.as_deref() == Some(&m.name));
        let mut hourly = 0.0;
        for p in ready_pods_of(d.expect("a Deployment"), pods) {
            let n = nodes[p.spec.as_ref().unwrap().node_name.as_deref().unwrap()];
            if n.capacity_type.as_deref() != Some("on-demand") {
                continue;
            }
            let (mut cpu, mut mem) = (0.0, 0.0);
            for ct in &p.spec.as_ref().unwrap().containers {
                let req = ct.resources.as_ref().and_then(|r| r.requests.clone()).unwrap_or_default();
                cpu += req.get("cpu").map_or(0.0, |q| quantity(&q.0, true));
                mem += req.get("memory").map_or(0.0, |q| quantity(&q.0, false));
            }
            let part = (cpu / n.cpu_allocatable_m as f64).max(mem / n.memory_allocatable as f64);
            let (t, z) = (n.instance_type.as_deref().unwrap(), n.zone.as_deref().unwrap());
            if let (Some(o), Some(s)) = (od(t), spot(t, z)) {
                hourly += part * (o - s).max(0.0);
            }
        }
        let want = (hourly * 730.0 * 100.0).round() / 100.0;
        assert!(close(m.saving_monthly, want), "{m:?} vs {want}");
        if m.ready_for_spot {
            total += m.saving_monthly;
        }
    }
    assert!(close(c.cost.spot_ready_saving_monthly, total), "{} vs {total}", c.cost.spot_ready_saving_monthly);
    c.spot_moves.iter().filter(|m| m.ready_for_spot).count()
}

/// Checks every microservice's spot risk in `env`'s capacity view against the
/// cluster's Deployments and ready pods; answers how many are flagged. The
/// view and the cluster are read again until they agree, for up to 30 s: a
/// rollout or a pod replaced between the two reads is not a mismatch (CI saw
/// 3 ready pods of a Deployment mid-rollout against the view's 2).
pub async fn spot_risk_matches_the_cluster(server: &Server, env: &str) -> usize {
    let client = kube(env).await;
    eventually_ok(&format!("{env}'s spot risk matching the cluster"), std::time::Duration::from_secs(30), || async {
        let c = capacity(server, env).await;
        let pods = Api::<Pod>::all(client.clone()).list(&ListParams::default()).await.unwrap().items;
        let deployments = Api::<Deployment>::all(client.clone()).list(&ListParams::default()).await.unwrap().items;
        spot_risk_mismatch(&c, &pods, &deployments)
    })
    .await
}

/// What of the view's spot risk disagrees with these pods and Deployments
/// (or how many microservices are flagged).
fn spot_risk_mismatch(c: &Capacity, pods: &[Pod], deployments: &[Deployment]) -> Result<usize, String> {
    let capacity_of: HashMap<&str, Option<&str>> =
        c.groups.iter().flat_map(|g| &g.nodes).map(|n| (n.name.as_str(), n.capacity_type.as_deref())).collect();
    let ready_pods =
        |d: &Deployment| ready_pods_of(d, pods).into_iter().filter_map(|p| p.spec.as_ref()?.node_name.clone()).collect::<Vec<String>>();
    if c.spot_risk.is_empty() {
        return Err("no microservice is assessed, though every one with pods must be".into());
    }
    for r in &c.spot_risk {
        let d = deployments
            .iter()
            .find(|d| d.metadata.namespace.as_deref() == Some(r.namespace.as_str()) && d.metadata.name.as_deref() == Some(r.name.as_str()))
            .ok_or_else(|| format!("{}/{} is not a Deployment", r.namespace, r.name))?;
        let on = ready_pods(d);
        let spot = on.iter().filter(|n| capacity_of.get(n.as_str()).copied().flatten() == Some("spot")).count() as u32;
        let has = |k: RiskKind| r.flags.iter().any(|f| f.kind == k);
        let checks = [
            ("ready and on spot", (r.ready, r.on_spot) == (on.len() as u32, spot)),
            ("nodes", r.nodes as usize == on.iter().collect::<BTreeSet<_>>().len()),
            ("all on spot", has(RiskKind::AllOnSpot) == (r.serving && r.ready > 0 && spot == r.ready)),
            ("one node", has(RiskKind::OneNode) == (r.serving && r.nodes == 1)),
            ("no PDB on spot", has(RiskKind::NoPdbOnSpot) == (spot > 0 && !r.has_pdb)),
        ];
        if let Some((what, _)) = checks.iter().find(|(_, ok)| !ok) {
            return Err(format!("{what}: {r:?} vs ready pods on {on:?} ({spot} on spot)"));
        }
    }
    Ok(c.spot_risk.iter().filter(|r| !r.flags.is_empty()).count())
}

/// The on-demand price table shipped with mezame.
pub static TABLE: std::sync::LazyLock<serde_json::Value> =
    std::sync::LazyLock::new(|| serde_json::from_str(include_str!("../../backend/data/ec2-on-demand.json")).unwrap());

/// Equal, as rounded: hourly prices to 1/10,000 of a dollar, monthly figures to the cent.
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < if b.abs() < 10.0 { 2e-4 } else { 0.01 }
}
