//! `bench-topology`: the topology at scale (run by `cargo xtask bench topology`).
//!
//! Seeds one environment of a sandbox with N microservices (Deployment,
//! Service, Mapping) and M pods on kwok nodes, starts the release `mezame`
//! against it, and measures in the same run:
//! - p50/p99 of `GET /api/envs/{env}/topology` under C concurrent clients,
//!   in three rounds of `--round-secs` (each spans several replacements)
//!   while the cluster churns (a pod replaced every `--churn-ms`), the worst
//!   round reported (with its p99.9 and max), and the server's topology
//!   rebuild times (p50/p99) over the same rounds; beside each round's p99
//!   the server's own (its request histogram) and the slowest 1% split into
//!   way in, server, way out and body (its `x-mezame-timing` header); then the
//!   same rounds with the sandbox's cluster at nice 19, autogroups included
//!   (not the figure: it tells how much of the tail is the cluster's). Each
//!   panel runs in a session of its own (its own autogroup, as in a pod of
//!   its own), not in the load generator's;
//! - the raw list other dashboards pay on every refresh (pods, services,
//!   deployments, ingresses of all namespaces, JSON, straight from the API server);
//! - the backend's RSS;
//! - the time from a pod change in the API server to its SSE delta;
//! - the Topology page in headless Chromium (Playwright): time to its first
//!   full render (median of 3 first visits, nothing cached), and the time to
//!   apply and render one delta (the page's own `performance.now()` timings),
//!   while the cluster churns: deltas that arrive before the first render is
//!   done wait for it (the same task, its layout and paint) and are said apart.
//!
//! Ends with one JSON line holding the figures. The Services are headless:
//! kwokctl's service CIDR has room for a few hundred cluster IPs only.
// The figures line is one `json!` with more fields than its default recursion allows.
#![recursion_limit = "256"]

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams};
use mezame_e2e::bench::{NS, Until, cleanup, rss_mib, say, seed};
use mezame_e2e::rounds::{Measured, Plan, Target, measure, rounds, worst, worst_share_over_10ms};
use mezame_e2e::signin::{sandbox_auth_toml, sign_in, user};
use mezame_e2e::sse::Sse;
use mezame_e2e::{Server, kube, sandbox_env_toml};
use mezame_shared::topology::{Topology, TopologyDelta};
use serde_json::json;

const PODS_PER_NODE: usize = 220;

struct Args {
    env: String,
    services: usize,
    pods: usize,
    clients: usize,
    until: Until,
    churn_ms: u64,
    keep: bool,
}

/// Measuring rounds; the worst p99 is the figure.
const ROUNDS: usize = 3;
/// The target whose rounds are the headline figure: a client with an API token.
const TOKEN: usize = 1;

fn args() -> Args {
    let until = Until::Elapsed(Duration::from_secs(5));
    let mut a = Args { env: "dev".into(), services: 500, pods: 10_000, clients: 20, until, churn_ms: 500, keep: false };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--env" => a.env = value(),
            "--services" => a.services = value().parse().expect("--services N"),
            "--pods" => a.pods = value().parse().expect("--pods M"),
            "--clients" => a.clients = value().parse().expect("--clients C"),
            "--requests" => a.until = Until::Requests(value().parse().expect("--requests R")),
            "--round-secs" => a.until = Until::Elapsed(Duration::from_secs_f64(value().parse().expect("--round-secs S"))),
            "--churn-ms" => a.churn_ms = value().parse().expect("--churn-ms MS"),
            "--keep" => a.keep = true,
            other => {
                panic!("unknown argument {other}; see --services, --pods, --clients, --round-secs, --requests, --churn-ms, --env, --keep")
            }
        }
    }
    assert!(a.services > 0 && a.pods >= a.services, "need at least one pod per microservice");
    a
}

