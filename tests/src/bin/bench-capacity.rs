//! `bench-capacity`: the Node groups view at scale (run by `cargo xtask bench capacity`).
//!
//! Seeds one environment of a sandbox with N kwok nodes and M pods (each
//! asking 100m CPU and 128 MiB), starts the release `mezame` against it and
//! measures `GET /api/envs/{env}/capacity` — the join of AWS's groups with
//! every node and pod, cost, spot risk and spot moves, all from caches — under
//! C concurrent clients, in three rounds (the worst p99 is the figure), and
//! the backend's RSS. Ends with one JSON line.
//!
//! Not measured here (issue 16's other targets): scale action → new nodes on
//! the page, drain overhead per evicted pod, long tasks in Chromium.

use std::time::{Duration, Instant};

use mezame_e2e::bench::{NS, cleanup, load, rss_mib, say, seed};
use mezame_e2e::{Server, kube, sandbox_env_toml};
use mezame_shared::capacity::Capacity;

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
    // One more node than needed at full packing, as the topology bench does.
    let per_node = a.pods.div_ceil(a.nodes.saturating_sub(1).max(1));
    seed(&client, a.services, a.pods, per_node).await;
    let nodes = a.pods.div_ceil(per_node) + 1;
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
    let (mut p50, mut p99, mut bytes, mut gz) = (0f64, 0f64, 0, 0);
    for round in 1..=ROUNDS {
        let (r50, r99, b, g) = load(&http, &url, a.clients, a.requests).await;
        say(&format!("round {round}: GET capacity p50 {r50:.2} ms, p99 {r99:.2} ms ({} requests by {} clients)", a.requests, a.clients));
        (p50, p99, bytes, gz) = (p50.max(r50), p99.max(r99), b, g);
    }
    let rss = rss_mib(server.pid());
    say(&format!("worst p99 {p99:.2} ms (target ≤ {TARGET_P99_MS} ms) · answer {bytes} B ({gz} B gzip) · mezame RSS {rss:.0} MiB"));
    println!(
        "{}",
        serde_json::json!({
            "bench": "capacity", "env": a.env, "nodes": nodes, "pods": a.pods, "namespace": NS,
            "clients": a.clients, "requests_per_round": a.requests, "rounds": ROUNDS,
            "capacity_p50_ms": p50, "capacity_p99_ms": p99, "target_p99_ms": TARGET_P99_MS, "met": p99 <= TARGET_P99_MS,
            "bytes": bytes, "gzip_bytes": gz, "rss_mib": rss,
        })
    );
    if !a.keep {
        cleanup(&client).await;
    }
}
