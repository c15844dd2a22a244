//! `bench-power`: a sleep and a wake of one environment of a sandbox (run by
//! `cargo xtask bench power`), measured from the runs' own records: each run's
//! total time, the time its steps spent waiting on AWS and the cluster (calls
//! and condition waits), and the orchestration overhead — the rest: the
//! runner's own work, database writes, scheduling. Ends with one JSON line.

use std::time::{Duration, Instant};

use mezame_e2e::{Server, sandbox_env_toml};
use mezame_shared::power::{Run, RunState};
use serde_json::json;

fn say(m: &str) {
    eprintln!("bench: {m}");
}

async fn run(http: &reqwest::Client, server: &Server, env: &str, action: &str) -> Run {
    let started: serde_json::Value =
        http.post(server.url(&format!("/api/envs/{env}/{action}"))).json(&json!({})).send().await.unwrap().json().await.unwrap();
    let id = started["id"].as_i64().unwrap_or_else(|| panic!("{action} did not start: {started}"));
    let t = Instant::now();
    loop {
        let r: Run = http.get(server.url(&format!("/api/runs/{id}"))).send().await.unwrap().json().await.unwrap();
        if r.state != RunState::Running {
            assert_eq!(r.state, RunState::Succeeded, "{action} run: {r:#?}");
            return r;
        }
        assert!(t.elapsed() < Duration::from_secs(900), "{action} did not finish in 15 minutes");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// (total, waited, overhead) in seconds.
fn figures(r: &Run) -> (f64, f64, f64) {
    let total = (r.finished_at.unwrap() - r.created_at).num_milliseconds() as f64 / 1000.0;
    let waited = r.steps.iter().map(|s| s.waited_ms).sum::<i64>() as f64 / 1000.0;
    (total, waited, total - waited)
}

#[tokio::main]
async fn main() {
    let env = std::env::args().nth(1).unwrap_or_else(|| "dev".into());
    let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let server = Server::start(&format!("backup_keys = [\"{key}\"]\n{}", sandbox_env_toml(&env)));
    let http = mezame_e2e::client();
    let mut out = serde_json::Map::new();
    for action in ["sleep", "wake"] {
        let r = run(&http, &server, &env, action).await;
        let (total, waited, overhead) = figures(&r);
        say(&format!("{action}: {total:.2} s total, {waited:.2} s waiting on AWS and the cluster, {overhead:.3} s orchestration overhead"));
        for s in &r.steps {
            let took = match (s.started_at, s.finished_at) {
                (Some(a), Some(b)) => (b - a).num_milliseconds() as f64 / 1000.0,
                _ => 0.0,
            };
            say(&format!(
                "  {:<20} {took:>7.2} s (waiting {:.2} s)  {}",
                s.name,
                s.waited_ms as f64 / 1000.0,
                s.message.clone().unwrap_or_default()
            ));
        }
        out.insert(format!("{action}_total_s"), json!(round(total)));
        out.insert(format!("{action}_waiting_s"), json!(round(waited)));
        out.insert(format!("{action}_overhead_s"), json!(round(overhead)));
    }
    println!("{}", serde_json::Value::Object(out));
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}