#[tokio::main]
async fn main() {
    let a = args();
    let client = kube(&a.env).await;
    let started = Instant::now();
    seed(&client, a.services, a.pods, PODS_PER_NODE, a.pods.div_ceil(PODS_PER_NODE) + 1).await;
    say(&format!("seeded {} microservices and {} pods in {:.0} s", a.services, a.pods, started.elapsed().as_secs_f64()));

    // The panel with sign-in (the sandbox's provider, its users' API tokens),
    // and the same panel with sign-in off: the cost of authentication, same run.
    // Each in a session of its own, as in a pod of its own: not sharing the
    // load generator's autogroup (its share of the cores) with it.
    let server = Server::start_apart(&format!("debug_routes = true\n{}{}", sandbox_auth_toml(&[a.env.as_str()]), sandbox_env_toml(&a.env)));
    let open = Server::start_apart(&format!("auth = \"none\"\ndebug_routes = true\n{}", sandbox_env_toml(&a.env)));
    let group = |pid| mezame_e2e::cpu::autogroup(pid).unwrap_or_else(|| "no autogroup".into());
    let cluster = sandbox_pids(&a.env);
    let cluster_groups: std::collections::BTreeSet<String> = cluster.iter().map(|p| group(*p)).collect();
    let clients_group = group(std::process::id());
    say(&format!(
        "scheduling groups: mezame sign-in on {}, sign-in off {}, the bench's clients {clients_group}, the sandbox's {} processes {} groups{}",
        group(server.pid()),
        group(open.pid()),
        cluster.len(),
        cluster_groups.len(),
        if cluster_groups.contains(&clients_group) { ", one of them the clients' (not reniced below)" } else { "" }
    ));
    let url = server.url(&format!("/api/envs/{}/topology", a.env));
    let http = mezame_e2e::client_as(&user("viewer").token);
    let t0 = Instant::now();
    let topo = loop {
        let t: Topology = http.get(&url).send().await.unwrap().json().await.unwrap();
        let pods: usize = t.services.iter().filter(|m| m.namespace == NS).map(|m| m.pods.len()).sum();
        if t.source.synced && pods == a.pods {
            break t;
        }
        assert!(t0.elapsed() < Duration::from_secs(600), "mezame's cache did not reach {} pods (has {pods})", a.pods);
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    say(&format!("mezame's cache holds {} microservices after {:.1} s", topo.services.len(), t0.elapsed().as_secs_f64()));

    let vera = user("viewer");
    let signed = sign_in(&server.base, &vera.name, &vera.password).await.expect("the viewer signs in");
    say(&format!("login round trip (panel → provider's page → panel, over HTTP): {:.0} ms", signed.elapsed.as_secs_f64() * 1000.0));
    let mut cookie = reqwest::header::HeaderMap::new();
    cookie.insert("cookie", format!("mezame_session={}", signed.session).parse().unwrap());
    let session_http = mezame_e2e::http_builder().default_headers(cookie).build().unwrap();
    let open_url = open.url(&format!("/api/envs/{}/topology", a.env));
    let anonymous = mezame_e2e::anonymous();
    eventually_synced(&anonymous, &open_url, a.pods).await;
    let named = [(server.pid(), "mezame (sign-in on)"), (open.pid(), "mezame (sign-in off)"), (std::process::id(), "bench clients")];
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let targets = [
        Target { label: "sign-in off", http: &anonymous, url: open_url.clone(), metrics: open.url("/metrics") },
        Target { label: "API token", http: &http, url: url.clone(), metrics: server.url("/metrics") },
        Target { label: "session", http: &session_http, url: url.clone(), metrics: server.url("/metrics") },
    ];
    // One round while nothing changes: what the churn costs, same run.
    let replaced = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let plan = Plan { rounds: ROUNDS, clients: a.clients, until: a.until };
    let cpu_before = mezame_e2e::cpu::read();
    let quiet = measure(&targets[TOKEN], a.clients, a.until, &replaced).await;
    let quiet_p99 = quiet.load.p99;
    let (quiet_wall, quiet_cpu) = cpu_before.since(&named);
    say(&format!("quiet round (no churn): p99 API token {quiet_p99:.2} ms ({})", quiet.words()));
    say(&format!(
        "CPU during the quiet round ({:.1} s), in cores of the machine's {cores}: {}",
        quiet_wall.as_secs_f64(),
        mezame_e2e::cpu::summary(&quiet_cpu, 10)
    ));
    // Rounds of each kind, interleaved, while pods are replaced.
    let churn = tokio::spawn(churn(client.clone(), Duration::from_millis(a.churn_ms), replaced.clone()));
    let rebuilds_since = rebuild_times(&server, &a.env, 0).await.next;
    let cpu_before = mezame_e2e::cpu::read();
    let waited_before: Vec<Duration> = named.iter().map(|(p, _)| mezame_e2e::cpu::waited(*p)).collect();
    let measured = rounds(&targets, plan, &replaced, "churn").await;
    let (cpu_wall, cpu) = cpu_before.since(&named);
    say(&format!(
        "CPU during the {ROUNDS} rounds ({:.0} s), in cores of the machine's {cores}: {}",
        cpu_wall.as_secs_f64(),
        mezame_e2e::cpu::summary(&cpu, 10)
    ));
    let waited: Vec<String> = named
        .iter()
        .zip(&waited_before)
        .map(|((p, l), b)| {
            format!("{l} {:.0}", (mezame_e2e::cpu::waited(*p).saturating_sub(*b)).as_secs_f64() * 1000.0 / cpu_wall.as_secs_f64())
        })
        .collect();
    say(&format!("waiting for a core during those rounds (runnable, not running; ms per second, all threads): {}", waited.join(" · ")));
    // The same rounds with the sandbox's cluster (API server, etcd,
    // controllers, kwok, Argo CD, moto) at the lowest priority: as if it ran
    // elsewhere, as a real cluster's control plane does. Not the figure: it
    // tells how much of the tail is the cluster sharing the 2 cores.
    let (threads, groups) = mezame_e2e::cpu::renice(&cluster, 19);
    let what = format!("cluster at nice 19 ({threads} threads, the autogroups of {groups} processes)");
    let cpu_before = mezame_e2e::cpu::read();
    let yielding = rounds(&targets, plan, &replaced, &what).await;
    mezame_e2e::cpu::renice(&cluster, 0);
    say(&format!("CPU during those rounds, in cores: {}", mezame_e2e::cpu::summary(&cpu_before.since(&named).1, 10)));
    let token_p99 = worst(&measured, TOKEN);
    let (open_p99, session_p99) = (worst(&measured, 0), worst(&measured, 2));
    let p50 = measured.iter().map(|r| r[TOKEN].load.p50).fold(0.0, f64::max);
    let (bytes, gz_bytes) = measured.last().map_or((0, 0), |r| (r[TOKEN].load.plain, r[TOKEN].load.gzip));
    let per_round = |f: fn(&Measured) -> f64| measured.iter().map(|r| round2(f(&r[TOKEN]))).collect::<Vec<_>>();
    let yielding_worst: Vec<f64> = (0..targets.len()).map(|i| round(worst(&yielding, i))).collect();
    say(&format!(
        "worst p99 with the cluster at nice 19: sign-in off {:.2} ms · API token {:.2} ms · session {:.2} ms",
        yielding_worst[0], yielding_worst[1], yielding_worst[2]
    ));
    let rebuilds = rebuild_times(&server, &a.env, rebuilds_since).await;
    let page_url = open.url(&format!("/topology?env={}", a.env));
    let page = tokio::task::spawn_blocking(move || browser_timings(&page_url, 10, 3)).await.unwrap();
    match &page {
        Ok(p) => say(&format!(
            "Topology page in Chromium, median of {} first visits: first full render {:.0} ms (each: {}; its WASM started {:.0}, \
             stream opened {:.0}, snapshot arrived {:.0}, parsed {:.0}, rows set {:.0}), delta applied and rendered p50 {:.1} ms, max {:.1} ms \
             ({} deltas after the first render; {} during it, max {:.1} ms; {} graph nodes)",
            p.renders.len(),
            p.first_render_ms,
            p.renders.iter().map(|r| format!("{r:.0}")).collect::<Vec<_>>().join(" / "),
            p.wasm_started_ms,
            p.stream_opened_ms,
            p.snapshot_ms,
            p.parsed_ms,
            p.rows_ms,
            p.delta_p50_ms,
            p.delta_max_ms,
            p.deltas,
            p.early_deltas,
            p.early_delta_max_ms,
            p.graph_nodes
        )),
        Err(e) => say(&format!("Topology page in Chromium: not measured: {e}")),
    }
    churn.abort();
    let replaced = replaced.load(std::sync::atomic::Ordering::Relaxed);
    drop(open);
    say(&format!(
        "topology rebuilds during the rounds: {}, CPU p50 {:.2} ms, p99 {:.2} ms (wall, at low priority: p50 {:.1} ms, p99 {:.1} ms); \
         of every microservice: {} ({}); {replaced} pods replaced in all",
        rebuilds.count,
        rebuilds.cpu_p50_ms,
        rebuilds.cpu_p99_ms,
        rebuilds.p50_ms,
        rebuilds.p99_ms,
        rebuilds.whole.values().sum::<u64>(),
        serde_json::to_string(&rebuilds.whole).unwrap_or_default()
    ));
    let p99 = token_p99;
    say(&format!(
        "GET topology, {} clients, worst of {ROUNDS} rounds: p50 {p50:.2} ms, p99 {p99:.2} ms with an API token ({bytes} bytes, {gz_bytes} gzip)",
        a.clients
    ));
    say(&format!("worst p99 sign-in off {open_p99:.2} ms · API token {token_p99:.2} ms · session cookie {session_p99:.2} ms"));
    let raw = raw_list(&client).await;
    say(&format!("raw list of pods, services, deployments, ingresses (all namespaces): {raw:.1} ms"));
    let rss = rss_mib(server.pid());
    say(&format!("mezame RSS: {rss:.0} MiB"));
    let (sse_p50, sse_max) = sse_latency(&server, &http, &client, &a.env, 10).await;
    let page_snapshot_bytes = page_snapshot_bytes(&server, &http, &a.env).await;
    say(&format!("pod deleted → SSE delta: p50 {sse_p50:.0} ms, max {sse_max:.0} ms"));
    let ratio = raw / p99;
    say(&format!("raw list / topology p99 = {ratio:.0}×"));
    println!(
        "{}",
        json!({
            "services": a.services, "pods": a.pods, "clients": a.clients, "requests_per_round": per_round(|m| m.load.requests as f64),
            "churn_ms": a.churn_ms, "rounds": ROUNDS, "topology_p99_ms_per_round": per_round(|m| m.load.p99),
            "topology_p999_ms_per_round": per_round(|m| m.load.p999), "topology_max_ms_per_round": per_round(|m| m.load.max),
            "pods_replaced_per_round": per_round(|m| m.replaced as f64),
            "topology_p99_ms_headers_per_round": per_round(|m| m.load.headers_p99),
            "server_p99_at_most_ms_per_round": per_round(|m| m.served.quantile_bound_ms(0.99)),
            "clients_runtime_late_p99_ms_per_round": per_round(|m| m.load.clients_late_p99),
            "server_share_over_10ms_worst": round(worst_share_over_10ms(&measured) * 100.0) / 100.0,
            "topology_p99_ms_cluster_nice19": yielding_worst,
            "topology_p50_ms": round(p50), "topology_p99_ms_quiet": round(quiet_p99), "topology_p99_ms": round(p99),
            "pods_replaced": replaced, "rebuilds": rebuilds.count, "rebuilds_whole": rebuilds.whole,
            "browser_first_render_ms": page.as_ref().ok().map(|p| round(p.first_render_ms)),
            "browser_delta_p50_ms": page.as_ref().ok().map(|p| round(p.delta_p50_ms)),
            "browser_delta_max_ms": page.as_ref().ok().map(|p| round(p.delta_max_ms)),
            "browser_deltas": page.as_ref().ok().map(|p| p.deltas),
            "browser_deltas_during_first_render": page.as_ref().ok().map(|p| p.early_deltas), "rebuild_p50_ms": round(rebuilds.p50_ms), "rebuild_p99_ms": round(rebuilds.p99_ms),
            "rebuild_cpu_p50_ms": round(rebuilds.cpu_p50_ms), "rebuild_cpu_p99_ms": round(rebuilds.cpu_p99_ms),
            "topology_bytes": bytes, "topology_gzip_bytes": gz_bytes, "page_snapshot_bytes": page_snapshot_bytes,
            "raw_list_ms": round(raw), "raw_over_p99": round(ratio),
            "rss_mib": round(rss), "sse_delta_p50_ms": round(sse_p50), "sse_delta_max_ms": round(sse_max),
            "topology_p99_ms_auth_off": round(open_p99), "topology_p99_ms_token": round(token_p99), "topology_p99_ms_session": round(session_p99),
            "cpu_cores_during_rounds": cores_json(&cpu), "cpu_cores_quiet_round": cores_json(&quiet_cpu),
            "auth_cost_p99_ms": round(token_p99.max(session_p99) - open_p99), "login_round_trip_ms": round(signed.elapsed.as_secs_f64() * 1000.0),
        })
    );
    drop(server);
    if !a.keep {
        cleanup(&client).await;
    }
}

/// The pids of the processes of `env`'s sandbox (`mezame-sandbox status`).
fn sandbox_pids(env: &str) -> Vec<u32> {
    let dir = std::path::PathBuf::from(mezame_e2e::required_env("MEZAME_SANDBOX_DIR"));
    let status = mezame_sandbox::up::status(&dir).expect("readable sandbox state").expect("a sandbox");
    status.envs.get(env).map(|e| e.components.iter().filter_map(|c| c.pid).collect()).unwrap_or_default()
}

fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The ten largest CPU shares, in cores.
fn cores_json(shares: &[(String, f64)]) -> serde_json::Map<String, serde_json::Value> {
    shares.iter().take(10).map(|(k, v)| (k.clone(), json!(round(*v)))).collect()
}

fn round2(v: f64) -> serde_json::Value {
    json!(round(v))
}

/// Replaces a pod of the bench every `every` (deleted; its Deployment makes
/// a new one, kwok runs it): a cluster that keeps changing, as a busy one does.
/// The victims are picked from one list taken before the rounds: a list per
/// tick (a field-selected scan of 10k pods in the API server) would be the
/// bench's own load on the 2 cores, not the churn of a busy cluster.
async fn churn(client: kube::Client, every: Duration, replaced: std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let pods: Api<Pod> = Api::namespaced(client, NS);
    let mut names: Vec<String> = match pods.list_metadata(&ListParams::default().fields("status.phase=Running")).await {
        Ok(list) => list.items.into_iter().filter_map(|p| p.metadata.name).collect(),
        Err(e) => panic!("listing the bench's pods for the churn: {e}"),
    };
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        while !names.is_empty() {
            let name = names.swap_remove(fastrand_index(names.len()));
            if pods.delete(&name, &DeleteParams::default().grace_period(0)).await.is_ok() {
                replaced.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                break;
            }
        }
    }
}

