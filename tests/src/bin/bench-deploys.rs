//! `bench-deploys` (run by `cargo xtask bench deploys`): the deploy index at
//! scale. Writes 17 app repositories and a manifest repository with
//! `git fast-import` (by default 10,000 app commits and 10,000 deploys of dev),
//! then measures: the first index of everything in one pass, a restart that
//! finds nothing new, and for `GET …/deploys` and `GET /api/versions` the
//! first answer (made: what a change of the index or topology costs once) and
//! the p50/p99 under concurrent clients (answers kept until the next change).
//! Then, live against the sandbox's dev (its real repositories and Argo CD),
//! `--ci-rounds` (3) `ci` runs: from each rollout's end to its chain complete
//! on the Deploys page (target ≤ 2 s). Ends with one JSON line.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mezame_e2e::bench::{quantile, say};
use mezame_e2e::chain_bench::ci_to_chain;
use mezame_e2e::{Server, sandbox_env_toml, sandbox_git_toml};
use mezame_shared::deploys::DeployList;
use serde_json::json;

const SERVICES: usize = 17;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A repository made of `commits` by one `git fast-import` (each: one file, its content).
fn import(dir: &Path, commits: impl Iterator<Item = (String, String, String, i64)>) {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "--quiet", "--bare", "--initial-branch", "master"]);
    let mut child = Command::new("git").arg("-C").arg(dir).args(["fast-import", "--quiet"]).stdin(Stdio::piped()).spawn().unwrap();
    let mut w = std::io::BufWriter::new(child.stdin.take().unwrap());
    // Each commit continues the branch where the previous one left it.
    for (path, content, message, at) in commits {
        write!(
            w,
            "commit refs/heads/master\ncommitter Bench <bench@mezame.invalid> {at} +0000\ndata {}\n{message}\nM 100644 inline {path}\ndata {}\n{content}\n",
            message.len() + 1,
            content.len() + 1,
        )
        .unwrap();
    }
    drop(w);
    assert!(child.wait().unwrap().success(), "git fast-import");
}

fn ms_name(i: usize) -> String {
    format!("svc-{i:02}")
}

/// The first GET of `url` (the answer made, not kept yet: what each change
/// of the index or the topology costs once), then p50 and p99 in ms of
/// `requests` GETs by `clients` concurrent clients (answers kept until the next change).
async fn load(http: &reqwest::Client, url: &str, clients: usize, requests: usize) -> (f64, f64, f64) {
    let t = Instant::now();
    let r = http.get(url).send().await.unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
    r.bytes().await.unwrap();
    let first = t.elapsed().as_secs_f64() * 1000.0;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, url) = (http.clone(), url.to_string());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            for _ in 0..requests.div_ceil(clients) {
                let t = Instant::now();
                let r = http.get(&url).send().await.unwrap();
                assert!(r.status().is_success(), "{url}: {}", r.status());
                r.bytes().await.unwrap();
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            times
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_by(f64::total_cmp);
    (first, quantile(&all, 0.5), quantile(&all, 0.99))
}

