//! Draining a node of the sandbox's dev through the panel: the preflight says
//! what would be evicted, the drain run cordons the node and evicts its pods
//! through the real API server's Eviction API (they come back on other nodes),
//! and a PodDisruptionBudget that allows no disruption stops it, named.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use mezame_e2e::cluster::{LOCK, MINUTE, settled};
use mezame_e2e::runs::finished;
use mezame_e2e::{OPERATOR, Server, VIEWER, client_as, eventually, get_json, kube, sandbox_env_toml};
use mezame_sandbox::platform::APP_NAMESPACE;
use mezame_shared::capacity::DrainPreflight;
use mezame_shared::power::{RunState, StepState};
use serde_json::json;

/// (status, JSON body) of a POST as `token`.
async fn post(token: &str, url: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let r = client_as(token).post(url).json(&body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(serde_json::Value::Null))
}

/// The app pods (of Deployments, not DaemonSets) bound to `node` that are not going away.
async fn app_pods_on(client: &kube::Client, node: &str) -> Vec<Pod> {
    let lp = ListParams::default().fields(&format!("spec.nodeName={node}"));
    Api::<Pod>::all(client.clone())
        .list(&lp)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter(|p| p.metadata.owner_references.iter().flatten().any(|o| o.kind == "ReplicaSet"))
        .collect()
}

/// A node hosting at least one pod of the app namespace, and those pods.
async fn busy_node(client: &kube::Client, except: &[String]) -> (String, Vec<Pod>) {
    let nodes = Api::<Node>::all(client.clone()).list(&ListParams::default()).await.unwrap().items;
    for n in nodes {
        let name = n.metadata.name.clone().unwrap();
        if except.contains(&name) || n.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false) {
            continue;
        }
        let pods: Vec<Pod> =
            app_pods_on(client, &name).await.into_iter().filter(|p| p.metadata.namespace.as_deref() == Some(APP_NAMESPACE)).collect();
        if !pods.is_empty() {
            return (name, pods);
        }
    }
    panic!("no schedulable node of dev hosts an app pod");
}

fn unschedulable(n: &Node) -> bool {
    n.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false)
}

