//! The live topology against the sandbox's real API servers and Argo CD:
//! what the graph is made of, the zero-downtime audit, live deltas over SSE,
//! an environment that goes down and comes back, and 404s.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use mezame_e2e::cluster::{LOCK, MINUTE, settled};
use mezame_e2e::sse::Sse;
use mezame_e2e::{Server, eventually, eventually_ok, get_json, kube, sandbox, sandbox_env_toml};
use mezame_sandbox::platform::{APP_NAMESPACE, Flaw, MICROSERVICES, env_spec};
use mezame_shared::topology::{Check, Topology, TopologyDelta};
use serde_json::json;

fn server(envs: &[&str]) -> Server {
    Server::start(&envs.iter().map(|e| sandbox_env_toml(e)).collect::<String>())
}

async fn topology(server: &Server, env: &str) -> Topology {
    let (status, body) = get_json(&server.url(&format!("/api/envs/{env}/topology"))).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).expect("a Topology")
}

/// The topology once the cache holds the whole, settled platform.
async fn settled_topology(server: &Server, env: &str) -> Topology {
    eventually(&format!("{env}: 17 microservices, every replica ready"), 2 * MINUTE, || async {
        let t = topology(server, env).await;
        let done = t.source.synced
            && t.source.connected
            && t.services.len() == MICROSERVICES.len()
            && t.services.iter().all(|m| m.workload.ready == m.workload.desired && m.pods.len() as i32 == m.workload.desired);
        done.then_some(t)
    })
    .await
}

fn expected_findings(name: &str) -> Vec<Check> {
    let ms = MICROSERVICES.iter().find(|m| m.name == name).expect("a seeded microservice");
    match ms.flaw {
        None => vec![],
        Some(Flaw::NoReadinessProbe) => vec![Check::ReadinessProbe],
        Some(Flaw::MaxUnavailable) => vec![Check::MaxUnavailable],
        Some(Flaw::NoPreStop) => vec![Check::PreStop],
    }
}

#[tokio::test]
async fn the_topology_is_the_seeded_platform_with_exactly_its_findings() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let server = server(&["dev"]);
    let t = settled_topology(&server, "dev").await;
    let spec = env_spec("dev").unwrap();
    // ALB Ingress → Ambassador.
    assert_eq!(t.ingresses.len(), 1, "{:?}", t.ingresses);
    let ingress = &t.ingresses[0];
    assert_eq!(ingress.class.as_deref(), Some("alb"));
    assert_eq!(ingress.hosts, [spec.hostname()]);
    assert!(ingress.address.as_deref().is_some_and(|a| a.ends_with(".elb.amazonaws.com")), "{ingress:?}");
    assert_eq!(t.gateways.len(), 1);
    assert_eq!(t.gateways[0].service, "ambassador");
    assert_eq!(t.gateways[0].pods.len(), 2);
    assert!(t.gateways[0].problems.is_empty(), "{:?}", t.gateways[0].problems);
    // Every microservice, with its pods on kwok nodes of known node groups and zones.
    let names: Vec<&str> = t.services.iter().map(|m| m.name.as_str()).collect();
    for ms in MICROSERVICES {
        assert!(names.contains(&ms.name), "{} missing from {names:?}", ms.name);
    }
    let mut findings: BTreeMap<String, Vec<Check>> = BTreeMap::new();
    for m in &t.services {
        let seed = MICROSERVICES.iter().find(|s| s.name == m.name).unwrap();
        assert_eq!(m.internal, seed.prefix.is_none(), "{}: internal", m.name);
        if let Some(prefix) = seed.prefix {
            assert_eq!(m.routes.len(), 1, "{}", m.name);
            assert_eq!(m.routes[0].prefix, prefix);
            assert_eq!(m.routes[0].resolved, format!("{APP_NAMESPACE}/{}:80", m.name), "{:?}", m.routes[0]);
        }
        for p in &m.pods {
            assert!(p.ready && p.phase == "Running", "{p:?}");
            assert!(p.node.is_some() && p.zone.is_some() && p.capacity_type.is_some(), "{p:?}");
        }
        assert_eq!(m.argo.as_ref().map(|a| a.sync.as_str()), Some("Synced"), "{}", m.name);
        assert_eq!(m.hpa.is_some(), seed.hpa_metric.is_some(), "{}: HPA", m.name);
        if let (Some(h), Some(metric)) = (&m.hpa, seed.hpa_metric) {
            assert!(h.metric.as_deref().is_some_and(|n| n.ends_with(metric)), "{h:?}");
            // The sandbox has no external metrics API: the HPA's own message says so.
            assert!(h.value.is_none() && h.condition.as_deref().is_some_and(|c| c.contains("external metric")), "{h:?}");
        }
        findings.insert(m.name.clone(), m.findings.iter().map(|f| f.check).collect());
        for f in &m.findings {
            assert!(!f.reason.is_empty() && f.field.starts_with("spec."), "{f:?}");
        }
    }
    for (name, got) in &findings {
        assert_eq!(*got, expected_findings(name), "{name}: findings");
    }
    assert_eq!(findings.values().filter(|f| !f.is_empty()).count(), 3, "{findings:?}");
    assert!(t.unresolved.is_empty());
}