/// Seconds until the server's first pass has indexed `commits` commits.
async fn indexed(server: &Server, http: &reqwest::Client, commits: u64, since: Instant) -> f64 {
    loop {
        let r = http.get(server.url("/api/envs/dev/deploys?limit=1")).send().await.unwrap();
        if r.status().is_success() {
            let page: DeployList = r.json().await.unwrap();
            assert!(page.index.errors.is_empty(), "{:?}", page.index.errors);
            if page.index.indexed_at.is_some() && page.index.commits >= commits {
                return since.elapsed().as_secs_f64();
            }
        }
        assert!(since.elapsed() < Duration::from_secs(600), "not indexed in 10 minutes");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::main]
async fn main() {
    let app_commits = arg("--app-commits", 10_000);
    let deploys = arg("--deploys", 10_000);
    let (clients, requests) = (arg("--clients", 10), arg("--requests", 1000));
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let t = Instant::now();
    let start = 1_700_000_000i64;
    // App repositories: a line of commits each.
    let per = app_commits / SERVICES;
    let mut shas: Vec<Vec<String>> = Vec::new();
    for i in 0..SERVICES {
        let repo = root.join("apps").join(ms_name(i));
        import(
            &repo,
            (0..per).map(|k| {
                ("CHANGELOG.md".into(), format!("change {k}"), format!("feat: change {k} of {}", ms_name(i)), start + (k as i64) * 60)
            }),
        );
        shas.push(git(&repo, &["rev-list", "--reverse", "master"]).lines().map(str::to_string).collect());
    }
    // The manifest repository: each commit retags one microservice in dev.
    let k8s = root.join("k8s");
    import(
        &k8s,
        (0..deploys).map(|k| {
            let i = k % SERVICES;
            let tag = &shas[i][(k / SERVICES) % per];
            let ms = ms_name(i);
            let content = format!("apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: registry.example/{ms}-dev:{tag}");
            (format!("dev/manifests/{ms}/{ms}-dev-deployment.yaml"), content, format!("ci({ms}): deploy {} to dev", &tag[..7]), start + 600 + (k as i64) * 60)
        }),
    );
    let total = (per * SERVICES + deploys) as u64;
    say(&format!(
        "wrote {} app commits in {SERVICES} repositories and {deploys} manifest commits in {:.1} s",
        per * SERVICES,
        t.elapsed().as_secs_f64()
    ));

    let db = root.join("mezame.db");
    // dev, and a second environment on the same cluster for the matrix (without power settings).
    let dev = sandbox_env_toml("dev");
    let dev2 = dev.split("[env.power]").next().unwrap().replacen("name = \"dev\"", "name = \"dev2\"", 1);
    let config = format!(
        "database = \"{db}\"\nauth = \"none\"\n[git]\nmanifests = \"file://{k8s}\"\napps = \"file://{apps}/{{ms}}\"\nfetch_interval_secs = 3600\n{dev}{dev2}",
        db = db.display(),
        k8s = k8s.display(),
        apps = root.join("apps").display(),
    );
    let http = mezame_e2e::anonymous();
    let t = Instant::now();
    let server = Server::start(&config);
    let first = indexed(&server, &http, total, t).await;
    say(&format!("first index of {total} commits ({deploys} deploys), mirrors cloned included: {first:.2} s after the start"));
    let (deploys_first, deploys_p50, deploys_p99) = load(&http, &server.url("/api/envs/dev/deploys?limit=100"), clients, requests).await;
    say(&format!(
        "GET /api/envs/dev/deploys?limit=100 at {deploys} deploys: first {deploys_first:.2} ms; then {clients} clients: p50 {deploys_p50:.2} ms, p99 {deploys_p99:.2} ms"
    ));
    let (one_first, one_p50, one_p99) =
        load(&http, &server.url(&format!("/api/envs/dev/deploys?limit=100&ms={}", ms_name(3))), clients, requests).await;
    say(&format!("GET …/deploys?ms=…: first {one_first:.2} ms; p50 {one_p50:.2} ms, p99 {one_p99:.2} ms"));
    let (matrix_first, matrix_p50, matrix_p99) = load(&http, &server.url("/api/versions?from=dev&to=dev2"), clients, requests).await;
    say(&format!("GET /api/versions: first {matrix_first:.2} ms; p50 {matrix_p50:.2} ms, p99 {matrix_p99:.2} ms"));
    drop(server);
    let t = Instant::now();
    let server = Server::start(&config);
    let restart = indexed(&server, &http, total, t).await;
    say(&format!("restart, nothing new: indexed {restart:.2} s after the start"));
    drop(server);
    // Live: the sandbox's own repositories and Argo CD.
    let live = Server::start(&format!("{}{dev}", sandbox_git_toml(&["dev"])));
    let chains = ci_to_chain(&live, "dev", "firmware-updater", arg("--ci-rounds", 3)).await;
    drop(live);
    let lags: Vec<f64> = chains.iter().map(|c| c.lag_ms.round()).collect();
    let rollouts: Vec<f64> = chains.iter().map(|c| (c.rollout_secs * 10.0).round() / 10.0).collect();
    println!(
        "{}",
        json!({
            "app_commits": per * SERVICES, "deploys": deploys, "clients": clients, "requests": requests,
            "first_index_secs": (first * 100.0).round() / 100.0, "restart_index_secs": (restart * 100.0).round() / 100.0,
            "deploys_first_ms": deploys_first, "deploys_p50_ms": deploys_p50, "deploys_p99_ms": deploys_p99,
            "deploys_one_ms_first_ms": one_first, "deploys_one_ms_p99_ms": one_p99,
            "versions_first_ms": matrix_first, "versions_p50_ms": matrix_p50, "versions_p99_ms": matrix_p99,
            "ci_rollout_secs": rollouts, "ci_chain_lag_ms": lags, "ci_chain_lag_max_ms": lags.iter().copied().fold(f64::MIN, f64::max),
        })
    );
}