fn fastrand_index(len: usize) -> usize {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    nanos as usize % len.max(1)
}

/// What the Topology page measured of itself in headless Chromium: the
/// median of several first visits (one varies by a second or more).
struct PageTimings {
    first_render_ms: f64,
    /// Each visit's first full render, in order.
    renders: Vec<f64>,
    /// On the way to the median one: the app's WASM started, the page's
    /// stream opened, the snapshot arrived, parsed, the rows' signals set.
    wasm_started_ms: f64,
    stream_opened_ms: f64,
    snapshot_ms: f64,
    parsed_ms: f64,
    rows_ms: f64,
    delta_p50_ms: f64,
    delta_max_ms: f64,
    deltas: usize,
    /// Deltas that arrived before the first render was done (they wait for it).
    early_deltas: usize,
    early_delta_max_ms: f64,
    graph_nodes: u64,
}

/// Opens `url` in headless Chromium (`tests/browser/bench-topology.mjs`)
/// `loads` times, the last until `deltas` deltas were applied, and reads the
/// page's timings.
fn browser_timings(url: &str, deltas: usize, loads: usize) -> Result<PageTimings, String> {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("browser/bench-topology.mjs");
    let out = std::process::Command::new("node")
        .arg(&script)
        .args([url.to_string(), deltas.to_string(), loads.to_string()])
        .current_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap())
        .output()
        .map_err(|e| format!("cannot run node: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(err.lines().find(|l| l.contains("Error") || l.contains("Timeout")).unwrap_or(&err).trim().to_string());
    }
    String::from_utf8_lossy(&out.stderr).lines().filter_map(|l| l.strip_prefix("bench-topology.mjs: ")).for_each(say);
    let v: serde_json::Value = serde_json::from_slice(out.stdout.trim_ascii()).map_err(|e| format!("the page's timings: {e}"))?;
    let visits = v["loads"].as_array().filter(|l| !l.is_empty()).ok_or("no visit's timings")?;
    let ms = |visit: &serde_json::Value, mark: &str| visit[mark].as_f64().unwrap_or(f64::NAN);
    let renders: Vec<f64> = visits.iter().map(|l| ms(l, "first_render_ms")).collect();
    let mut by_render: Vec<&serde_json::Value> = visits.iter().collect();
    by_render.sort_by(|a, b| ms(a, "first_render_ms").total_cmp(&ms(b, "first_render_ms")));
    let median = by_render[by_render.len() / 2];
    let last = &visits[visits.len() - 1];
    let numbers = |key: &str| -> Vec<f64> { last[key].as_array().into_iter().flatten().filter_map(|x| x.as_f64()).collect() };
    let first_render = ms(last, "first_render_ms");
    // (ms, started at)
    let (live, early): (Vec<_>, Vec<_>) =
        numbers("delta_ms").into_iter().zip(numbers("delta_at_ms")).partition(|(_, at)| *at >= first_render);
    let mut d: Vec<f64> = live.into_iter().map(|(ms, _)| ms).collect();
    d.sort_by(f64::total_cmp);
    if d.is_empty() {
        return Err("no delta was applied".into());
    }
    Ok(PageTimings {
        first_render_ms: ms(median, "first_render_ms"),
        renders,
        wasm_started_ms: ms(median, "wasm_started_ms"),
        stream_opened_ms: ms(median, "stream_opened_ms"),
        snapshot_ms: ms(median, "snapshot_ms"),
        parsed_ms: ms(median, "parsed_ms"),
        rows_ms: ms(median, "rows_ms"),
        delta_p50_ms: d[d.len() / 2],
        delta_max_ms: d[d.len() - 1],
        deltas: d.len(),
        early_deltas: early.len(),
        early_delta_max_ms: early.iter().map(|(ms, _)| *ms).fold(0.0, f64::max),
        graph_nodes: v["graph_nodes"].as_u64().unwrap_or(0),
    })
}

