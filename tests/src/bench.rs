//! What the benchmarks share: seeding one environment of a sandbox with
//! microservices and pods on kwok nodes, GET latency under concurrent
//! clients, the server's RSS, and cleaning up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Node, Pod};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::json;

/// The namespace the microservices are seeded in (their nodes are labelled `mezame.dev/bench=true`).
pub const NS: &str = "bench";
const MANAGER: &str = "mezame-bench";

pub fn say(m: &str) {
    eprintln!("bench: {m}");
}

/// Seeds `microservices` microservices (Deployment, headless Service, Mapping) with
/// `pod_count` pods in all on `count` kwok nodes of `per_node` pods each (32 CPU,
/// 128 GiB, on-demand m5.8xlarge in three zones), and waits until every pod runs.
pub async fn seed(client: &kube::Client, microservices: usize, pod_count: usize, per_node: usize, count: usize) {
    assert!(count * per_node >= pod_count, "{count} nodes of {per_node} pods cannot hold {pod_count}");
    let pp = PatchParams::apply(MANAGER).force();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    gone_if_terminating(&namespaces).await;
    namespaces.patch(NS, &pp, &Patch::Apply(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}))).await.unwrap();
    let nodes: Api<Node> = Api::all(client.clone());
    for i in 0..count {
        let name = format!("bench-node-{i:04}");
        let zone = ["eu-west-1a", "eu-west-1b", "eu-west-1c"][i % 3];
        let node = json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "annotations": {"kwok.x-k8s.io/node": "fake"},
                "labels": {"kubernetes.io/hostname": name, "mezame.dev/bench": "true", "eks.amazonaws.com/nodegroup": "bench",
                    "eks.amazonaws.com/capacityType": "ON_DEMAND", "node.kubernetes.io/instance-type": "m5.8xlarge",
                    "topology.kubernetes.io/zone": zone}},
            "status": {"allocatable": {"cpu": "32", "memory": "128Gi", "pods": per_node.to_string()},
                "capacity": {"cpu": "32", "memory": "128Gi", "pods": per_node.to_string()}},
        });
        nodes.patch(&name, &pp, &Patch::Apply(node)).await.unwrap();
    }
    say(&format!("{count} kwok nodes of {per_node} pods"));
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NS);
    let services: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), NS, &kube::api::ApiResource::erase::<k8s_openapi::api::core::v1::Service>(&()));
    let mappings: Api<DynamicObject> = Api::namespaced_with(client.clone(), NS, &mezame::adapters::kube::watch::mapping_resource());
    let per = pod_count / microservices;
    let extra = pod_count % microservices;
    futures::stream::iter(0..microservices)
        .map(|i| {
            let (deployments, services, mappings, pp) = (deployments.clone(), services.clone(), mappings.clone(), pp.clone());
            async move {
                let name = format!("ms-{i:04}");
                let replicas = per + usize::from(i < extra);
                deployments.patch(&name, &pp, &Patch::Apply(deployment(&name, replicas))).await.unwrap();
                services.patch(&name, &pp, &Patch::Apply(json!({
                    "apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS},
                    "spec": {"clusterIP": "None", "selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
                }))).await.unwrap();
                mappings
                    .patch(
                        &name,
                        &pp,
                        &Patch::Apply(json!({
                            "apiVersion": "getambassador.io/v3alpha1", "kind": "Mapping", "metadata": {"name": name, "namespace": NS},
                            "spec": {"prefix": format!("/{name}/"), "service": format!("{name}.{NS}:80")},
                        })),
                    )
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    // Counted from the pods themselves: at 30,000 pods the Deployments'
    // readyReplicas lag the pods by many minutes (the controller-manager's
    // client rate limit), and the panel shows pods, not Deployment status.
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let deadline = Duration::from_secs((pod_count as u64 / 8).max(1800));
    let t = Instant::now();
    loop {
        let running = pods.list_metadata(&ListParams::default().fields("status.phase=Running")).await.unwrap().items.len();
        if running >= pod_count {
            break;
        }
        say(&format!("{running}/{pod_count} pods running ({:.0} s)", t.elapsed().as_secs_f64()));
        assert!(t.elapsed() < deadline, "pods did not start within {} s", deadline.as_secs());
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
}

/// Waits until a bench namespace that is being deleted (the previous run's
/// cleanup: 10,000 pods take minutes) is gone: what is seeded into it meanwhile
/// is deleted with it, and the seed would wait for pods that never come.
async fn gone_if_terminating(namespaces: &Api<Namespace>) {
    let t = Instant::now();
    while let Some(ns) = namespaces.get_opt(NS).await.unwrap() {
        if ns.metadata.deletion_timestamp.is_none() {
            return;
        }
        say(&format!("the {NS} namespace of an earlier run is still being deleted ({:.0} s)", t.elapsed().as_secs_f64()));
        assert!(t.elapsed() < Duration::from_secs(1800), "the {NS} namespace was not deleted within 30 min");
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

fn deployment(name: &str, replicas: usize) -> serde_json::Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"rollingUpdate": {"maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "nodeSelector": {"mezame.dev/bench": "true"},
                    "containers": [{"name": "app", "image": format!("bench.example/{name}:v1"),
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                        "ports": [{"name": "http", "containerPort": 8080}],
                        "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}},
                        "lifecycle": {"preStop": {"sleep": {"seconds": 5}}}}],
                },
            },
        },
    })
}

/// When a round of concurrent GETs ends.
#[derive(Clone, Copy, Debug)]
pub enum Until {
    /// After this many requests in all.
    Requests(usize),
    /// When this much time has passed (each client finishes the request it is in).
    Elapsed(Duration),
}

/// What one round of concurrent GETs measured (ms; sizes in bytes).
pub struct Load {
    /// Requests made.
    pub requests: usize,
    /// How long the round took.
    pub wall: Duration,
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    /// p99 of the time to the response's headers (the server has answered;
    /// the rest is the body crossing to the client).
    pub headers_p99: f64,
    /// Where the slowest 1% spent their time, when the server says its times.
    pub slowest: Option<Legs>,
    /// p99 of how late the load generator's own runtime woke a task that
    /// slept 1 ms, meanwhile: a response that arrived waits that long to be
    /// read (part of the way out).
    pub clients_late_p99: f64,
    pub plain: usize,
    pub gzip: usize,
}

/// One request's time in legs (ms), from the server's `x-mezame-timing`
/// (the machine's monotonic clock, the same in both processes): sent → in
/// the server's middleware, in it, → the client has the headers, → the body.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Legs {
    pub way_in: f64,
    pub server: f64,
    pub way_out: f64,
    pub body: f64,
}

