//! Wake and sleep of `dev` over time and under faults, against the sandbox:
//! the schedule at local time across a DST change and "keep awake until"
//! (with the scheduler's clock moved), and a sleep and a wake that succeed
//! while the AWS endpoint fails a share of the calls.

use std::time::Duration;

use mezame_e2e::cluster::{LOCK, MINUTE, settled};
use mezame_e2e::runs::{KEY, finished, post, send, server};
use mezame_e2e::{Server, eventually, get_json, sandbox_env_toml};
use mezame_shared::power::{Run, RunState};
use serde_json::json;

async fn runs_by(server: &Server, actor: &str) -> Vec<Run> {
    let (_, body) = get_json(&server.url("/api/envs/dev/runs")).await;
    let runs: Vec<Run> = serde_json::from_value(body["runs"].clone()).unwrap();
    runs.into_iter().filter(|r| r.actor == actor).collect()
}

/// With the scheduler's clock moved (debug route), a weekly schedule starts
/// its wake at the right local time on the night the clocks change, and
/// "keep awake until" skips the scheduled sleep and sleeps at its own time.
#[tokio::test]
async fn the_schedule_fires_at_local_time_across_dst_and_keep_awake_holds() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let server =
        Server::start(&format!("backup_keys = [\"{KEY}\"]\ndebug_routes = true\nschedule_tick_ms = 200\n{}", sandbox_env_toml("dev")));
    let api = |p: &str| server.url(p);
    let (_, power) = get_json(&api("/api/envs/dev/power")).await;
    let mut settings = power["settings"].clone();
    // Sundays: wake 02:30, sleep 04:00, Paris. On 2027-03-28 02:00 → 03:00:
    // 02:30 does not exist, so the wake is due at 03:00 CEST = 01:00Z.
    settings["schedule"] = json!({"days": ["sun"], "wake": "02:30", "sleep": "04:00", "time_zone": "Europe/Paris"});
    let (status, body) = send(reqwest::Method::PUT, &api("/api/envs/dev/power"), Some(settings)).await;
    assert_eq!(status, 200, "{body}");
    let set_clock = |at: &'static str| {
        let url = api("/api/debug/clock");
        async move {
            let (status, body) = send(reqwest::Method::PUT, &url, Some(json!({"now": at}))).await;
            assert_eq!(status, 200, "{body}");
        }
    };
    set_clock("2027-03-28T00:59:55Z").await;
    let (_, power) = get_json(&api("/api/envs/dev/power")).await;
    assert_eq!(power["next_scheduled"], json!({"at": "2027-03-28T01:00:00Z", "action": "wake"}), "{power}");
    let t = std::time::Instant::now();
    let wake = eventually("the scheduled wake starts", MINUTE, || async { runs_by(&server, "schedule").await.into_iter().next() }).await;
    let waited = t.elapsed().as_secs_f64();
    assert!((4.0..8.0).contains(&waited), "started {waited:.1} s after 00:59:55Z, not at 01:00:00Z");
    assert_eq!(wake.action, mezame_shared::power::RunAction::Wake);
    assert_eq!(finished(&server, wake.id, 3 * MINUTE).await.state, RunState::Succeeded);

    // Keep awake until 04:30: the 04:00 sleep is skipped; at 04:30 (02:30Z) the env sleeps.
    set_clock("2027-03-28T01:59:50Z").await;
    let (status, body) = send(reqwest::Method::PUT, &api("/api/envs/dev/keep-awake"), Some(json!({"until": "04:30"}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["until"], json!("2027-03-28T02:30:00Z"));
    let (status, body) = send(reqwest::Method::PUT, &api("/api/envs/dev/keep-awake"), Some(json!({"until": "4pm"}))).await;
    assert_eq!(status, 400, "{body}");
    let (_, power) = get_json(&api("/api/envs/dev/power")).await;
    assert_eq!(power["keep_awake_until"], json!("2027-03-28T02:30:00Z"), "a refused request changes nothing: {power}");
    tokio::time::sleep(Duration::from_secs(13)).await;
    assert!(
        runs_by(&server, "schedule").await.iter().all(|r| r.action != mezame_shared::power::RunAction::Sleep),
        "the 04:00 sleep was skipped"
    );
    set_clock("2027-03-28T02:29:55Z").await;
    let sleep =
        eventually("the keep-awake sleep starts", MINUTE, || async { runs_by(&server, "keep-awake").await.into_iter().next() }).await;
    assert_eq!(sleep.action, mezame_shared::power::RunAction::Sleep);
    assert_eq!(finished(&server, sleep.id, 5 * MINUTE).await.state, RunState::Succeeded);
    let (_, power) = get_json(&api("/api/envs/dev/power")).await;
    assert!(power["keep_awake_until"].is_null(), "{power}");

    // Back to work.
    let (status, body) = post(&api("/api/envs/dev/wake")).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(finished(&server, body["id"].as_i64().unwrap(), 5 * MINUTE).await.state, RunState::Succeeded);
    settled("dev").await;
}

/// `mezame-sandbox aws-faults`: the environment's AWS endpoint fails a share of
/// the calls with 503 until dropped.
struct AwsFaults(String);

impl AwsFaults {
    fn on(env: &str, rate: f64, status: u16) -> AwsFaults {
        mezame_sandbox::controller::faults::Faults::new(rate, status).unwrap().save(&mezame_e2e::sandbox(), env).unwrap();
        AwsFaults(env.to_string())
    }
}

impl Drop for AwsFaults {
    fn drop(&mut self) {
        let _ = mezame_sandbox::controller::faults::Faults::default().save(&mezame_e2e::sandbox(), &self.0);
    }
}

/// Under throttling and 5xx from AWS (30% of the calls answered 503 by the
/// sandbox's proxy in front of moto), a sleep and a wake of dev still end
/// `succeeded` and dev is whole again: the SDK's retries and the steps' own
/// retries and waits absorb them.
#[tokio::test]
async fn sleep_and_wake_succeed_while_aws_fails_a_third_of_the_calls() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let server = server();
    let state = mezame_e2e::sandbox();
    let before = mezame_sandbox::controller::faults::injected(&state, "dev");
    let faults = AwsFaults::on("dev", 0.3, 503);
    for action in ["sleep", "wake"] {
        let (status, body) = post(&server.url(&format!("/api/envs/dev/{action}"))).await;
        assert_eq!(status, 202, "{body}");
        let run = finished(&server, body["id"].as_i64().unwrap(), 10 * MINUTE).await;
        let retried: u32 = run.steps.iter().map(|s| s.attempts.saturating_sub(1)).sum();
        println!(
            "{action} under faults: {:?} in {:.1} s, {retried} step retries",
            run.state,
            (run.finished_at.unwrap() - run.created_at).num_milliseconds() as f64 / 1000.0
        );
        assert_eq!(run.state, RunState::Succeeded, "{action}: {run:#?}");
    }
    drop(faults);
    let injected = mezame_sandbox::controller::faults::injected(&state, "dev") - before;
    println!("faults injected into mezame's AWS calls: {injected}");
    assert!(injected >= 10, "the proxy failed only {injected} calls");
    settled("dev").await;
}
