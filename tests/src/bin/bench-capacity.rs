//! `bench-capacity`: the Node groups view at scale (run by `cargo xtask bench capacity`).
//!
//! Seeds one environment of a sandbox with N kwok nodes and M pods (each
//! asking 100m CPU and 128 MiB), starts the release `mezame` against it and
//! measures `GET /api/envs/{env}/capacity` — the join of AWS's groups with
//! every node and pod, cost, spot risk and spot moves, all from caches — once
//! mezame is quiet (its start-up work done: a first round started right
//! after the view was complete once had a p99 of 29.6 ms, its next two
//! 9.1 and 2.4), under C concurrent clients, in three rounds (the worst p99 is the figure), and
//! the backend's RSS. Then a scale action as the page does it: the spot Auto
//! Scaling group's desired raised through the API, three times; for each, the
//! time from the moment the new node exists (the bench's own watch of the API
//! server sees it added) to the moment the page has it (the page's stream
//! cues a re-read, and the view read then lists it under its group); then
//! the group is put back by a safe scale-in. Then the drain overhead: one
//! bench node emptied by the bench itself — cordon, the Eviction API for each
//! pod in turn, a watch until none is left: the API's own time — and another
//! drained by mezame (its run, from the request to its end as the run
//! records them); the overhead per evicted pod is the difference of the two
//! per-pod times. Ends with one JSON line.
//!
//! All the while, the Node groups page is open in headless Chromium: the time
//! until it lists every node, and Chromium's long tasks (the longest of all,
//! and the longest once listed).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use mezame_e2e::bench::{NS, Until, cleanup, load, rss_mib, say, seed, settled};
use mezame_e2e::drain_bench::drain_overhead;
use mezame_e2e::page_bench::Page;
use mezame_e2e::sse::Sse;
use mezame_e2e::{Server, kube, sandbox_env_toml};
use mezame_shared::capacity::Capacity;
use mezame_shared::power::GroupKind;

struct Args {
    env: String,
    nodes: usize,
    pods: usize,
    services: usize,
    clients: usize,
    requests: usize,
    keep: bool,
}

/// Measuring rounds; the worst p99 is the figure.
const ROUNDS: usize = 3;
/// The target for the p99 of `GET …/capacity`.
const TARGET_P99_MS: f64 = 20.0;
/// Scale actions measured; the target for each (node added → on the page).
const SCALES: i32 = 3;
const TARGET_SCALE_MS: f64 = 1000.0;
/// The target for mezame's drain overhead per evicted pod.
const TARGET_DRAIN_OVERHEAD_MS: f64 = 20.0;
/// The target for the page: no long task above this in Chromium.
const TARGET_LONG_TASK_MS: f64 = 200.0;

fn args() -> Args {
    let mut a = Args { env: "dev".into(), nodes: 1000, pods: 30_000, services: 500, clients: 10, requests: 1000, keep: false };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--env" => a.env = value(),
            "--nodes" => a.nodes = value().parse().expect("--nodes N"),
            "--pods" => a.pods = value().parse().expect("--pods M"),
            "--services" => a.services = value().parse().expect("--services S"),
            "--clients" => a.clients = value().parse().expect("--clients C"),
            "--requests" => a.requests = value().parse().expect("--requests R"),
            "--keep" => a.keep = true,
            other => panic!("unknown argument {other}; see --nodes, --pods, --services, --clients, --requests, --env, --keep"),
        }
    }
    assert!(a.nodes > 0 && a.services > 0 && a.pods >= a.services, "need nodes, and at least one pod per microservice");
    a
}

/// The bench's nodes and the pods on them, as the view counts them.
fn seeded(c: &Capacity) -> (usize, u32) {
    let rows = c.groups.iter().flat_map(|g| &g.nodes).chain(&c.other_nodes).filter(|n| n.name.starts_with("bench-node-"));
    rows.fold((0, 0), |(n, p), r| (n + 1, p + r.pods))
}