impl Legs {
    /// The legs of a request sent at `sent` (ns) whose headers came at
    /// `headers` and last byte at `done`, from the server's timing header.
    fn of(timing: &str, sent: u128, headers: u128, done: u128) -> Option<Legs> {
        let (entry, exit) = timing.split_once(' ')?;
        let (entry, exit): (u128, u128) = (entry.parse().ok()?, exit.parse().ok()?);
        let ms = |from: u128, to: u128| to.saturating_sub(from) as f64 / 1e6;
        Some(Legs { way_in: ms(sent, entry), server: ms(entry, exit), way_out: ms(exit, headers), body: ms(headers, done) })
    }

    /// The mean of each leg.
    fn mean(all: &[Legs]) -> Legs {
        let n = all.len().max(1) as f64;
        let sum = |f: fn(&Legs) -> f64| all.iter().map(f).sum::<f64>() / n;
        Legs { way_in: sum(|l| l.way_in), server: sum(|l| l.server), way_out: sum(|l| l.way_out), body: sum(|l| l.body) }
    }
}

/// The machine's monotonic clock in ns (the server's timing header reads the same).
fn now_ns() -> u128 {
    mezame::telemetry::clock(libc::CLOCK_MONOTONIC).as_nanos()
}

/// GETs by `clients` concurrent clients (gzip accepted, as a browser does)
/// `until` the round ends, each timed to its last byte; the body is counted
/// as it arrives, not collected (the load generator shares the machine it
/// measures).
pub async fn load(http: &reqwest::Client, url: &str, clients: usize, until: Until) -> Load {
    let plain = http.get(url).send().await.unwrap().bytes().await.unwrap().len();
    let gzip = http.get(url).header("accept-encoding", "gzip").send().await.unwrap().bytes().await.unwrap().len();
    let started = Instant::now();
    let (per, deadline) = match until {
        Until::Requests(n) => (n.div_ceil(clients), None),
        Until::Elapsed(d) => (usize::MAX, Some(started + d)),
    };
    let probing = Arc::new(AtomicBool::new(true));
    let probe = tokio::spawn(late(probing.clone()));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let http = http.clone();
        let url = url.to_string();
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            while times.len() < per && deadline.is_none_or(|d| Instant::now() < d) {
                let sent = now_ns();
                let mut r = http.get(&url).header("accept-encoding", "gzip").send().await.unwrap();
                let headers = now_ns();
                assert!(r.status().is_success());
                let timing = r.headers().get(mezame::http::metrics::TIMING).and_then(|v| v.to_str().ok()).map(str::to_owned);
                let mut got = 0;
                while let Some(chunk) = r.chunk().await.unwrap() {
                    got += chunk.len();
                }
                assert!(got > 0, "an empty body");
                let done = now_ns();
                let legs = timing.and_then(|t| Legs::of(&t, sent, headers, done));
                times.push(((done - sent) as f64 / 1e6, (headers - sent) as f64 / 1e6, legs));
            }
            times
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let wall = started.elapsed();
    probing.store(false, Ordering::Relaxed);
    let mut lateness = probe.await.unwrap();
    lateness.sort_by(f64::total_cmp);
    let mut heads: Vec<f64> = all.iter().map(|t| t.1).collect();
    heads.sort_by(f64::total_cmp);
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let slowest: Option<Vec<Legs>> = all[all.len() - all.len().div_ceil(100)..].iter().map(|t| t.2).collect();
    let totals: Vec<f64> = all.iter().map(|t| t.0).collect();
    Load {
        requests: totals.len(),
        wall,
        p50: quantile(&totals, 0.50),
        p99: quantile(&totals, 0.99),
        p999: quantile(&totals, 0.999),
        max: totals.last().copied().unwrap_or_default(),
        headers_p99: quantile(&heads, 0.99),
        slowest: slowest.map(|l| Legs::mean(&l)),
        clients_late_p99: quantile(&lateness, 0.99),
        plain,
        gzip,
    }
}

