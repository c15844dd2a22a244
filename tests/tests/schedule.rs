//! Wake and sleep of `dev` over time and under faults, against the sandbox:
//! the schedule at local time across a DST change and "keep awake until"
//! (with the scheduler's clock moved), idle sleep (requests in CloudWatch at
//! the moved clock), and a sleep and a wake that succeed while the AWS
//! endpoint fails a share of the calls.

use std::time::Duration;

use mezame_e2e::cluster::{LOCK, MINUTE, settled};
use mezame_e2e::receiver::Receiver;
use mezame_e2e::runs::{KEY, finished, post, send, server};
use mezame_e2e::{Server, eventually, get_json, sandbox_env_toml};
use mezame_shared::power::{Run, RunState};
use serde_json::json;

async fn runs_by(server: &Server, actor: &str) -> Vec<Run> {
    let (_, body) = get_json(&server.url("/api/envs/dev/runs")).await;
    let runs: Vec<Run> = serde_json::from_value(body["runs"].clone()).unwrap();
    runs.into_iter().filter(|r| r.actor == actor).collect()
}

/// mezame on dev with the debug routes, among them the scheduler's clock.
fn clocked_server() -> Server {
    clocked_server_with("")
}

/// The same, with `extra` after dev's table (e.g. its `[[env.notify]]`).
fn clocked_server_with(extra: &str) -> Server {
    Server::start(&format!("backup_keys = [\"{KEY}\"]\ndebug_routes = true\nschedule_tick_ms = 200\n{}{extra}", sandbox_env_toml("dev")))
}

/// What a Slack webhook got of "goes to sleep in …".
fn sleep_warnings(hook: &Receiver) -> Vec<String> {
    let texts = hook.delivered("/slack").into_iter().filter_map(|b| b["text"].as_str().map(str::to_string));
    texts.filter(|t| t.contains("goes to sleep")).collect()
}

/// Moves the scheduler's clock of `server` to `at` (RFC 3339).
async fn set_clock(server: &Server, at: &str) {
    let (status, body) = send(reqwest::Method::PUT, &server.url("/api/debug/clock"), Some(json!({"now": at}))).await;
    assert_eq!(status, 200, "{body}");
}

/// With the scheduler's clock moved (debug route), a weekly schedule starts
/// its wake at the right local time on the night the clocks change, and
/// "keep awake until" skips the scheduled sleep and sleeps at its own time.
#[tokio::test]
async fn the_schedule_fires_at_local_time_across_dst_and_keep_awake_holds() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let server = clocked_server();
    let api = |p: &str| server.url(p);
    let (_, power) = get_json(&api("/api/envs/dev/power")).await;
    let mut settings = power["settings"].clone();
    // Sundays: wake 02:30, sleep 04:00, Paris. On 2027-03-28 02:00 → 03:00:
    // 02:30 does not exist, so the wake is due at 03:00 CEST = 01:00Z.
    settings["schedule"] = json!({"days": ["sun"], "wake": "02:30", "sleep": "04:00", "time_zone": "Europe/Paris"});
    let (status, body) = send(reqwest::Method::PUT, &api("/api/envs/dev/power"), Some(settings)).await;
    assert_eq!(status, 200, "{body}");
    set_clock(&server, "2027-03-28T00:59:55Z").await;
    let (_, power) = get_json(&api("/api/envs/dev/power")).await;
    assert_eq!(power["next_scheduled"], json!({"at": "2027-03-28T01:00:00Z", "action": "wake"}), "{power}");
    let t = std::time::Instant::now();
    let wake = eventually("the scheduled wake starts", MINUTE, || async { runs_by(&server, "schedule").await.into_iter().next() }).await;
    let waited = t.elapsed().as_secs_f64();
    assert!((4.0..8.0).contains(&waited), "started {waited:.1} s after 00:59:55Z, not at 01:00:00Z");
    assert_eq!(wake.action, mezame_shared::power::RunAction::Wake);
    assert_eq!(finished(&server, wake.id, 3 * MINUTE).await.state, RunState::Succeeded);

    // Keep awake until 04:30: the 04:00 sleep is skipped; at 04:30 (02:30Z) the env sleeps.
    set_clock(&server, "2027-03-28T01:59:50Z").await;
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
    set_clock(&server, "2027-03-28T02:29:55Z").await;
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

