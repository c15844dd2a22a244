//! Jobs: the environment's CronJobs with their recent runs, and "Run now"
//! (with confirmation), which creates a Job as `kubectl create job --from=cronjob/`
//! does and shows it appear and finish.

use std::collections::HashMap;
use std::time::Duration;

use leptos::prelude::*;
use mezame_shared::cronjobs::{CronJob, CronJobList, JobOutcome, JobRun};

use crate::api::{self, ApiFailure};
use crate::components::nav::{env_or_first, protected};
use crate::components::refresh::refresh_while;

/// While a run is in progress, the list is re-read this often.
const REFRESH: Duration = Duration::from_secs(2);

#[component]
pub fn JobsPage() -> impl IntoView {
    let env = env_or_first();
    let list = LocalResource::new(move || {
        let env = env.get();
        async move {
            match env {
                Some(env) => Some(api::get_cronjobs(env).await),
                None => None,
            }
        }
    });
    // What "Run now" answered, per CronJob: kept here because the cards are
    // rebuilt each time the list is read again.
    let outcomes: Outcomes = RwSignal::new(HashMap::new());
    // Re-read while a Job runs or a started one is not listed as finished yet,
    // so a run is seen to appear and finish.
    let running = move || {
        let Some(Ok(l)) = list.get().flatten() else { return false };
        let finished = |name: &str| l.cronjobs.iter().flat_map(|c| &c.jobs).any(|j| j.name == name && j.outcome != JobOutcome::Running);
        l.cronjobs.iter().any(|c| c.jobs.iter().any(|j| j.outcome == JobOutcome::Running))
            || outcomes.with(|m| m.values().any(|r| r.as_ref().is_ok_and(|job| !finished(job))))
    };
    refresh_while(running, REFRESH, move || list.refetch(), || ());
    view! {
        <section class="jobs">
            <div class="page-title">
                <h1>"Jobs"</h1>
                <span class="hint">{move || env.get().map(|e| format!("environment {e}")).unwrap_or_default()}</span>
                <button class="secondary" on:click=move |_| list.refetch()>"Refresh"</button>
            </div>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let env = env.get_untracked().unwrap_or_default();
                    match list.await {
                        None => view! { <p class="empty">"No environment is configured."</p> }.into_any(),
                        Some(Err(e)) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        Some(Ok(l)) => cronjobs(env, l, list, outcomes).into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

type ListResource = LocalResource<Option<Result<CronJobList, ApiFailure>>>;
/// `namespace/name` → the new Job's name, or why it could not be created.
type Outcomes = RwSignal<HashMap<String, Result<String, String>>>;

fn cronjobs(env: String, l: CronJobList, list: ListResource, outcomes: Outcomes) -> impl IntoView {
    if l.cronjobs.is_empty() {
        return view! { <p class="empty">"No CronJobs in this environment."</p> }.into_any();
    }
    view! {
        <div class="cronjobs">
            {l.cronjobs.into_iter().map(|c| view! { <CronJobCard env=env.clone() c list outcomes/> }).collect_view()}
        </div>
    }
    .into_any()
}

#[component]
fn CronJobCard(env: String, c: CronJob, list: ListResource, outcomes: Outcomes) -> impl IntoView {
    let confirming = RwSignal::new(false);
    let typed = RwSignal::new(String::new());
    let is_protected = protected(env.clone());
    let env_name = env.clone();
    let key = format!("{}/{}", c.namespace, c.name);
    let (ns, name) = (c.namespace.clone(), c.name.clone());
    let run_key = key.clone();
    let run = Action::new_local(move |_: &()| {
        let (env, ns, name, key) = (env.clone(), ns.clone(), name.clone(), run_key.clone());
        let confirm = is_protected.get_untracked().then(|| typed.get_untracked());
        async move {
            let r = api::run_cronjob(env, ns, name, confirm).await;
            outcomes.update(|m| {
                m.insert(key, r.map(|j| j.job).map_err(|e| e.to_string()));
            });
            confirming.set(false);
            list.refetch();
        }
    });
    let (show_key, clear_key) = (key.clone(), key);
    let outcome = move || outcomes.with(|m| m.get(&show_key).cloned());
    let last = c.jobs.first().cloned();
    let cname = c.name.clone();
    view! {
        <div class="card cronjob" data-testid="cronjob" data-name=c.name.clone()>
            <div class="page-title">
                <h2>{c.name.clone()}</h2>
                <code>{c.schedule.clone()}</code>
                <span class="hint">{c.time_zone.clone().unwrap_or_else(|| "UTC".into())}</span>
                {c.suspended.then(|| view! { <span class="badge">"suspended"</span> })}
            </div>
            <p class="small muted">
                {format!("last scheduled {} · last success {}{}",
                    c.last_schedule.map(|t| crate::components::time::fmt(&t, "%Y-%m-%d %H:%M UTC")).unwrap_or_else(|| "never".into()),
                    c.last_success.map(|t| crate::components::time::fmt(&t, "%Y-%m-%d %H:%M UTC")).unwrap_or_else(|| "never".into()),
                    last.map(|j| format!(" · last run {}", outcome_text(j.outcome))).unwrap_or_default())}
            </p>
            {move || if confirming.get() {
                view! {
                    <div class="confirm" role="dialog" aria-label="Confirm run">
                        {format!("Run {cname} now? A Job is created from its template, as kubectl create job --from=cronjob/ does.")}
                        {is_protected.get().then(|| view! {
                            <label class="confirm-type">{format!("{env_name} is protected: type its name to confirm ")}
                                <input data-testid="confirm-env" prop:value=typed on:input=move |ev| typed.set(event_target_value(&ev))/>
                            </label>
                        })}
                        <button class="primary" data-testid="run-confirm" on:click=move |_| { run.dispatch(()); }
                            disabled={let env_name = env_name.clone(); move || run.pending().get() || (is_protected.get() && typed.get() != env_name)}>"Run"</button>
                        <button class="secondary" on:click=move |_| confirming.set(false)>"Cancel"</button>
                    </div>
                }.into_any()
            } else {
                view! { <button class="primary" on:click={
                    let clear_key = clear_key.clone();
                    move |_| {
                        outcomes.update(|m| { m.remove(&clear_key); });
                        confirming.set(true)
                    }
                }>"Run now"</button> }.into_any()
            }}
            {move || outcome().map(|r| match r {
                Ok(job) => view! { <p class="ok" data-testid="started">{format!("Started Job {job}")}</p> }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
            })}
            <table class="table">
                <thead><tr><th>"Job"</th><th>"Outcome"</th><th>"Started (UTC)"</th><th>"Duration"</th><th>""</th></tr></thead>
                <tbody>{c.jobs.into_iter().map(|j| view! { <JobRow j/> }).collect_view()}</tbody>
            </table>
        </div>
    }
}

fn outcome_text(o: JobOutcome) -> &'static str {
    match o {
        JobOutcome::Running => "running",
        JobOutcome::Succeeded => "succeeded",
        JobOutcome::Failed => "failed",
    }
}

#[component]
fn JobRow(j: JobRun) -> impl IntoView {
    let class = match j.outcome {
        JobOutcome::Running => "progressing",
        JobOutcome::Succeeded => "ok",
        JobOutcome::Failed => "error",
    };
    view! {
        <tr data-testid="job" data-job=j.name.clone() data-outcome=outcome_text(j.outcome)>
            <td>{j.name.clone()}</td>
            <td class=class>{outcome_text(j.outcome)}{j.message.map(|m| format!(": {m}"))}</td>
            <td>{j.started.map(|s| crate::components::time::fmt(&s, "%m-%d %H:%M:%S")).unwrap_or_default()}</td>
            <td>{j.duration_secs.map(|d| format!("{d} s")).unwrap_or_default()}</td>
            <td>{j.manual.then_some("manual")}</td>
        </tr>
    }
}