/// Quantile `p` of values sorted ascending (0 of none).
pub fn quantile(sorted: &[f64], p: f64) -> f64 {
    sorted.get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1))).copied().unwrap_or_default()
}

/// How late (ms) this runtime wakes a task that sleeps 1 ms, each time,
/// until `probing` is cleared (tokio's timer ticks in ms: up to 1 ms of it is
/// the timer's own granularity).
async fn late(probing: Arc<AtomicBool>) -> Vec<f64> {
    let mut lateness = Vec::new();
    while probing.load(Ordering::Relaxed) {
        let t = Instant::now();
        tokio::time::sleep(Duration::from_millis(1)).await;
        lateness.push(t.elapsed().saturating_sub(Duration::from_millis(1)).as_secs_f64() * 1000.0);
    }
    lateness
}

/// CPU time (user + system) the process `pid` has used so far.
fn cpu_time(pid: u32) -> Duration {
    crate::cpu::stat(pid).map(|(_, cpu)| cpu).unwrap_or_default()
}

/// Waits until the process `pid` is quiet — under a tenth of a core over a
/// second — so that latency rounds measure answers from its caches, not its
/// start-up work (the first views built, serialized, gzipped); at most `max`.
/// Answers how long it took.
pub async fn settled(pid: u32, max: Duration) -> Duration {
    let t0 = Instant::now();
    loop {
        let before = cpu_time(pid);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let used = cpu_time(pid).saturating_sub(before);
        if used < Duration::from_millis(100) || t0.elapsed() >= max {
            return t0.elapsed();
        }
    }
}

pub fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// Removes the bench namespace and nodes.
pub async fn cleanup(client: &kube::Client) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let _ = namespaces.delete(NS, &DeleteParams::default()).await;
    let nodes: Api<Node> = Api::all(client.clone());
    let _ = nodes.delete_collection(&DeleteParams::default(), &ListParams::default().labels("mezame.dev/bench=true")).await;
    say("removed the bench namespace and nodes");
}

#[cfg(test)]
mod tests {
    use super::{Legs, quantile};

    #[test]
    fn quantiles_of_sorted_values_and_of_none() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!((quantile(&v, 0.5), quantile(&v, 0.99), quantile(&v, 1.0)), (51.0, 100.0, 100.0));
        assert_eq!(quantile(&[], 0.99), 0.0);
    }

    #[test]
    fn a_request_is_split_by_the_servers_clock() {
        let legs = Legs::of("2000000 5000000", 1_000_000, 9_000_000, 10_000_000).expect("legs");
        assert_eq!(legs, Legs { way_in: 1.0, server: 3.0, way_out: 4.0, body: 1.0 });
        assert_eq!(Legs::of("not a timing", 0, 0, 0), None);
        assert_eq!(Legs::mean(&[legs, Legs::default()]).server, 1.5);
    }
}