/// Idle sleep (opt-in, 30 min): with requests 10 minutes ago (in CloudWatch,
/// moto, at the scheduler's moved clock) dev stays awake and the card says
/// "idle for 9 min, sleeps in 21 min"; with none for 35 minutes it is put to
/// sleep by `idle`; then woken for the next tests.
#[tokio::test]
async fn idle_dev_sleeps_a_busy_one_does_not() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let hook = Receiver::start(0).await;
    let server = clocked_server_with(&format!("[[env.notify]]\nname = \"chat\"\nkind = \"slack\"\nurl = \"{}/slack\"\n", hook.url));
    let api = |p: &str| server.url(p);
    let moto = mezame_e2e::cluster::aws("dev").await;
    let lbs = moto.elb.describe_load_balancers().send().await.unwrap();
    let arn = lbs.load_balancers().first().and_then(|l| l.load_balancer_arn()).expect("dev's load balancer").to_string();
    let (_, power) = get_json(&api("/api/envs/dev/power")).await;
    let mut settings = power["settings"].clone();
    settings["idle_sleep_mins"] = json!(3);
    let (status, body) = send(reqwest::Method::PUT, &api("/api/envs/dev/power"), Some(settings.clone())).await;
    assert_eq!(status, 400, "fewer than 5 minutes is refused: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("idle_sleep_mins"), "{body}");
    settings["idle_sleep_mins"] = json!(30);
    let (status, body) = send(reqwest::Method::PUT, &api("/api/envs/dev/power"), Some(settings)).await;
    assert_eq!(status, 200, "{body}");
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&chrono::Utc);

    // Busy: requests in the minute of 09:50, the clock at 10:00.
    mezame_sandbox::aws::put_requests(&moto, &arn, at("2027-02-02T09:50:00Z"), 40.0).await.unwrap();
    set_clock(&server, "2027-02-02T10:00:00Z").await;
    // (A check made before the clock moved can show for up to 15 s.)
    let idle = eventually("the card says dev is idle since 09:51", MINUTE, || async {
        let (_, power) = get_json(&api("/api/envs/dev/power")).await;
        power["idle"].as_object().filter(|i| i["idle_secs"].as_i64().is_some_and(|s| (540..600).contains(&s))).cloned()
    })
    .await;
    let idle_secs = idle["idle_secs"].as_i64().unwrap();
    assert_eq!(idle["sleeps_in_secs"].as_i64().unwrap(), 30 * 60 - idle_secs, "{idle:?}");
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert!(runs_by(&server, "idle").await.is_empty(), "busy 10 minutes ago: not put to sleep");
    assert_eq!(sleep_warnings(&hook), Vec::<String>::new(), "21 min before the sleep: no warning yet (15 min ahead)");

    // 11 minutes before its idle sleep: the webhook hears it, once.
    set_clock(&server, "2027-02-02T10:10:00Z").await;
    let warned = eventually("the idle sleep announced", MINUTE, || async { sleep_warnings(&hook).into_iter().next() }).await;
    assert_eq!(warned, ":zzz: *dev* goes to sleep in 11 min (at 10:21 UTC)");
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(sleep_warnings(&hook).len(), 1, "said once");
    assert!(runs_by(&server, "idle").await.is_empty(), "not asleep before its time");

    // Idle: no request since 09:51, the clock at 10:40.
    set_clock(&server, "2027-02-02T10:40:00Z").await;
    let sleep = eventually("the idle sleep starts", MINUTE, || async { runs_by(&server, "idle").await.into_iter().next() }).await;
    assert_eq!(sleep.action, mezame_shared::power::RunAction::Sleep);
    assert_eq!(finished(&server, sleep.id, 5 * MINUTE).await.state, RunState::Succeeded);
    let (_, power) = get_json(&api("/api/envs/dev/power")).await;
    assert_eq!(power["state"], "asleep", "{power}");
    assert!(power["idle"].is_null(), "asleep: no idle countdown: {power}");
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(runs_by(&server, "idle").await.len(), 1, "asleep: not put to sleep again");
    assert_eq!(sleep_warnings(&hook).len(), 1, "{:?}", sleep_warnings(&hook));

    // Back to work, idle sleep off first: with the scheduler's clock 40 min
    // ahead of the wake's real end, it would find dev idle again at once and
    // put it back to sleep (seen in CI: dev left half asleep for the next test).
    let (_, power) = get_json(&api("/api/envs/dev/power")).await;
    let mut settings = power["settings"].clone();
    settings["idle_sleep_mins"] = serde_json::Value::Null;
    let (status, body) = send(reqwest::Method::PUT, &api("/api/envs/dev/power"), Some(settings)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(&api("/api/envs/dev/wake")).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(finished(&server, body["id"].as_i64().unwrap(), 5 * MINUTE).await.state, RunState::Succeeded);
    settled("dev").await;
    assert_eq!(runs_by(&server, "idle").await.len(), 1, "not put to sleep again after the wake");
}
