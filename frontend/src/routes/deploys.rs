//! Deploys: per environment, newest first, each deploy's chain — app commit →
//! image tag → manifest commit → Argo CD sync → rollout — with the lead time
//! and, where a chain stops, why. Re-read every few seconds, so a CI run
//! appears and fills in without a reload.

use std::time::Duration;

use leptos::prelude::*;
use mezame_shared::deploys::{Deploy, DeployList, LinkSource, VersionMatrix, VersionRow};

use crate::api;
use crate::components::nav::env_or_first;
use crate::components::refresh::refresh_while;
use crate::components::time::fmt;

const REFRESH: Duration = Duration::from_secs(3);

#[component]
pub fn DeploysPage() -> impl IntoView {
    let env = env_or_first();
    let ms = RwSignal::new(String::new());
    let list = LocalResource::new(move || {
        let (env, ms) = (env.get(), ms.get());
        async move {
            match env {
                Some(env) => Some(api::get_deploys(env, ms).await),
                None => None,
            }
        }
    });
    let versions = LocalResource::new(api::get_versions);
    refresh_while(
        || true,
        REFRESH,
        move || {
            list.refetch();
            versions.refetch();
        },
        || (),
    );
    view! {
        <section class="deploys">
            <div class="page-title">
                <h1>"Deploys"</h1>
                <span class="hint">{move || env.get().map(|e| format!("environment {e}")).unwrap_or_default()}</span>
                <label class="small">
                    "Microservice "
                    <input type="text" placeholder="all" data-testid="deploys-ms"
                        on:change=move |ev| ms.set(event_target_value(&ev).trim().to_string())/>
                </label>
            </div>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match versions.await {
                        Ok(m) => matrix(m).into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
            <h2>"Deploy history"</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        None => view! { <p class="empty">"No environment is configured."</p> }.into_any(),
                        Some(Err(e)) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        Some(Ok(l)) => table(l).into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// What runs where: a row per microservice, a column per environment, and
/// what promoting `from` → `to` would ship.
fn matrix(m: VersionMatrix) -> impl IntoView {
    let (from, to) = (m.from.clone(), m.to.clone());
    view! {
        <h2>"What runs where"</h2>
        <table class="deploys-table" data-testid="versions">
            <thead><tr>
                <th>"Microservice"</th>
                {m.envs.iter().map(|e| view! { <th>{e.clone()}</th> }).collect_view()}
                <th>{format!("{from} ahead of {to}")}</th>
            </tr></thead>
            <tbody>{m.rows.into_iter().map(|r| version_row(r, from.clone())).collect_view()}</tbody>
        </table>
    }
}

fn version_row(r: VersionRow, from: String) -> impl IntoView {
    let pending = r.pending.len();
    let oldest = r.pending.last().map(|c| c.at);
    let notes: Vec<String> = r.pending.iter().map(|c| format!("{} {} — {}", short(&c.sha), c.subject, c.author)).collect();
    let flag = r.to_never_ran_in_from.then(|| format!("runs an image that never ran in {from}"));
    view! {
        <tr data-testid="version-row" data-ms=r.ms.clone()>
            <td><strong>{r.ms.clone()}</strong></td>
            {r.cells.into_iter().map(|c| view! {
                <td data-env=c.env.clone()>
                    {c.tag.as_deref().map(|t| view! { <code>{short(t)}</code> })}
                    {c.commit.map(|a| view! { <div class="small muted" title=a.subject.clone()>{format!("{} · {}", a.author, when(&a.at))}</div> })}
                    {c.manifest_tag.map(|t| view! { <div class="badge warn" title="the manifests name another tag: not synced or not rolled out yet">{format!("→ {}", short(&t))}</div> })}
                </td>
            }).collect_view()}
            <td>
                {if pending == 0 { "—".to_string() } else { format!("{pending} commit(s), oldest {}", oldest.map(|t| when(&t)).unwrap_or_default()) }}
                {(!notes.is_empty()).then(|| view! { <details><summary class="small">"release notes"</summary><ul class="small">{notes.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul></details> })}
                {flag.map(|f| view! { <div class="badge warn">{f}</div> })}
            </td>
        </tr>
    }
}

fn table(l: DeployList) -> impl IntoView {
    let index = match (l.index.indexed_at, l.index.errors.is_empty()) {
        (None, _) => "indexing the repositories…".to_string(),
        (Some(t), true) => format!("{} commits indexed · repositories read {}", l.index.commits, fmt(&t, "%H:%M:%S UTC")),
        (Some(t), false) => format!("repositories read {} with errors: {}", fmt(&t, "%H:%M:%S UTC"), l.index.errors.join("; ")),
    };
    let failed = !l.index.errors.is_empty();
    view! {
        <p class=if failed { "error small" } else { "small muted" } data-testid="deploys-index">{index}</p>
        {if l.deploys.is_empty() {
            view! { <p class="empty">"No deploys found in the manifest repository for this environment."</p> }.into_any()
        } else {
            view! {
                <table class="deploys-table">
                    <thead><tr>
                        <th>"Microservice"</th><th>"App commit"</th><th>"Image tag"</th><th>"Manifest commit"</th>
                        <th>"Argo CD sync"</th><th>"Rollout"</th><th>"Lead time"</th>
                    </tr></thead>
                    <tbody>{l.deploys.into_iter().map(row).collect_view()}</tbody>
                </table>
            }.into_any()
        }}
    }
}

fn short(sha: &str) -> String {
    sha.chars().take(7).collect()
}

fn when(t: &chrono::DateTime<chrono::Utc>) -> String {
    fmt(t, "%Y-%m-%d %H:%M")
}

fn duration(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

fn row(d: Deploy) -> impl IntoView {
    let app = d.app.clone().map(|a| {
        let from = match a.source {
            LinkSource::Trailers => "from the manifest commit's trailers",
            LinkSource::AppRepo => "from the app repository",
        };
        view! {
            <code title=from>{short(&a.sha)}</code>" "{a.subject}
            <div class="small muted">{a.author}" · "{when(&a.at)}</div>
        }
    });
    let m = &d.manifest;
    let merged = m.merged_by.clone().map(|b| format!(" · merged by {b}")).unwrap_or_default();
    let manifest = view! {
        <code title=m.files.join("\n")>{short(&m.sha)}</code>" "{m.subject.clone()}
        <div class="small muted">{format!("{} · {}{merged}", m.author, when(&m.at))}</div>
    };
    let sync = match (&d.sync, d.before_observed) {
        (Some(s), _) => {
            let by = s.initiated_by.clone().unwrap_or_else(|| "automated".into());
            let also = (!s.also_deployed.is_empty()).then(|| format!(" · with {} more commit(s)", s.also_deployed.len()));
            view! { <span>{when(&s.finished_at)}</span><div class="small muted">{format!("#{} · {by}{}", s.id, also.unwrap_or_default())}</div> }.into_any()
        }
        (None, true) => view! { <span class="muted small" title="Argo CD keeps 10 history entries; this sync is older than what mezame observed">"before the observed history"</span> }.into_any(),
        (None, false) => view! { <span class="muted">"—"</span> }.into_any(),
    };
    let rollout = d.rollout.clone().map(|r| {
        let state = match (r.current, r.complete) {
            (true, true) => format!("all {} updated and available", r.replicas),
            (true, false) => format!("{}/{} ready", r.ready, r.replicas),
            (false, _) => "replaced since".into(),
        };
        view! { <code>{r.replica_set}</code><div class="small muted">{format!("revision {} · {state}", r.revision)}</div> }
    });
    let waiting = d.waiting.clone();
    let stopped = waiting.is_some();
    view! {
        <tr data-testid="deploy" data-ms=d.ms.clone() data-manifest=d.manifest.sha.clone() class:waiting=stopped>
            <td><strong>{d.ms.clone()}</strong></td>
            <td>{app}</td>
            <td><code>{short(&d.tag)}</code>{d.previous_tag.as_ref().map(|p| view! { <div class="small muted">{format!("was {}", short(p))}</div> })}</td>
            <td>{manifest}</td>
            <td>{sync}</td>
            <td>{rollout}</td>
            <td>
                {d.lead_time_secs.map(duration)}
                {waiting.map(|w| view! { <div class="badge warn" data-testid="deploy-waiting">{w}</div> })}
            </td>
        </tr>
    }
}