/// Reads SSE events into `topo` until `done` holds; returns how long it took.
async fn follow(sse: &mut Sse, topo: &mut Topology, what: &str, done: impl Fn(&Topology) -> bool) -> Duration {
    let started = Instant::now();
    while !done(topo) {
        let ev = sse.next(MINUTE).await.unwrap_or_else(|| panic!("no event within a minute while waiting for {what}"));
        match ev.event.as_str() {
            "snapshot" => *topo = serde_json::from_str(&ev.data).unwrap(),
            "delta" => {
                let d: TopologyDelta = serde_json::from_str(&ev.data).unwrap();
                assert!(d.apply(topo), "delta from {} does not follow revision {}", d.from, topo.revision);
                let id = ev.id.as_deref().unwrap_or_default();
                assert!(id.ends_with(&format!(".{}", d.revision)), "the event id {id} is <feed>.<revision> of revision {}", d.revision);
            }
            other => panic!("unexpected event {other}"),
        }
    }
    started.elapsed()
}

#[tokio::test]
async fn scaling_and_deleting_a_pod_arrive_as_deltas() {
    let _lock = LOCK.lock().await;
    settled("prod").await;
    let server = server(&["prod"]);
    settled_topology(&server, "prod").await;
    let client = kube("prod").await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), APP_NAMESPACE);
    let pods: Api<Pod> = Api::namespaced(client.clone(), APP_NAMESPACE);
    let ms = "shipment-tracker";
    let svc = |t: &Topology| t.services.iter().find(|m| m.name == ms).cloned().unwrap();

    let mut sse = Sse::open(&server.url("/api/envs/prod/topology/events")).await;
    let first = sse.next(Duration::from_secs(10)).await.expect("a first event");
    assert_eq!(first.event, "snapshot");
    let mut topo: Topology = serde_json::from_str(&first.data).unwrap();

    // Synced at the head first, or Argo CD would sync the hand-made scale away (earlier tests move the repository).
    mezame_e2e::manifests::synced_at_head("prod", ms).await;
    deployments.patch_scale(ms, &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 3}}))).await.unwrap();
    let to_delta = follow(&mut sse, &mut topo, "desired 3", |t| svc(t).workload.desired == 3).await;
    println!("scale → SSE delta: {} ms", to_delta.as_millis());
    follow(&mut sse, &mut topo, "3 ready pods", |t| svc(t).pods.iter().filter(|p| p.ready).count() == 3).await;

    let victim = svc(&topo).pods[0].name.clone();
    pods.delete(&victim, &DeleteParams::default()).await.unwrap();
    follow(&mut sse, &mut topo, "the deleted pod gone and replaced", |t| {
        let m = svc(t);
        !m.pods.iter().any(|p| p.name == victim) && m.pods.iter().filter(|p| p.ready).count() == 3
    })
    .await;

    // A client that reconnects with the revision it holds gets deltas, not a snapshot.
    let held = topo.revision - 1;
    let mut again = Sse::open(&server.url(&format!("/api/envs/prod/topology/events?after={held}"))).await;
    let delta = again.next(Duration::from_secs(10)).await.unwrap();
    assert_eq!(delta.event, "delta");
    // So does a browser's reconnection: `Last-Event-ID` is `<feed>.<revision>`.
    let feed = delta.id.as_deref().and_then(|id| id.split_once('.')).expect("an id <feed>.<revision>").0.to_string();
    let request = mezame_e2e::client().get(server.url("/api/envs/prod/topology/events")).header("last-event-id", format!("{feed}.{held}"));
    assert_eq!(Sse::request(request).await.next(Duration::from_secs(10)).await.unwrap().event, "delta");

    deployments.patch_scale(ms, &PatchParams::default(), &Patch::Merge(json!({"spec": {"replicas": 2}}))).await.unwrap();
    follow(&mut sse, &mut topo, "back to 2 pods", |t| svc(t).pods.len() == 2).await;
    // What the stream built equals what a fresh GET answers.
    let fresh = topology(&server, "prod").await;
    assert_eq!(fresh.revision, topo.revision);
    assert_eq!(fresh, topo);

    // The Topology page's stream (`pods=brief`): the same microservices, pods without image, zone or age.
    let mut brief = Sse::open(&server.url("/api/envs/prod/topology/events?pods=brief")).await;
    let first = brief.next(Duration::from_secs(10)).await.expect("a first event");
    assert_eq!(first.event, "snapshot");
    let b: Topology = serde_json::from_str(&first.data).unwrap();
    assert_eq!(b.revision, fresh.revision, "nothing changed meanwhile");
    assert!(fresh.services.iter().flat_map(|m| &m.pods).all(|p| p.image.is_some() && p.created.is_some()), "the full form has them");
    let briefed: Vec<_> = fresh.services.iter().map(|m| m.brief()).collect();
    assert_eq!(b.services.iter().map(|m| (**m).clone()).collect::<Vec<_>>(), briefed);
    let images: usize = fresh.services.iter().flat_map(|m| &m.pods).filter_map(|p| p.image.as_ref()).map(String::len).sum();
    let full = serde_json::to_string(&fresh).unwrap().len();
    assert!(first.data.len() + images <= full, "{} bytes brief, {full} whole, {images} of images", first.data.len());
    let bad = mezame_e2e::client().get(server.url("/api/envs/prod/topology/events?pods=some")).send().await.unwrap();
    assert_eq!(bad.status(), 400, "an unknown pods= is refused");
}

