//! A managed node group scaled in safely, against the sandbox: EKS (moto)
//! backs the node group with an Auto Scaling group as AWS does; mezame drains
//! the node it chose, terminates exactly its instance in that group with a
//! decrement of desired, and the node group's desired follows — no other node
//! of the group goes, none is launched to replace it.

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use kube::api::Api;
use mezame_e2e::capacity::{capacity, described, group, planned_scale_in_of_one};
use mezame_e2e::cluster::{LOCK, MINUTE, aws, settled};
use mezame_e2e::manifests::send;
use mezame_e2e::runs::finished;
use mezame_e2e::{OPERATOR, Server, VIEWER, client_as, eventually, get_json, kube, sandbox_env_toml};
use mezame_sandbox::aws::Aws;
use mezame_sandbox::platform::env_spec;
use mezame_shared::capacity::GroupChanged;
use mezame_shared::power::{GroupKind, RunState};
use serde_json::json;

/// The node group's sizes as EKS describes them, and the name of its Auto Scaling group.
async fn nodegroup(moto: &Aws, name: &str) -> ((i32, i32, i32), String) {
    let out = moto.eks.describe_nodegroup().cluster_name("platform-dev").nodegroup_name(name).send().await.unwrap();
    let ng = out.nodegroup().unwrap();
    let s = ng.scaling_config().unwrap();
    let asg = ng.resources().unwrap().auto_scaling_groups()[0].name().unwrap().to_string();
    ((s.min_size().unwrap(), s.desired_size().unwrap(), s.max_size().unwrap()), asg)
}

/// The Auto Scaling group's sizes, instance ids and tags.
async fn asg(moto: &Aws, name: &str) -> ((i32, i32, i32), BTreeSet<String>, Vec<(String, String)>) {
    let out = moto.asg.describe_auto_scaling_groups().auto_scaling_group_names(name).send().await.unwrap();
    let g = out.auto_scaling_groups().first().unwrap_or_else(|| panic!("no Auto Scaling group {name} in moto"));
    let ids = g.instances().iter().filter_map(|i| i.instance_id().map(str::to_string)).collect();
    let tags = g.tags().iter().map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string())).collect();
    ((g.min_size().unwrap(), g.desired_capacity().unwrap(), g.max_size().unwrap()), ids, tags)
}

