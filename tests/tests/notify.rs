//! Notifications against a local webhook receiver and the sandbox's dev:
//! each run outcome reaches each webhook exactly once (a receiver failing
//! twice gets the message on the third attempt, shown on the run), a failed
//! wake names its failed step, and a scheduled sleep is announced once
//! before it (the scheduler's clock moved).

use std::time::Duration;

use mezame_e2e::cluster::{LOCK, MINUTE, settled};
use mezame_e2e::receiver::Receiver;
use mezame_e2e::runs::{KEY, finished, post, send};
use mezame_e2e::{Server, eventually, sandbox_env_toml};
use mezame_shared::notify::DeliveryState;
use mezame_shared::power::RunState;
use serde_json::json;

fn config(receiver: &Receiver, dev: &str) -> String {
    format!(
        "backup_keys = [\"{KEY}\"]\ndebug_routes = true\nschedule_tick_ms = 200\n{dev}\
         [[env.notify]]\nname = \"chat\"\nkind = \"slack\"\nurl = \"{url}/slack\"\n\
         [[env.notify]]\nname = \"events\"\nkind = \"json\"\nurl_env = \"MEZAME_TEST_HOOK\"\nevents = [\"succeeded\", \"failed\"]\n",
        url = receiver.url
    )
}

#[tokio::test]
async fn webhooks_hear_of_each_wake_once_and_of_a_coming_sleep() {
    let _lock = LOCK.lock().await;
    settled("dev").await;
    let receiver = Receiver::start(2).await;
    let hook = format!("{}/flaky", receiver.url);
    let server = Server::start_with_env(&config(&receiver, &sandbox_env_toml("dev")), &[("MEZAME_TEST_HOOK", &hook)]);
    let api = |p: &str| server.url(p);

    // A wake of the awake dev succeeds; each webhook hears of it once.
    let (status, body) = post(&api("/api/envs/dev/wake")).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_i64().unwrap();
    let run = finished(&server, id, 3 * MINUTE).await;
    assert_eq!(run.state, RunState::Succeeded, "{run:#?}");
    let delivered = eventually("both webhooks got the wake", MINUTE, || async {
        let (slack, events) = (receiver.delivered("/slack"), receiver.delivered("/flaky"));
        (!slack.is_empty() && !events.is_empty()).then_some((slack, events))
    })
    .await;
    let text = delivered.0[0]["text"].as_str().unwrap();
    assert!(text.starts_with(":white_check_mark: *dev* is awake (wake by "), "{text}");
    let event = &delivered.1[0];
    assert_eq!(
        (event["event"].as_str(), event["run_id"].as_i64(), event["action"].as_str()),
        (Some("run.succeeded"), Some(id), Some("wake"))
    );
    let flaky: Vec<u16> = receiver.got().iter().filter(|g| g.path == "/flaky").map(|g| g.status).collect();
    assert_eq!(flaky, [500, 500, 200], "retried after two refusals");
    // Shown on the run: sent, after how many attempts.
    let (_, body) = mezame_e2e::get_json(&api(&format!("/api/runs/{id}"))).await;
    let notes: Vec<mezame_shared::notify::Delivery> = serde_json::from_value(body["notifications"].clone()).unwrap();
    let by = |t: &str| notes.iter().find(|n| n.target == t).unwrap_or_else(|| panic!("{t} in {notes:?}")).clone();
    assert_eq!((by("chat").state, by("chat").attempts, by("chat").event.as_str()), (DeliveryState::Sent, 1, "run.succeeded"));
    assert_eq!((by("events").state, by("events").attempts), (DeliveryState::Sent, 3));

    // A sleep at 20:00 UTC, the clock at 19:50: "dev goes to sleep in 10 min", once, to the webhook that wants it.
    let (_, power) = mezame_e2e::get_json(&api("/api/envs/dev/power")).await;
    let mut settings = power["settings"].clone();
    settings["schedule"] =
        json!({"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "wake": "07:00", "sleep": "20:00", "time_zone": "UTC"});
    let (status, body) = send(reqwest::Method::PUT, &api("/api/envs/dev/power"), Some(settings)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(reqwest::Method::PUT, &api("/api/debug/clock"), Some(json!({"now": "2027-01-05T19:50:00Z"}))).await;
    assert_eq!(status, 200, "{body}");
    let soon = eventually("the sleep is announced", MINUTE, || async {
        receiver.delivered("/slack").into_iter().find(|b| b["text"].as_str().is_some_and(|t| t.contains("goes to sleep")))
    })
    .await;
    assert_eq!(soon["text"], ":zzz: *dev* goes to sleep in 10 min (at 20:00 UTC)", "{soon}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.delivered("/slack").len(), 2, "one message per event: {:?}", receiver.got());
    assert_eq!(receiver.delivered("/flaky").len(), 1, "the json webhook does not want sleep warnings");
    drop(server);

    // A wake that fails (its zone does not exist): the failed step and its message, once.
    let receiver = Receiver::start(0).await;
    let hook = format!("{}/flaky", receiver.url);
    let broken = sandbox_env_toml("dev").replace("zone = \"dev.iot-inventory.example\"", "zone = \"nosuch.iot-inventory.example\"");
    assert_ne!(broken, sandbox_env_toml("dev"));
    let server = Server::start_with_env(&config(&receiver, &broken), &[("MEZAME_TEST_HOOK", &hook)]);
    let (status, body) = post(&server.url("/api/envs/dev/wake")).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_i64().unwrap();
    let run = finished(&server, id, 3 * MINUTE).await;
    assert_eq!(run.state, RunState::Failed, "{run:#?}");
    let event = eventually("the failure is told", MINUTE, || async { receiver.delivered("/flaky").into_iter().next() }).await;
    assert_eq!(event["event"], "run.failed");
    assert_eq!(event["failed_step"]["name"], "point-dns", "{event}");
    assert!(event["failed_step"]["message"].as_str().unwrap().contains("no hosted zone named nosuch.iot-inventory.example"), "{event}");
    let slack = eventually("slack too", MINUTE, || async { receiver.delivered("/slack").into_iter().next() }).await;
    assert!(slack["text"].as_str().unwrap().starts_with(":x: The wake of *dev* failed at step “Point the public hostnames"), "{slack}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.got().len(), 2, "exactly one message per webhook: {:?}", receiver.got());
}