/// What `GET /api/debug/rebuilds` says of one environment.
#[derive(serde::Deserialize)]
struct Rebuilds {
    env: String,
    next: u64,
    count: u64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_p50_ms: f64,
    cpu_p99_ms: f64,
    whole: std::collections::BTreeMap<String, u64>,
}

/// The server's rebuilds of `env` numbered `since` and after.
async fn rebuild_times(server: &Server, env: &str, since: u64) -> Rebuilds {
    let admin = mezame_e2e::client_as(&user("admin").token);
    let url = server.url(&format!("/api/debug/rebuilds?since={since}"));
    let all: Vec<Rebuilds> = admin.get(url).send().await.unwrap().json().await.unwrap();
    all.into_iter().find(|e| e.env == env).expect("rebuild times of the env")
}

/// Waits until the panel at `url` has every seeded pod.
async fn eventually_synced(http: &reqwest::Client, url: &str, pods: usize) {
    let t0 = Instant::now();
    loop {
        let t: Topology = http.get(url).send().await.unwrap().json().await.unwrap();
        let have: usize = t.services.iter().filter(|m| m.namespace == NS).map(|m| m.pods.len()).sum();
        if t.source.synced && have == pods {
            return;
        }
        assert!(t0.elapsed() < Duration::from_secs(600), "the panel's cache did not reach {pods} pods (has {have})");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Median of 5 rounds of the four lists a dashboard makes on every refresh, concurrently.
async fn raw_list(client: &kube::Client) -> f64 {
    let paths = ["/api/v1/pods", "/api/v1/services", "/apis/apps/v1/deployments", "/apis/networking.k8s.io/v1/ingresses"];
    let mut rounds = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let lists = paths.iter().map(|p| {
            let client = client.clone();
            async move {
                let req = http::Request::get(*p).header("accept", "application/json").body(Vec::new()).unwrap();
                client.request_text(req).await.unwrap().len()
            }
        });
        futures::future::join_all(lists).await;
        rounds.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    rounds.sort_by(f64::total_cmp);
    rounds[2]
}

/// Bytes of the first `snapshot` of the Topology page's stream (`pods=brief`).
async fn page_snapshot_bytes(server: &Server, http: &reqwest::Client, env: &str) -> usize {
    let mut sse = Sse::open_with(http, &server.url(&format!("/api/envs/{env}/topology/events?pods=brief"))).await;
    sse.next(Duration::from_secs(60)).await.expect("a snapshot").data.len()
}

/// Deletes `rounds` pods one at a time and times each until a delta without it arrives.
async fn sse_latency(server: &Server, http: &reqwest::Client, client: &kube::Client, env: &str, rounds: usize) -> (f64, f64) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), NS);
    let mut sse = Sse::open_with(http, &server.url(&format!("/api/envs/{env}/topology/events"))).await;
    let first = sse.next(Duration::from_secs(60)).await.expect("a snapshot");
    let mut topo: Topology = serde_json::from_str(&first.data).unwrap();
    let mut times = Vec::new();
    for i in 0..rounds {
        let ms = format!("ms-{:04}", i * 7 % topo.services.iter().filter(|m| m.namespace == NS).count());
        let victim = topo.services.iter().find(|m| m.name == ms).and_then(|m| m.pods.first()).map(|p| p.name.clone()).unwrap();
        let t = Instant::now();
        pods.delete(&victim, &DeleteParams::default()).await.unwrap();
        loop {
            let ev = sse.next(Duration::from_secs(30)).await.expect("a delta within 30 s");
            if ev.event == "snapshot" {
                topo = serde_json::from_str(&ev.data).unwrap();
            } else {
                let d: TopologyDelta = serde_json::from_str(&ev.data).unwrap();
                assert!(d.apply(&mut topo));
            }
            let m = topo.services.iter().find(|m| m.name == ms).unwrap();
            if m.pods.iter().all(|p| p.name != victim || p.phase == "Terminating") {
                break;
            }
        }
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[times.len() - 1])
}
