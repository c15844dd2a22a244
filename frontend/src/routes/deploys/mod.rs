//! Deploys: per environment, newest first, each deploy's chain — app commit →
//! image tag → manifest commit → Argo CD sync → rollout — with the lead time
//! and, where a chain stops, why. Re-read whenever the server says it may
//! have changed (its `changed` events), so a CI run appears and fills in
//! without a reload. Promote (from the matrix), roll
//! back (from a deploy of the history) and lift a freeze go through
//! `change.rs`'s dialog.

pub(crate) mod change;
mod diff;
mod dora;

use change::{Ask, ChangeDialog};
use diff::{Compare, DiffPanel};
use dora::DoraPanel;
use leptos::prelude::*;
use mezame_shared::deploys::{Deploy, DeployChange, DeployList, Freeze, LinkSource, VersionMatrix, VersionRow};

use crate::api;
use crate::components::cues::reread_on_changes;
use crate::components::nav::env_or_first;
use crate::components::time::fmt;

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
    let asking = RwSignal::new(None::<Ask>);
    let done = RwSignal::new(None::<String>);
    let comparing = RwSignal::new(None::<Compare>);
    let cued = RwSignal::new(0u32);
    reread_on_changes(
        move || env.get().map(|e| api::deploy_events_url(&e)),
        move || {
            list.refetch();
            versions.refetch();
            cued.update(|n| *n += 1);
        },
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
            {move || done.get().map(|m| view! { <p class="notice" role="status" data-testid="deploy-done">{m}</p> })}
            <ChangeDialog asking done/>
            <DiffPanel comparing/>
            <DoraPanel env ms cued/>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match versions.await {
                        Ok(m) => matrix(m, asking).into_any(),
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
                        Some(Ok(l)) => table(l, (asking, comparing), done).into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// What runs where: a row per microservice, a column per environment, and
/// what promoting `from` → `to` would ship.
fn matrix(m: VersionMatrix, asking: RwSignal<Option<Ask>>) -> impl IntoView {
    let (from, to) = (m.from.clone(), m.to.clone());
    view! {
        <h2>"What runs where"</h2>
        <table class="deploys-table" data-testid="versions">
            <thead><tr>
                <th>"Microservice"</th>
                {m.envs.iter().map(|e| view! { <th>{e.clone()}</th> }).collect_view()}
                <th>{format!("{from} ahead of {to}")}</th>
            </tr></thead>
            <tbody>{m.rows.into_iter().map(|r| version_row(r, (from.clone(), to.clone()), asking)).collect_view()}</tbody>
        </table>
    }
}

fn version_row(r: VersionRow, (from, to): (String, String), asking: RwSignal<Option<Ask>>) -> impl IntoView {
    let pending = r.pending.len();
    // Offered when `from` runs app commits `to` does not (a tag that would take commits away is a rollback).
    let promotable = pending > 0;
    let ask = Ask::Promote { ms: r.ms.clone(), from: from.clone(), to: to.clone() };
    let promote = promotable.then(|| {
        view! { <button class="secondary small" data-testid="promote" on:click=move |_| asking.set(Some(ask.clone()))>{format!("Promote to {to}")}</button> }
    });
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
                {promote}
            </td>
        </tr>
    }
}

/// Changes waiting on a person's merge, and frozen promotions (with Lift).
fn waiting(pending: Vec<DeployChange>, freezes: Vec<Freeze>, done: RwSignal<Option<String>>) -> impl IntoView {
    let pending = pending
        .into_iter()
        .map(|c| {
            let text = format!(
                "{} {} → {} by {}: branch {}, waiting for a person to merge it",
                c.kind.as_str(),
                c.ms,
                short(&c.tag),
                c.by,
                c.branch.clone().unwrap_or_default()
            );
            view! { <li data-testid="deploy-pending">{text}</li> }
        })
        .collect_view();
    let freezes = freezes.into_iter().map(|f| freeze(f, done)).collect_view();
    view! { <ul class="deploy-waiting">{pending}{freezes}</ul> }
}

fn freeze(f: Freeze, done: RwSignal<Option<String>>) -> impl IntoView {
    let text = format!("promotions of {} frozen since {} by {} (rolled back to {}): {}", f.ms, when(&f.at), f.by, short(&f.tag), f.reason);
    let lift = Action::new_local(move |_: &()| {
        let (env, ms) = (f.env.clone(), f.ms.clone());
        async move {
            let said = match api::unfreeze(env, ms.clone(), None).await {
                Ok(()) => format!("promotions of {ms} are no longer frozen"),
                Err(e) => e.to_string(),
            };
            done.set(Some(said));
        }
    });
    view! {
        <li data-testid="deploy-freeze">{text}" "
            <button class="secondary small" data-testid="unfreeze" on:click=move |_| { lift.dispatch(()); }>"Lift the freeze"</button>
        </li>
    }
}

fn table(
    l: DeployList,
    (asking, comparing): (RwSignal<Option<Ask>>, RwSignal<Option<Compare>>),
    done: RwSignal<Option<String>>,
) -> impl IntoView {
    // Each deploy's next older one of the same microservice in the list: what "Changes" compares with.
    let older: Vec<Option<String>> = l
        .deploys
        .iter()
        .enumerate()
        .map(|(i, d)| l.deploys[i + 1..].iter().find(|o| o.ms == d.ms).map(|o| o.manifest.sha.clone()))
        .collect();
    // The tag each microservice's newest deploy set: an older deploy with another tag can be rolled back to.
    let mut newest = std::collections::HashMap::new();
    for d in &l.deploys {
        newest.entry(d.ms.clone()).or_insert_with(|| d.tag.clone());
    }
    let index = match (l.index.indexed_at, l.index.errors.is_empty()) {
        (None, _) => "indexing the repositories…".to_string(),
        (Some(t), true) => format!("{} commits indexed · repositories read {}", l.index.commits, fmt(&t, "%H:%M:%S UTC")),
        (Some(t), false) => format!("repositories read {} with errors: {}", fmt(&t, "%H:%M:%S UTC"), l.index.errors.join("; ")),
    };
    let failed = !l.index.errors.is_empty();
    let waits = waiting(l.pending, l.freezes, done);
    view! {
        <p class=if failed { "error small" } else { "small muted" } data-testid="deploys-index">{index}</p>
        {waits}
        {if l.deploys.is_empty() {
            view! { <p class="empty">"No deploys found in the manifest repository for this environment."</p> }.into_any()
        } else {
            view! {
                <table class="deploys-table">
                    <thead><tr>
                        <th>"Microservice"</th><th>"App commit"</th><th>"Image tag"</th><th>"Manifest commit"</th>
                        <th>"Argo CD sync"</th><th>"Rollout"</th><th>"Lead time"</th><th></th>
                    </tr></thead>
                    <tbody>{l.deploys.into_iter().zip(older).map(|(d, older)| {
                        let back = (newest.get(&d.ms) != Some(&d.tag))
                            .then(|| Ask::Rollback { env: d.env.clone(), ms: d.ms.clone(), to_deploy: d.manifest.sha.clone(), tag: d.tag.clone() });
                        let compare = older.map(|o| (d.env.clone(), d.ms.clone(), o, d.manifest.sha.clone()));
                        row(d, (back, compare), (asking, comparing))
                    }).collect_view()}</tbody>
                </table>
            }.into_any()
        }}
    }
}

/// A sha or tag as shown: its first 7 characters.
fn short(sha: &str) -> String {
    sha.chars().take(7).collect()
}

fn when(t: &chrono::DateTime<chrono::Utc>) -> String {
    fmt(t, "%Y-%m-%d %H:%M")
}

pub(crate) fn duration(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

fn row(
    d: Deploy,
    (back, compare): (Option<Ask>, Option<Compare>),
    (asking, comparing): (RwSignal<Option<Ask>>, RwSignal<Option<Compare>>),
) -> impl IntoView {
    let changes = compare.map(|c| {
        view! {
            <button class="secondary small" data-testid="changes" on:click=move |_| comparing.set(Some(c.clone()))>"Changes"</button>
        }
    });
    let rollback = back.map(|ask| view! {
        <button class="secondary small" data-testid="rollback" on:click=move |_| asking.set(Some(ask.clone()))>"Roll back to this"</button>
    });
    let action = d.manifest.action.clone().map(|a| {
        let text = match (&a.reason, &a.from) {
            (Some(r), _) => format!("{} by {}: {r}", a.kind.as_str(), a.by),
            (None, Some(f)) => format!("{} from {f} by {}", a.kind.as_str(), a.by),
            (None, None) => format!("{} by {}", a.kind.as_str(), a.by),
        };
        view! { <div class="badge" data-testid="deploy-action">{text}</div> }
    });
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
        {action}
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
            <td>{changes}{rollback}</td>
        </tr>
    }
}
