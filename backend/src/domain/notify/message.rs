//! What a notification says (pure): Slack's `{"text": …}` with a link, or
//! mezame's JSON event.

use chrono::{DateTime, Utc};
use mezame_shared::power::{Run, RunAction, RunState, StepState};
use serde_json::json;

use crate::config::notify::NotifyKind;

/// The end of a wake or a sleep.
pub fn run_ended(kind: NotifyKind, run: &Run, base: Option<&str>) -> String {
    let action = if run.action == RunAction::Wake { "wake" } else { "sleep" };
    let outcome = if run.state == RunState::Succeeded { "succeeded" } else { "failed" };
    let failed = run.steps.iter().find(|s| s.state == StepState::Failed);
    let url = base.map(|b| format!("{}/?env={}&run={}", b.trim_end_matches('/'), run.env, run.id));
    let took = run.finished_at.map(|f| (f - run.created_at).num_seconds());
    match kind {
        NotifyKind::Json => json!({
            "event": format!("run.{outcome}"),
            "env": run.env,
            "action": action,
            "run_id": run.id,
            "state": run.state.as_str(),
            "actor": run.actor,
            "started_at": run.created_at,
            "finished_at": run.finished_at,
            "message": run.message,
            "failed_step": failed.map(|s| json!({"name": s.name, "title": s.title, "message": s.message})),
            "url": url,
        })
        .to_string(),
        NotifyKind::Slack => {
            let mut text = if run.state == RunState::Succeeded {
                let verb = if run.action == RunAction::Wake { "is awake" } else { "is asleep" };
                format!(
                    ":white_check_mark: *{}* {verb} ({action} by {}{})",
                    run.env,
                    run.actor,
                    took.map(|t| format!(", {}", span(t))).unwrap_or_default()
                )
            } else {
                let state = if run.state == RunState::Cancelled { "was cancelled" } else { "failed" };
                let step = failed
                    .map(|s| format!(" at step “{}”: {}", s.title, s.message.as_deref().unwrap_or("no message")))
                    .unwrap_or_else(|| run.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default());
                format!(":x: The {action} of *{}* {state}{step}", run.env)
            };
            if let Some(u) = &url {
                text.push_str(&format!(" — <{u}|run {}>", run.id));
            }
            json!({ "text": text }).to_string()
        }
    }
}

/// A scheduled sleep (or the end of a keep-awake) coming.
pub fn sleep_soon(kind: NotifyKind, env: &str, at: DateTime<Utc>, now: DateTime<Utc>, local: &str, base: Option<&str>) -> String {
    let url = base.map(|b| format!("{}/?env={env}", b.trim_end_matches('/')));
    let mins = ((at - now).num_seconds().max(0) + 59) / 60;
    match kind {
        NotifyKind::Json => json!({"event": "sleep.soon", "env": env, "at": at, "minutes": mins, "url": url}).to_string(),
        NotifyKind::Slack => {
            let keep = url.map(|u| format!(" — <{u}|keep it awake>")).unwrap_or_default();
            json!({"text": format!(":zzz: *{env}* goes to sleep in {mins} min (at {local}){keep}")}).to_string()
        }
    }
}

/// `95` → `1 min 35 s`.
fn span(secs: i64) -> String {
    if secs < 60 { format!("{secs} s") } else { format!("{} min {} s", secs / 60, secs % 60) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mezame_shared::power::RunStep;

    fn run(state: RunState) -> Run {
        let t = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        Run {
            id: 7,
            env: "dev".into(),
            action: RunAction::Wake,
            state,
            actor: "ann".into(),
            created_at: t,
            finished_at: Some(t + chrono::Duration::seconds(95)),
            message: None,
            cancel_requested: false,
            runner: None,
            target: None,
            steps: vec![RunStep {
                index: 0,
                name: "point-dns".into(),
                title: "Point the public hostnames".into(),
                state: if state == RunState::Failed { StepState::Failed } else { StepState::Done },
                attempts: 1,
                started_at: None,
                finished_at: None,
                waited_ms: 0,
                message: Some("no hosted zone".into()),
                changed: None,
            }],
            notifications: vec![],
        }
    }

    #[test]
    fn messages_say_what_happened_and_link_the_run() {
        let ok: serde_json::Value =
            serde_json::from_str(&run_ended(NotifyKind::Slack, &run(RunState::Succeeded), Some("https://m.example/"))).unwrap();
        assert_eq!(ok["text"], ":white_check_mark: *dev* is awake (wake by ann, 1 min 35 s) — <https://m.example/?env=dev&run=7|run 7>");
        let failed: serde_json::Value = serde_json::from_str(&run_ended(NotifyKind::Json, &run(RunState::Failed), None)).unwrap();
        assert_eq!(failed["event"], "run.failed");
        assert_eq!(failed["failed_step"]["name"], "point-dns");
        assert_eq!(failed["failed_step"]["message"], "no hosted zone");
        assert!(failed["url"].is_null());
        let slack: serde_json::Value = serde_json::from_str(&run_ended(NotifyKind::Slack, &run(RunState::Failed), None)).unwrap();
        assert_eq!(slack["text"], ":x: The wake of *dev* failed at step “Point the public hostnames”: no hosted zone");
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let soon: serde_json::Value = serde_json::from_str(&sleep_soon(
            NotifyKind::Slack,
            "dev",
            now + chrono::Duration::minutes(15),
            now,
            "20:00 Europe/Paris",
            Some("https://m.example"),
        ))
        .unwrap();
        assert_eq!(
            soon["text"],
            ":zzz: *dev* goes to sleep in 15 min (at 20:00 Europe/Paris) — <https://m.example/?env=dev|keep it awake>"
        );
    }
}