#[tokio::test]
async fn a_managed_group_loses_exactly_the_drained_node_and_its_desired_follows() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let spec = env_spec("dev").unwrap();
    let ng = &spec.nodegroups[0];
    let moto = aws("dev").await;
    let server = Server::start(&sandbox_env_toml("dev"));
    let url = server.url(&format!("/api/envs/dev/capacity/nodegroup/{}", ng.name));
    let operator = client_as(OPERATOR);

    // The sandbox backs the node group as EKS does: its Auto Scaling group, tagged as EKS tags it, at its sizes.
    let (sizes, asg_name) = nodegroup(&moto, ng.name).await;
    assert_eq!(sizes, (ng.min, ng.desired, ng.max));
    let (asg_sizes, ids, tags) = asg(&moto, &asg_name).await;
    assert_eq!(asg_sizes, sizes, "the Auto Scaling group at the node group's sizes");
    assert!(tags.contains(&("eks:nodegroup-name".into(), ng.name.into())), "{tags:?}");
    assert!(tags.contains(&("kubernetes.io/cluster/platform-dev".into(), "owned".into())), "{tags:?}");
    let (c, _) = described(&server, "dev").await;
    assert!(!c.groups.iter().any(|g| g.name == asg_name), "EKS's group is shown as the node group only: {:?}", c.groups);
    let on_page: BTreeSet<String> = group(&c, GroupKind::Nodegroup, ng.name).nodes.iter().filter_map(|n| n.instance_id.clone()).collect();
    assert_eq!(on_page, ids, "the node group's nodes are its Auto Scaling group's instances");

    // One more node, through the panel: EKS first, then its Auto Scaling group, then the node.
    let up = (ng.min, ng.desired + 1, ng.max);
    let (s, answer) = send(operator.patch(&url).json(&json!({"sizes": {"min": up.0, "desired": up.1, "max": up.2}}))).await;
    assert_eq!(s, 200, "{answer}");
    eventually("the third node of the group is ready", 2 * MINUTE, || async {
        let c = capacity(&server, "dev").await;
        let g = group(&c, GroupKind::Nodegroup, ng.name);
        (g.desired == up.1 && g.nodes.len() == up.1 as usize && g.nodes.iter().all(|n| n.ready && n.instance_id.is_some())).then_some(())
    })
    .await;
    let (_, ids, _) = asg(&moto, &asg_name).await;
    assert_eq!(ids.len(), up.1 as usize);

    // Down by one with min lowered too (the decrement must not go below min).
    let end = (0, ng.desired, ng.max);
    let change = json!({"sizes": {"min": end.0, "desired": end.1, "max": end.2}});
    let (s, answer) = send(client_as(VIEWER).patch(&url).json(&change)).await;
    assert_eq!(s, 403, "a viewer: {answer}");
    let c = capacity(&server, "dev").await;
    let nodes = group(&c, GroupKind::Nodegroup, ng.name).nodes.clone();
    // Planned like an Auto Scaling group's.
    let planned = planned_scale_in_of_one(&server, GroupKind::Nodegroup, ng.name, &change["sizes"]).await;
    let chosen = planned.scale_in[0].clone();
    assert_eq!(nodegroup(&moto, ng.name).await.0, up, "a dry run changes nothing");

    // For real. A lower desired alone would not take this node: moto's Auto
    // Scaling (5.2.5) scales in from its oldest instance, and this is the newest.
    let (s, answer) = send(operator.patch(&url).json(&change)).await;
    assert_eq!(s, 202, "{answer}");
    let started: GroupChanged = serde_json::from_value(answer).unwrap();
    assert_eq!(started.scale_in, planned.scale_in, "the nodes the dry run named");
    let run = finished(&server, started.run.expect("a run").id, 3 * MINUTE).await;
    assert_eq!(run.state, RunState::Succeeded, "{run:?}");
    assert_eq!(run.target.as_deref(), Some(format!("nodegroup/{}", ng.name).as_str()));
    let steps: Vec<&str> = run.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(steps, ["cordon", "evict", "wait-gone", "terminate"]);
    let said = run.steps[3].message.clone().unwrap_or_default();
    assert!(said.contains(&chosen.instance_id) && said.contains("node group"), "{said}");

    // EKS and its Auto Scaling group agree on the end sizes; exactly that instance went.
    let kept: BTreeSet<String> = ids.iter().filter(|id| **id != chosen.instance_id).cloned().collect();
    assert_eq!(nodegroup(&moto, ng.name).await.0, end, "the node group ends at the sizes asked");
    let (asg_sizes, left, _) = asg(&moto, &asg_name).await;
    assert_eq!((asg_sizes, &left), (end, &kept), "its Auto Scaling group: the chosen instance out, desired decremented");
    let client = kube("dev").await;
    eventually("the chosen node leaves the cluster", MINUTE, || async {
        Api::<Node>::all(client.clone()).get_opt(&chosen.node).await.ok()?.is_none().then_some(())
    })
    .await;
    // Nothing replaces it and no other node goes (EKS picking would have).
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (asg_sizes, left, _) = asg(&moto, &asg_name).await;
    assert_eq!((asg_sizes, &left), (end, &kept), "5 s later, still");
    // The page (a view served stale once while it is made again) shows the other nodes, all of them.
    let others: BTreeSet<String> = nodes.iter().map(|n| n.name.clone()).filter(|n| *n != chosen.node).collect();
    eventually("the page shows the group's other nodes at the end sizes", Duration::from_secs(10), || async {
        let c = capacity(&server, "dev").await;
        let g = group(&c, GroupKind::Nodegroup, ng.name);
        let names: BTreeSet<String> = g.nodes.iter().map(|n| n.name.clone()).collect();
        (names == others && (g.min, g.desired, g.max) == end).then_some(())
    })
    .await;
    let names: BTreeSet<String> = Api::<Node>::all(client.clone())
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|n| n.metadata.labels.as_ref().and_then(|l| l.get("eks.amazonaws.com/nodegroup")).is_some_and(|g| g == ng.name))
        .filter_map(|n| n.metadata.name)
        .collect();
    assert_eq!(names, others, "in the cluster: the other nodes stay");

    let (_, audit) = get_json(&server.url("/api/audit")).await;
    let entry = audit["entries"].as_array().unwrap().iter().find(|e| e["action"] == "capacity.scale_in").cloned().expect("audited");
    assert_eq!((entry["actor"].as_str(), entry["target"].as_str()), (Some("e2e-operator"), Some(format!("run/{}", run.id).as_str())));
    assert_eq!((entry["before"]["sizes"]["desired"].as_i64(), entry["after"]["sizes"]["min"].as_i64()), (Some(up.1.into()), Some(0)));
    assert_eq!(entry["after"]["removed_nodes"][0]["node"], chosen.node.as_str(), "{entry}");

    // Back to the sandbox's min (a plain change: desired is not lowered).
    let back = json!({"sizes": {"min": ng.min, "desired": ng.desired, "max": ng.max}});
    let (s, answer) = send(operator.patch(&url).json(&back)).await;
    assert_eq!(s, 200, "{answer}");
    eventually("the Auto Scaling group follows the node group back", MINUTE, || async {
        (asg(&moto, &asg_name).await.0 == (ng.min, ng.desired, ng.max)).then_some(())
    })
    .await;
    settled("dev").await;
}
