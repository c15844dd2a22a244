//! An environment's power: its state, the big "Wake <env> env" (or Sleep)
//! button, the live step list of the active run with a progress bar, and the
//! last runs. Shown on each environment's card.

use leptos::prelude::*;
use mezame_shared::notify::{Delivery, DeliveryState};
use mezame_shared::power::{Power, PowerState, Run, RunAction, RunState, RunStep, StepState};

use super::idle::IdleLine;
use super::live_run::{Followed, use_followed_run};
use super::schedule::SchedulePanel;
use crate::api;

#[component]
pub fn PowerPanel(env: String) -> impl IntoView {
    let power_env = env.clone();
    let power = LocalResource::new(move || api::get_power(power_env.clone()));
    let runs_env = env.clone();
    let runs = LocalResource::new(move || api::get_runs(runs_env.clone()));
    // The run followed live (over its event stream).
    let Followed { followed, reopen, run } = use_followed_run(power);
    let running = move || matches!(run.get(), Some(Ok(r)) if r.state == RunState::Running);
    let crate::api::EnvsResource(envs) = expect_context();
    // When the followed run ends: the state and the history change.
    Effect::new(move |was: Option<bool>| {
        let now = running();
        if was == Some(true) && !now {
            power.refetch();
            runs.refetch();
            // Nodes came or went: the cards' node counts are read again.
            envs.refetch();
        }
        now
    });
    // Nodes come and go during a run: the card's node count is read again
    // each time a step ends, not only when the run does.
    Effect::new(move |was: Option<usize>| {
        let done = match run.get() {
            Some(Ok(r)) => r.steps.iter().filter(|s| s.state == StepState::Done).count(),
            _ => 0,
        };
        if was.is_some_and(|w| done > w) {
            envs.refetch();
        }
        done
    });
    // Under idle sleep, while awake: the card counts down.
    let idle_on = Signal::derive(
        move || matches!(power.get(), Some(Ok(p)) if p.state == PowerState::Awake && p.settings.as_ref().is_some_and(|s| s.idle_sleep_mins.is_some())),
    );
    let error = RwSignal::new(None::<String>);
    let confirming = RwSignal::new(false);
    let start_env = env.clone();
    let start = Action::new_local(move |action: &RunAction| {
        let (env, action) = (start_env.clone(), *action);
        async move {
            confirming.set(false);
            match api::start_run(env, action).await {
                Ok(started) => {
                    error.set(None);
                    followed.set(Some(started.id));
                }
                Err(e) => error.set(Some(e.to_string())),
            }
            power.refetch();
        }
    });
    let env_name = env.clone();
    view! {
        <div class="power" data-testid="power">
            {move || power.get().map(|p| match p {
                Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(p) => state_line(&p).into_any(),
            })}
            <IdleLine env=env.clone() on=idle_on/>
            <div class="power-actions">
                {move || {
                    let p = power.get().and_then(Result::ok);
                    let has_settings = p.as_ref().is_some_and(|p| p.settings.is_some());
                    let protected = p.as_ref().is_some_and(|p| p.protected);
                    let allowed = p.as_ref().is_none_or(|p| p.may_operate);
                    let busy = running() || start.pending().get() || !allowed;
                    let expected = |s: Option<f64>| s.map(|s| format!(" (≈ {})", duration(s))).unwrap_or_default();
                    let wake_label = format!("Wake {} env{}", env_name, expected(p.as_ref().and_then(|p| p.expected_wake_secs)));
                    let sleep_label = format!("Sleep{}", expected(p.as_ref().and_then(|p| p.expected_sleep_secs)));
                    has_settings.then(|| view! {
                        <button class="primary big" data-testid="wake" disabled=busy on:click=move |_| { start.dispatch(RunAction::Wake); }>{wake_label}</button>
                        {(!protected).then(|| if confirming.get() {
                            view! {
                                <span class="confirm" role="dialog" aria-label="Confirm sleep">
                                    "Put it to sleep? Workloads, load balancers, nodes and databases stop."
                                    <button class="primary" data-testid="sleep-confirm" on:click=move |_| { start.dispatch(RunAction::Sleep); }>"Sleep"</button>
                                    <button class="secondary" on:click=move |_| confirming.set(false)>"Cancel"</button>
                                </span>
                            }.into_any()
                        } else {
                            view! { <button class="secondary" data-testid="sleep" disabled=busy on:click=move |_| confirming.set(true)>{sleep_label.clone()}</button> }.into_any()
                        })}
                    })
                }}
            </div>
            {move || power.get().and_then(Result::ok).filter(|p| !p.may_operate).map(|p| view! {
                <p class="small" data-testid="not-operator">
                    {format!("You may not wake or sleep {}. Who may: {}", p.env, p.who_may)}
                </p>
            })}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || power.get().and_then(Result::ok).filter(|p| p.settings.is_some() && !p.protected && p.may_operate).map(|p| {
                let env = p.env.clone();
                view! { <SchedulePanel env power=p changed=move |_| power.refetch()/> }
            })}
            {move || run.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                Ok(r) => view! { <RunView run=r reopen/> }.into_any(),
            })}
            {move || runs.get().and_then(Result::ok).map(|l| view! {
                <details class="run-history">
                    <summary>{format!("Run history ({})", l.runs.len())}</summary>
                    <ul>{l.runs.into_iter().map(|r| view! { <li>{history_line(&r)}</li> }).collect_view()}</ul>
                </details>
            })}
        </div>
    }
}

