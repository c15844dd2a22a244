//! Two replicas on one PostgreSQL behind one address (a round-robin TCP proxy,
//! as a Service or a load balancer would be): the UI and the API answer through
//! either; an event stream cut by `kill -9` of its replica is opened again
//! through the same address and served by the other; a wake started through
//! the address is finished by the other replica after its runner is killed.

use std::time::Duration;

use mezame_e2e::cluster::{LOCK, MINUTE, SlowNodes, settled};
use mezame_e2e::proxy::Proxy;
use mezame_e2e::runs::KEY;
use mezame_e2e::sse::Sse;
use mezame_e2e::{Server, eventually, fresh_postgres, get_json, sandbox_env_toml};
use mezame_shared::power::{Run, RunState, StepState};

async fn run_of(url: &str) -> Run {
    let (_, body) = get_json(url).await;
    serde_json::from_value(body).expect("a Run")
}

/// The pid in a runner id (`host:pid:millis`).
fn pid_of(runner: &str) -> u32 {
    runner.split(':').nth(1).and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("a pid in runner {runner}"))
}

/// Opens the topology stream through the proxy (a new client: its own connection).
async fn stream(proxy: &Proxy) -> Sse {
    Sse::open_with(&mezame_e2e::client(), &proxy.url("/api/envs/dev/topology/events")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_behind_one_address_survive_a_kill() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let database = fresh_postgres().await;
    let config = format!("database = \"{database}\"\nbackup_keys = [\"{KEY}\"]\nrun_lease_secs = 3\n{}", sandbox_env_toml("dev"));
    let (a, b) = tokio::task::spawn_blocking(move || {
        let a = Server::start(&config);
        let b = a.replica();
        (a, b)
    })
    .await
    .unwrap();
    let proxy = Proxy::round_robin(vec![a.addr(), b.addr()]).await;

    // The page and the API through the one address: each replica serves some.
    for _ in 0..4 {
        let http = mezame_e2e::client();
        let page = http.get(proxy.url("/envs")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("<script"), "the UI");
        let power = http.get(proxy.url("/api/envs/dev/power")).send().await.unwrap();
        assert_eq!(power.status(), 200);
    }
    for server in [&a, &b] {
        let metrics = mezame_e2e::client().get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains(r#"route="/api/envs/{env}/power",status="200""#), "each replica answered through the address");
    }

    // dev asleep, then a wake through the address whose nodes are slow.
    let sleep = mezame_e2e::client().post(proxy.url("/api/envs/dev/sleep")).json(&serde_json::json!({})).send().await.unwrap();
    assert_eq!(sleep.status(), 202);
    let id = sleep.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
    let run = eventually("the sleep ends", 5 * MINUTE, || async {
        let run = run_of(&proxy.url(&format!("/api/runs/{id}"))).await;
        (run.state != RunState::Running).then_some(run)
    })
    .await;
    assert_eq!(run.state, RunState::Succeeded, "{run:?}");
    let mut streams = vec![stream(&proxy).await, stream(&proxy).await];
    for s in &mut streams {
        assert!(s.next(Duration::from_secs(20)).await.is_some(), "each stream starts with the topology");
    }
    let slow = SlowNodes::new("dev", 20);
    let wake = mezame_e2e::client().post(proxy.url("/api/envs/dev/wake")).json(&serde_json::json!({})).send().await.unwrap();
    assert_eq!(wake.status(), 202);
    let id = wake.json::<serde_json::Value>().await.unwrap()["id"].as_i64().unwrap();
    let run_url = proxy.url(&format!("/api/runs/{id}"));
    let waiting = eventually("the wake waits for nodes", MINUTE, || async {
        let run = run_of(&run_url).await;
        run.steps.iter().any(|s| s.name == "wait-nodes" && s.state == StepState::Running).then_some(run)
    })
    .await;
    let driver = waiting.runner.clone().expect("the run names its runner");
    // kill -9 the replica driving the run.
    let (killed, survivor) = if pid_of(&driver) == a.pid() { (a, b) } else { (b, a) };
    assert_eq!(pid_of(&driver), killed.pid(), "the runner is one of the two replicas");
    drop(killed);

    // The stream the killed replica served ends; opened again through the
    // address, the survivor serves it.
    for s in &mut streams {
        let until = tokio::time::Instant::now() + Duration::from_secs(5);
        while !s.closed() && tokio::time::Instant::now() < until {
            s.next(Duration::from_millis(500)).await;
        }
    }
    let ended: Vec<&Sse> = streams.iter().filter(|s| s.closed()).collect();
    assert_eq!(ended.len(), 1, "one stream per replica (round robin): the killed one's ended, the survivor's goes on");
    // Reopened through the address as a browser does, with the last event id
    // it saw: the survivor numbers its revisions on its own, so it answers
    // with a whole snapshot, not deltas counted from the killed one's.
    let seen = ended[0].last_id().expect("the killed replica's stream had events").to_string();
    let request = mezame_e2e::client().get(proxy.url("/api/envs/dev/topology/events")).header("last-event-id", &seen);
    let mut again = Sse::request(request).await;
    let first = again.next(Duration::from_secs(20)).await.expect("reopened through the address: served by the survivor");
    assert_eq!(first.event, "snapshot", "after Last-Event-ID {seen} of the killed replica");

    let run = eventually("the survivor finishes the wake", 5 * MINUTE, || async {
        let run = run_of(&run_url).await;
        (run.state != RunState::Running).then_some(run)
    })
    .await;
    drop(slow);
    assert_eq!(run.state, RunState::Succeeded, "{run:?}");
    let runner = run.runner.clone().unwrap_or_default();
    assert_eq!(pid_of(&runner), survivor.pid(), "finished by the survivor: {runner}");
    settled("dev").await;
}