#[tokio::test]
async fn a_drain_evicts_a_nodes_pods_elsewhere_and_a_budget_that_allows_nothing_stops_it_named() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let client = kube("dev").await;
    let nodes = Api::<Node>::all(client.clone());
    // What a failed run of this test may have left.
    let _ =
        Api::<PodDisruptionBudget>::namespaced(client.clone(), APP_NAMESPACE).delete("e2e-no-disruption", &DeleteParams::default()).await;
    let server = Server::start(&format!("drain_timeout_secs = 15\n{}", sandbox_env_toml("dev")));
    for n in nodes.list(&ListParams::default()).await.unwrap().items.iter().filter(|n| unschedulable(n)) {
        let name = n.metadata.name.clone().unwrap();
        post(OPERATOR, &server.url(&format!("/api/envs/dev/nodes/{name}/uncordon")), json!({})).await;
    }
    settled("dev").await;
    let at = |node: &str| server.url(&format!("/api/envs/dev/nodes/{node}/drain"));

    // Refusals: a viewer, a bad name, an unknown node.
    let (node, pods) = busy_node(&client, &[]).await;
    assert_eq!(post(VIEWER, &at(&node), json!({})).await.0, 403);
    assert_eq!(post(OPERATOR, &at("Not_A_Node"), json!({})).await.0, 400);
    assert_eq!(post(OPERATOR, &at("no-such-node"), json!({})).await.0, 404);

    // The preflight names what would be evicted and changes nothing.
    let (s, body) = post(OPERATOR, &at(&node), json!({"dry_run": true})).await;
    assert_eq!(s, 200, "{body}");
    let preflight: DrainPreflight = serde_json::from_value(body).unwrap();
    assert_eq!(preflight.timeout_secs, 15);
    for p in &pods {
        let id = format!("{}/{}", APP_NAMESPACE, p.metadata.name.as_deref().unwrap());
        assert!(preflight.evict.contains(&id), "{id} in {:?}", preflight.evict);
    }
    assert!(!unschedulable(&nodes.get(&node).await.unwrap()), "a dry run does not cordon");

    // The drain: a run that cordons, evicts, waits; the pods run elsewhere.
    let (s, body) = post(OPERATOR, &at(&node), json!({})).await;
    assert_eq!(s, 202, "{body}");
    let id = body["id"].as_i64().unwrap();
    let run = finished(&server, id, 2 * MINUTE).await;
    assert_eq!(run.state, RunState::Succeeded, "{run:?}");
    assert_eq!(run.target.as_deref(), Some(node.as_str()));
    assert!(run.steps.iter().all(|s| s.state == StepState::Done && !s.title.is_empty()), "{:?}", run.steps);
    assert!(unschedulable(&nodes.get(&node).await.unwrap()), "the drained node stays cordoned");
    assert!(app_pods_on(&client, &node).await.is_empty(), "no app pod left on {node}");
    let (_, audit) = get_json(&server.url("/api/audit")).await;
    assert!(
        audit["entries"].as_array().unwrap().iter().any(|e| e["action"] == "node.drain" && e["after"]["node"] == node.as_str()),
        "{audit}"
    );
    settled("dev").await; // every Deployment available again, on the other nodes

    // A Deployment of this test's own, one replica bound to another node, and
    // a budget that wants it up at all times: it allows no disruption. (The
    // platform's Deployments all have a budget already, and a pod that two
    // budgets select cannot be evicted at all.)
    let blocked = nodes
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|n| !unschedulable(n))
        .find_map(|n| n.metadata.name.filter(|name| *name != node))
        .expect("another schedulable node");
    let ns = format!("e2e-drain-{}", std::process::id());
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap())
        .await
        .unwrap();
    let pinned: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "pinned"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "pinned"}},
            "template": {
                "metadata": {"labels": {"app": "pinned"}},
                "spec": {"nodeName": blocked, "tolerations": [{"operator": "Exists"}], "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10"}]},
            },
        },
    }))
    .unwrap();
    Api::<Deployment>::namespaced(client.clone(), &ns).create(&PostParams::default(), &pinned).await.unwrap();
    let pdbs = Api::<PodDisruptionBudget>::namespaced(client.clone(), &ns);
    let pdb: PodDisruptionBudget = serde_json::from_value(json!({
        "metadata": {"name": "e2e-no-disruption"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "pinned"}}},
    }))
    .unwrap();
    pdbs.create(&PostParams::default(), &pdb).await.unwrap();
    let on_blocked = || async {
        let lp = ListParams::default().fields(&format!("spec.nodeName={blocked}")).labels("app=pinned");
        Api::<Pod>::namespaced(client.clone(), &ns).list(&lp).await.unwrap().items
    };
    eventually("the pinned pod Ready and its budget allowing no disruption", MINUTE, || async {
        let ready = on_blocked().await.iter().any(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        });
        let b = pdbs.get("e2e-no-disruption").await.ok()?;
        let none = b.status.as_ref().is_some_and(|s| s.current_healthy == Some(1) && s.disruptions_allowed == Some(0));
        (ready && none).then_some(())
    })
    .await;
    let (_, body) = post(OPERATOR, &at(&blocked), json!({"dry_run": true})).await;
    assert!(body["warnings"].to_string().contains("e2e-no-disruption"), "the preflight warns: {body}");
    let (s, body) = post(OPERATOR, &at(&blocked), json!({})).await;
    assert_eq!(s, 202, "{body}");
    let run = finished(&server, body["id"].as_i64().unwrap(), 2 * MINUTE).await;
    assert_eq!(run.state, RunState::Failed, "{run:?}");
    let message = run.message.clone().unwrap_or_default();
    assert!(message.contains(&format!("PodDisruptionBudget {ns}/e2e-no-disruption")) && message.contains("15 s"), "{message}");
    assert_eq!(on_blocked().await.len(), 1, "the budget's pod stays on {blocked}");

    // Put dev back.
    Api::<Namespace>::all(client.clone()).delete(&ns, &DeleteParams::default()).await.unwrap();
    for n in [&node, &blocked] {
        let (s, body) = post(OPERATOR, &server.url(&format!("/api/envs/dev/nodes/{n}/uncordon")), json!({})).await;
        assert_eq!(s, 200, "{body}");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    settled("dev").await;
}

/// In a protected environment (prod) a drain needs an admin who types its
/// name; an operator is refused, and so is an admin who does not confirm —
/// nothing is cordoned. The preflight (a dry run) needs no confirmation.
#[tokio::test]
async fn a_drain_in_a_protected_environment_needs_an_admin_who_confirms() {
    let client = kube("prod").await;
    let nodes = Api::<Node>::all(client.clone());
    let node = nodes.list(&ListParams::default()).await.unwrap().items[0].metadata.name.clone().unwrap();
    let server = Server::start(&sandbox_env_toml("prod"));
    let at = server.url(&format!("/api/envs/prod/nodes/{node}/drain"));
    let admin = mezame_e2e::ADMIN;
    let (s, body) = post(OPERATOR, &at, json!({"confirm": "prod"})).await;
    assert_eq!(s, 403, "an operator in a protected environment: {body}");
    for unconfirmed in [json!({}), json!({"confirm": "dev"})] {
        let (s, body) = post(admin, &at, unconfirmed.clone()).await;
        assert_eq!(s, 400, "{unconfirmed}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("\"confirm\": \"prod\""), "says how: {body}");
    }
    let (s, body) = post(admin, &at, json!({"dry_run": true})).await;
    assert_eq!(s, 200, "the preflight needs no confirmation: {body}");
    assert!(!unschedulable(&nodes.get(&node).await.unwrap()), "{node} not cordoned by any of it");
    let (_, audit) = get_json(&server.url("/api/audit")).await;
    assert!(!audit["entries"].as_array().unwrap().iter().any(|e| e["action"] == "node.drain"), "nothing done, nothing audited: {audit}");
}