fn state_line(p: &Power) -> impl IntoView + use<> {
    let class = match p.state {
        PowerState::Awake => "ok",
        PowerState::Asleep => "muted",
        PowerState::Waking | PowerState::Sleeping => "progressing",
        PowerState::PartiallyAwake | PowerState::Unknown => "warning",
        PowerState::Failed => "error",
    };
    let details = p.details.join("; ");
    view! {
        <p class="power-state">
            <span class=format!("badge {class}") data-testid="power-state">{p.state.label()}</span>
            {(!details.is_empty()).then(|| view! { <span class="small">{details}</span> })}
        </p>
    }
}

/// A run: its state, its steps, Cancel / Retry, the webhooks told of its end.
#[component]
pub(crate) fn RunView(run: Run, reopen: RwSignal<u32>) -> impl IntoView {
    let done = run.steps.iter().filter(|s| s.state == StepState::Done).count();
    let total = run.steps.len().max(1);
    let title = format!(
        "{} run {} · {} · {done}/{} steps",
        match run.action {
            RunAction::Wake => "Wake".to_string(),
            RunAction::Sleep => "Sleep".to_string(),
            RunAction::Drain => format!("Drain of {}", run.target.clone().unwrap_or_default()),
            RunAction::ScaleIn => format!("Scale-in of {}", run.target.clone().unwrap_or_default()),
        },
        run.id,
        match run.state {
            RunState::Running => "running",
            RunState::Succeeded => "done",
            RunState::Failed => "failed",
            RunState::Cancelled => "cancelled",
        },
        run.steps.len()
    );
    let id = run.id;
    let can_cancel = run.state == RunState::Running;
    let can_retry = matches!(run.state, RunState::Failed | RunState::Cancelled);
    let failure = RwSignal::new(None::<String>);
    let command = move |cmd: &'static str| {
        leptos::task::spawn_local(async move {
            match api::run_command(id, cmd).await {
                Ok(_) => {
                    failure.set(None);
                    if cmd == "retry" {
                        // Running again under the same id: follow it again.
                        reopen.update(|n| *n += 1);
                    }
                }
                Err(e) => failure.set(Some(e.to_string())),
            }
        })
    };
    view! {
        <div class="run" data-testid="run" data-state=format!("{:?}", run.state).to_lowercase()>
            <p class="run-title">{title}</p>
            <progress max=total.to_string() value=done.to_string()></progress>
            {run.message.clone().map(|m| view! { <p class="error">{m}</p> })}
            <ol class="steps">{run.steps.into_iter().map(|s| view! { <StepRow s/> }).collect_view()}</ol>
            {(!run.notifications.is_empty()).then(|| view! {
                <ul class="notifications small">{run.notifications.into_iter().map(notified).collect_view()}</ul>
            })}
            {can_cancel.then(|| view! { <button class="secondary" on:click=move |_| command("cancel")>"Cancel"</button> })}
            {can_retry.then(|| view! { <button class="primary" on:click=move |_| command("retry")>"Retry from the failed step"</button> })}
            {move || failure.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </div>
    }
}

#[component]
fn StepRow(s: RunStep) -> impl IntoView {
    let state = format!("{:?}", s.state).to_lowercase();
    let took = match (s.started_at, s.finished_at) {
        (Some(a), Some(b)) => duration((b - a).num_milliseconds() as f64 / 1000.0),
        (Some(_), None) => "…".into(),
        _ => String::new(),
    };
    view! {
        <li class=format!("step {state}") data-testid="step" data-step=s.name.clone() data-state=state.clone()>
            <span class="step-title">{s.title}</span>
            <span class="step-took">{took}</span>
            {s.message.map(|m| view! { <span class="step-message small">{m}</span> })}
        </li>
    }
}

/// One webhook message about the run: sent, retrying (why), or given up.
fn notified(d: Delivery) -> impl IntoView {
    let state = match d.state {
        DeliveryState::Sent => "sent".to_string(),
        DeliveryState::Pending if d.attempts == 0 => "queued".to_string(),
        DeliveryState::Pending => format!("retrying after {} attempts", d.attempts),
        DeliveryState::GaveUp => format!("given up after {} attempts", d.attempts),
    };
    let why = d.last_error.filter(|_| d.state != DeliveryState::Sent).map(|e| format!(": {e}")).unwrap_or_default();
    view! { <li data-testid="notification" data-state=format!("{:?}", d.state).to_lowercase()>{format!("{} → {}: {state}{why}", d.event, d.target)}</li> }
}

fn history_line(r: &Run) -> String {
    let took =
        r.finished_at.map(|f| format!(" in {}", duration((f - r.created_at).num_milliseconds() as f64 / 1000.0))).unwrap_or_default();
    format!(
        "#{} {} by {} at {} — {}{took}",
        r.id,
        r.action.as_str(),
        r.actor,
        crate::components::time::fmt(&r.created_at, "%Y-%m-%d %H:%M UTC"),
        r.state.as_str()
    )
}

fn duration(secs: f64) -> String {
    if secs < 90.0 { format!("{secs:.0} s") } else { format!("{:.0} min {:.0} s", (secs / 60.0).floor(), secs % 60.0) }
}