/// Starts the environment's API server again if the test stops half-way.
struct Restart(&'static str);

impl Drop for Restart {
    fn drop(&mut self) {
        if let Some(parts) = mezame_sandbox::parts::find() {
            let _ = mezame_sandbox::cluster::start(&parts, &sandbox(), self.0);
        }
    }
}

#[tokio::test]
async fn an_environment_whose_api_server_stops_is_down_while_the_other_stays_live() {
    let _lock = LOCK.lock().await;
    settled("qa").await;
    settled("dev").await;
    let server = server(&["dev", "qa"]);
    settled_topology(&server, "qa").await;
    settled_topology(&server, "dev").await;
    let state = sandbox();
    let guard = Restart("qa");
    mezame_sandbox::cluster::stop_apiserver(&state, "qa").unwrap();
    let stopped = Instant::now();
    let down = eventually("qa shown as down", Duration::from_secs(30), || async {
        let t = topology(&server, "qa").await;
        (!t.source.connected).then_some(t)
    })
    .await;
    let error = down.source.error.clone().unwrap_or_default();
    assert!(error.contains("refused") || error.contains("connect"), "{error}");
    assert_eq!(down.services.len(), MICROSERVICES.len(), "the last known state stays visible");

    // dev stays live: a pod deleted there shows up at once.
    let dev = kube("dev").await;
    let pods: Api<Pod> = Api::namespaced(dev.clone(), APP_NAMESPACE);
    let victim = pods.list(&ListParams::default().labels("app.kubernetes.io/name=tenant-service")).await.unwrap().items[0]
        .metadata
        .name
        .clone()
        .unwrap();
    pods.delete(&victim, &DeleteParams::default()).await.unwrap();
    eventually("dev reflects the deletion while qa is down", Duration::from_secs(20), || async {
        let t = topology(&server, "dev").await;
        let m = t.services.iter().find(|m| m.name == "tenant-service")?;
        (t.source.connected && !m.pods.iter().any(|p| p.name == victim)).then_some(())
    })
    .await;

    // Down longer than a leader's lease (15 s): a controller-manager or a
    // scheduler that elects a leader exits when it cannot renew it, and the
    // environment runs on without them (pods no longer replaced, scheduled).
    tokio::time::sleep(OUTAGE.saturating_sub(stopped.elapsed())).await;
    let parts = mezame_sandbox::parts::find().expect("built parts");
    tokio::task::spawn_blocking(move || mezame_sandbox::cluster::start(&parts, &state, "qa")).await.unwrap().unwrap();
    std::mem::forget(guard);
    let back = settled_topology(&server, "qa").await;
    assert!(back.source.connected && back.source.error.is_none(), "{:?}", back.source);
    assert!(back.revision > down.revision);
    settled("qa").await;
    replaced_and_running(&kube("qa").await, "tenant-service").await;
}

/// How long qa's API server stays down in the test above.
const OUTAGE: Duration = Duration::from_secs(25);

/// A pod of `ms` deleted is replaced by one that runs: the cluster's
/// controller-manager, scheduler and kwok all work again.
///
/// Their informers reconnect on client-go's reflector backoff (doubling from
/// 0.8 s up to 30 s, jittered up to twice that), which a 25-s outage has grown
/// to its cap, each on its own: here the replacement ran 15–46 s after the
/// deletion on an idle machine, 62 s with both cores busy (kwok finished the
/// deletion 11 s late, the ReplicaSet controller created the new pod 36 s
/// after that, it ran 15 s later); CI once took > 60 s. The wait says which
/// of the three has not caught up.
async fn replaced_and_running(client: &kube::Client, ms: &str) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), APP_NAMESPACE);
    let selector = format!("app.kubernetes.io/name={ms}");
    let before = pods.list(&ListParams::default().labels(&selector)).await.unwrap().items;
    let victim = before[0].metadata.name.clone().unwrap();
    pods.delete(&victim, &DeleteParams::default()).await.unwrap();
    let deleted = Instant::now();
    eventually_ok(&format!("a new {ms} pod runs in place of {victim}"), RECOVERY, || async {
        let now = pods.list(&ListParams::default().labels(&selector)).await.map_err(|e| format!("listing pods: {e}"))?.items;
        let new = now.iter().find(|p| !before.iter().any(|b| b.metadata.name == p.metadata.name));
        let Some(new) = new else {
            return Err("no new pod yet (the controller-manager's ReplicaSet controller has not seen the deletion)".into());
        };
        let name = new.metadata.name.as_deref().unwrap_or("?");
        let Some(node) = new.spec.as_ref().and_then(|s| s.node_name.as_deref()) else {
            return Err(format!("{name} is not scheduled (the scheduler)"));
        };
        match new.status.as_ref().and_then(|s| s.phase.as_deref()) {
            Some("Running") => {
                println!("{name} runs in place of {victim}, {:.0} s after the deletion", deleted.elapsed().as_secs_f64());
                Ok(())
            }
            phase => Err(format!("{name} is on {node} but {} (kwok)", phase.unwrap_or("has no phase"))),
        }
    })
    .await;
}

/// How long the cluster's controllers may take to act again after the outage
/// (see [`replaced_and_running`]).
const RECOVERY: Duration = Duration::from_secs(150);

#[tokio::test]
async fn unknown_environments_and_services_are_json_404s() {
    let server = server(&["dev"]);
    for path in ["/api/envs/nope/topology", "/api/envs/nope/topology/events", "/api/envs/nope/cronjobs", "/api/envs/dev/services/nope"] {
        let (status, body) = get_json(&server.url(path)).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["error"]["code"], "not_found", "{path}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("nope"), "{path}: {message}");
    }
    let (_, body) = get_json(&server.url("/api/envs/nope/topology")).await;
    assert!(body["error"]["message"].as_str().unwrap().contains("configured: dev"), "{body}");
}