#[tokio::main]
async fn main() {
    let a = args();
    let client = kube(&a.env).await;
    let started = Instant::now();
    // Room for one more node's pods than at full packing (drains need it), as the topology bench has.
    let (nodes, per_node) = (a.nodes, a.pods.div_ceil(a.nodes.saturating_sub(1).max(1)));
    seed(&client, a.services, a.pods, per_node, nodes).await;
    say(&format!("seeded {nodes} nodes and {} pods in {:.0} s", a.pods, started.elapsed().as_secs_f64()));

    let server = Server::start(&format!("auth = \"none\"\n{}", sandbox_env_toml(&a.env)));
    let url = server.url(&format!("/api/envs/{}/capacity", a.env));
    let http = mezame_e2e::anonymous();
    let t0 = Instant::now();
    loop {
        let c: Capacity = http.get(&url).send().await.unwrap().json().await.unwrap();
        let (n, p) = seeded(&c);
        if c.nodes_synced && c.described_at.is_some() && n == nodes && p as usize >= a.pods {
            say(&format!("the view holds {n} bench nodes and {p} pods after {:.1} s", t0.elapsed().as_secs_f64()));
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(600), "the view did not reach {nodes} nodes and {} pods (has {n}, {p})", a.pods);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let quiet = settled(server.pid(), Duration::from_secs(60)).await;
    say(&format!("mezame quiet (under a tenth of a core over 1 s) {:.1} s later", quiet.as_secs_f64()));
    let (mut p50, mut p99, mut bytes, mut gz) = (0f64, 0f64, 0, 0);
    for round in 1..=ROUNDS {
        let r = load(&http, &url, a.clients, Until::Requests(a.requests)).await;
        say(&format!(
            "round {round}: GET capacity p50 {:.2} ms, p99 {:.2} ms ({} requests by {} clients)",
            r.p50, r.p99, a.requests, a.clients
        ));
        (p50, p99, bytes, gz) = (p50.max(r.p50), p99.max(r.p99), r.plain, r.gzip);
    }
    let rss = rss_mib(server.pid());
    say(&format!("worst p99 {p99:.2} ms (target ≤ {TARGET_P99_MS} ms) · answer {bytes} B ({gz} B gzip) · mezame RSS {rss:.0} MiB"));
    // The page stays open in Chromium through the scale actions and the drains.
    let page =
        Page::open(&server.url(&format!("/nodegroups?env={}", a.env)), nodes).unwrap_or_else(|e| panic!("the Node groups page: {e}"));
    let scales = scale_to_page(&server, &client, &a.env).await;
    let scale_max = scales.iter().copied().fold(0f64, f64::max);
    say(&format!("scale → node on the page: {scales:.0?} ms (target ≤ {TARGET_SCALE_MS} ms each)"));
    let drain = drain_overhead(&server, &client, &a.env).await;
    let page = page.close().unwrap_or_else(|e| panic!("the Node groups page: {e}"));
    say(&format!(
        "the page: listed in {:.0} ms, {} long task(s), the longest {:.0} ms ({:.0} ms once listed; target ≤ {TARGET_LONG_TASK_MS} ms), {} reads of the view",
        page.listed_ms, page.long_tasks, page.longest_task_ms, page.longest_live_task_ms, page.capacity_reads
    ));
    println!(
        "{}",
        serde_json::json!({
            "bench": "capacity", "env": a.env, "nodes": nodes, "pods": a.pods, "namespace": NS,
            "clients": a.clients, "requests_per_round": a.requests, "rounds": ROUNDS,
            "capacity_p50_ms": p50, "capacity_p99_ms": p99, "target_p99_ms": TARGET_P99_MS, "met": p99 <= TARGET_P99_MS,
            "bytes": bytes, "gzip_bytes": gz, "rss_mib": rss, "quiet_after_s": quiet.as_secs_f64(),
            "scale_to_page_ms": scales, "scale_to_page_max_ms": scale_max, "target_scale_ms": TARGET_SCALE_MS,
            "scale_met": scale_max <= TARGET_SCALE_MS,
            "drain_api_ms_per_pod": drain.api_per_pod, "drain_mezame_ms_per_pod": drain.mezame_per_pod,
            "drain_pods": [drain.api_pods, drain.mezame_pods], "drain_overhead_ms_per_pod": drain.overhead(),
            "target_drain_overhead_ms": TARGET_DRAIN_OVERHEAD_MS, "drain_met": drain.overhead() <= TARGET_DRAIN_OVERHEAD_MS,
            "page_listed_ms": page.listed_ms, "page_long_tasks": page.long_tasks, "page_longest_task_ms": page.longest_task_ms,
            "page_longest_live_task_ms": page.longest_live_task_ms, "page_capacity_reads": page.capacity_reads,
            "target_long_task_ms": TARGET_LONG_TASK_MS, "page_met": page.longest_task_ms <= TARGET_LONG_TASK_MS,
        })
    );
    if !a.keep {
        cleanup(&client).await;
    }
}

/// The nodes of the group `name` on the page.
fn nodes_of(c: &Capacity, name: &str) -> BTreeSet<String> {
    c.groups.iter().filter(|g| g.kind == GroupKind::Asg && g.name == name).flat_map(|g| g.nodes.iter().map(|n| n.name.clone())).collect()
}

/// Raises the spot group's desired by one, [`SCALES`] times, through the API;
/// for each, ms from the node's ADDED in the bench's watch to the page having
/// it (the stream's cue, then the view); then puts the group back.
async fn scale_to_page(server: &Server, client: &kube::Client, env: &str) -> Vec<f64> {
    let spec = mezame_sandbox::platform::env_spec(env).expect("a sandbox environment");
    let spot = spec.spot.as_ref().expect("a spot group");
    let name = spec.spot_asg_name().expect("a spot group");
    let http = mezame_e2e::anonymous();
    let view =
        || async { http.get(server.url(&format!("/api/envs/{env}/capacity"))).send().await.unwrap().json::<Capacity>().await.unwrap() };
    let url = server.url(&format!("/api/envs/{env}/capacity/asg/{name}"));
    let nodes: Api<Node> = Api::all(client.clone());
    let mut times = Vec::new();
    for i in 1..=SCALES {
        let listed = nodes.list_metadata(&ListParams::default()).await.unwrap();
        let rv = listed.metadata.resource_version.unwrap_or_default();
        let mut known: BTreeSet<String> = listed.items.into_iter().filter_map(|n| n.metadata.name).collect();
        let mut added = nodes.watch(&WatchParams::default(), &rv).await.unwrap().boxed();
        let mut cues = Sse::open_with(&http, &server.url(&format!("/api/envs/{env}/capacity/events"))).await;
        let on_page = nodes_of(&view().await, &name);
        let sizes = serde_json::json!({"sizes": {"min": spot.min, "desired": spot.desired + i, "max": spot.max}});
        let r = http.patch(&url).json(&sizes).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap_or_default());
        let (node, at) = loop {
            match tokio::time::timeout(Duration::from_secs(120), added.try_next()).await {
                Ok(Ok(Some(WatchEvent::Added(n)))) => {
                    let n = n.metadata.name.unwrap_or_default();
                    if known.insert(n.clone()) {
                        break (n, Instant::now());
                    }
                }
                Ok(Ok(Some(_))) => {}
                other => panic!("no node added within 120 s of the scale to {} ({other:?})", spot.desired + i),
            }
        };
        let shown = loop {
            let cue = cues.next(Duration::from_secs(30)).await.expect("a cue after the node was added");
            assert_eq!(cue.event, "changed");
            let now = nodes_of(&view().await, &name);
            if now.contains(&node) {
                break at.elapsed().as_secs_f64() * 1000.0;
            }
            assert!(
                at.elapsed() < Duration::from_secs(60),
                "{node} not on the page 60 s after it was added (page: {now:?}, before: {on_page:?})"
            );
        };
        say(&format!("scale {i}/{SCALES}: {node} added, on the page {shown:.0} ms later"));
        times.push(shown);
    }
    let back = serde_json::json!({"sizes": {"min": spot.min, "desired": spot.desired, "max": spot.max}});
    let r = http.patch(&url).json(&back).send().await.unwrap();
    let status = r.status().as_u16();
    let answer: serde_json::Value = r.json().await.unwrap_or_default();
    assert_eq!(status, 202, "the safe scale-in back: {answer}");
    let run = answer["run"]["id"].as_i64().expect("a scale-in run");
    let t = Instant::now();
    let done = mezame_e2e::runs::finished(server, run, Duration::from_secs(600)).await;
    assert_eq!(done.state, mezame_shared::power::RunState::Succeeded, "the scale-in back: {:?}", done.message);
    say(&format!("{name} back to desired {} ({:.0} s)", spot.desired, t.elapsed().as_secs_f64()));
    times
}
