//! One microservice: pods (node, node group, capacity type, zone, status,
//! restarts, age, image), its HPA with the formula filled in, the
//! zero-downtime audit with the fix, Argo CD state, rollout history and
//! recent events. The service itself stays live through the topology stream.

use chrono::Utc;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use mezame_shared::topology::{ArgoApp, Hpa, Microservice, PodFields, ServiceDetail};

use crate::api;
use crate::components::graph::{health_class, pod_class};
use crate::components::live::use_live_topology;
use crate::components::nav::{env_or_first, with_env};

#[component]
pub fn ServicePage() -> impl IntoView {
    let params = use_params_map();
    let name = Memo::new(move |_| params.read().get("name").unwrap_or_default());
    let env = env_or_first();
    let live = use_live_topology(env, PodFields::Full);
    let detail = LocalResource::new(move || {
        let (env, name) = (env.get(), name.get());
        async move {
            match env {
                Some(env) => Some(api::get_service(env, name).await),
                None => None,
            }
        }
    });
    // The live entry, once the stream has it; else the fetched one.
    let service = move || {
        let n = name.get();
        live.topology
            .with(|t| t.as_ref().and_then(|t| t.services.iter().find(|m| m.name == n).map(|m| Microservice::clone(m))))
            .or_else(|| detail.get().flatten().and_then(|d| d.ok()).map(|d| d.service))
    };
    view! {
        <section class="service">
            <p><a href=move || with_env("/topology", env.get().as_deref())>"← Topology"</a></p>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match detail.await {
                        None => view! { <p class="empty">"No environment is configured."</p> }.into_any(),
                        Some(Err(e)) => view! { <p class="error" role="alert" data-testid="not-found">{e.to_string()}</p> }.into_any(),
                        Some(Ok(d)) => view! {
                            {move || service().map(|m| view! { <Overview m/> })}
                            <History d=d.clone()/>
                            <Events d/>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn Overview(m: Microservice) -> impl IntoView {
    let w = m.workload.clone();
    view! {
        <div class="page-title">
            <h1>{m.name.clone()}</h1>
            <span class=format!("badge {}", health_class(m.health)) data-testid="health">{health_class(m.health)}</span>
            <span class="hint">{format!("namespace {} · {}/{} ready · {} updated · image {}", m.namespace, w.ready, w.desired, w.updated, w.image_tag.clone().unwrap_or_default())}</span>
        </div>
        {(!m.problems.is_empty()).then(|| view! {
            <ul class="problems" role="alert">{m.problems.iter().map(|p| view! { <li>{p.clone()}</li> }).collect_view()}</ul>
        })}
        <div class="cards">
            <div class="card">
                <h2>"Routes"</h2>
                {if m.routes.is_empty() {
                    view! { <p class="muted">"Internal: no Ambassador Mapping routes to it."</p> }.into_any()
                } else {
                    view! { <ul>{m.routes.iter().map(|r| view! {
                        <li><code>{format!("{}{}", r.host.clone().unwrap_or_default(), r.prefix)}</code>" → "<code>{r.resolved.clone()}</code>
                            {r.rewrite.clone().map(|rw| format!(" (rewrite {rw})"))}</li>
                    }).collect_view()}</ul> }.into_any()
                }}
            </div>
            {m.argo.clone().map(|a| view! { <Argo a/> })}
            {m.hpa.clone().map(|h| view! { <HpaBlock h/> })}
        </div>
        <h2>"Zero-downtime audit"</h2>
        {if m.findings.is_empty() {
            view! { <p class="ok" data-testid="audit-ok">"Follows the recipe: readiness probe, maxUnavailable 0, preStop ≥ 5 s, ≥ 2 replicas, PodDisruptionBudget, spread over nodes."</p> }.into_any()
        } else {
            view! { <table class="table" data-testid="findings">
                <thead><tr><th>"Check"</th><th>"Why it matters"</th><th>"Fix: change"</th></tr></thead>
                <tbody>{m.findings.iter().map(|f| view! {
                    <tr data-check=f.check.as_str()><td>{f.check.label()}</td><td>{f.reason.clone()}</td><td><code>{f.field.clone()}</code></td></tr>
                }).collect_view()}</tbody>
            </table> }.into_any()
        }}
        <h2>"Pods"</h2>
        <table class="table" data-testid="pods">
            <thead><tr><th>"Pod"</th><th>"Status"</th><th>"Node"</th><th>"Node group"</th><th>"Capacity"</th>
                <th>"Zone"</th><th>"Restarts"</th><th>"Age"</th><th>"Image"</th></tr></thead>
            <tbody>{m.pods.iter().map(|p| view! {
                <tr>
                    <td>{p.name.clone()}</td>
                    <td><span class=format!("dot {}", pod_class(p))></span>{format!(" {}{}", p.phase, if p.ready { ", ready" } else { "" })}</td>
                    <td>{p.node.clone().unwrap_or_default()}</td>
                    <td>{p.node_group.clone().unwrap_or_default()}</td>
                    <td>{p.capacity_type.clone().unwrap_or_default()}</td>
                    <td>{p.zone.clone().unwrap_or_default()}</td>
                    <td>{p.restarts}</td>
                    <td>{p.created.map(|c| age(Utc::now() - c)).unwrap_or_default()}</td>
                    <td><code class="small">{p.image.clone().unwrap_or_default()}</code></td>
                </tr>
            }).collect_view()}</tbody>
        </table>
    }
}

#[component]
fn Argo(a: ArgoApp) -> impl IntoView {
    view! {
        <div class="card" data-testid="argo">
            <h2>"Argo CD"</h2>
            <p>{format!("Application {} · {} · {}", a.name, a.sync, a.health)}</p>
            <p class="muted small">{format!("revision {} · auto-sync {} · self-heal {}",
                a.revision.clone().unwrap_or_default().chars().take(10).collect::<String>(),
                if a.auto_sync { "on" } else { "off" }, if a.self_heal { "on" } else { "off" })}</p>
        </div>
    }
}

#[component]
fn HpaBlock(h: Hpa) -> impl IntoView {
    let formula = match (h.value, h.target, h.computed) {
        (Some(v), Some(t), Some(c)) => format!(
            "ceil({} × {} / {}) = {} → clamped to [{}, {}] = {}",
            h.current,
            trim(v),
            trim(t),
            c,
            h.min,
            h.max,
            c.clamp(h.min, h.max)
        ),
        _ => format!(
            "ceil({} × ? / {}) — {}",
            h.current,
            h.target.map(trim).unwrap_or_else(|| "?".into()),
            h.condition.clone().unwrap_or_else(|| "no metric value".into())
        ),
    };
    view! {
        <div class="card" data-testid="hpa">
            <h2>"Autoscaling"</h2>
            <p>{format!("HPA {} · min {} · max {} · current {} · desired {}", h.name, h.min, h.max, h.current, h.desired)}</p>
            <p class="small">{format!("metric {} · target {} {}", h.metric.clone().unwrap_or_default(),
                h.target_type.clone().unwrap_or_default(), h.target.map(trim).unwrap_or_default())}</p>
            <p><code data-testid="hpa-formula">{formula}</code></p>
        </div>
    }
}

#[component]
fn History(d: ServiceDetail) -> impl IntoView {
    view! {
        <h2>"Rollout history"</h2>
        <table class="table">
            <thead><tr><th>"Revision"</th><th>"ReplicaSet"</th><th>"Image"</th><th>"Replicas"</th><th>"Created"</th></tr></thead>
            <tbody>{d.history.into_iter().map(|r| view! {
                <tr><td>{r.revision}</td><td>{r.replica_set}</td><td><code class="small">{r.images.join(", ")}</code></td>
                    <td>{format!("{}/{}", r.ready, r.replicas)}</td>
                    <td>{r.created.map(|c| crate::components::time::fmt(&c, "%Y-%m-%d %H:%M")).unwrap_or_default()}</td></tr>
            }).collect_view()}</tbody>
        </table>
    }
}

#[component]
fn Events(d: ServiceDetail) -> impl IntoView {
    view! {
        <h2>"Recent events"</h2>
        {d.events_error.map(|e| view! { <p class="error">{format!("events could not be read: {e}")}</p> })}
        {if d.events.is_empty() {
            view! { <p class="muted">"No recent events."</p> }.into_any()
        } else {
            view! { <table class="table" data-testid="events">
                <thead><tr><th>"When (UTC)"</th><th>"Type"</th><th>"Reason"</th><th>"Object"</th><th>"Message"</th></tr></thead>
                <tbody>{d.events.into_iter().map(|e| {
                    let class = if e.kind == "Warning" { "warn" } else { "" };
                    view! {
                    <tr class=class>
                        <td>{e.at.map(|a| crate::components::time::fmt(&a, "%m-%d %H:%M:%S")).unwrap_or_default()}</td>
                        <td>{e.kind}</td><td>{e.reason}</td><td>{e.object}</td>
                        <td>{if e.count > 1 { format!("{} (×{})", e.message, e.count) } else { e.message }}</td>
                    </tr>
                }}).collect_view()}</tbody>
            </table> }.into_any()
        }}
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `3d`, `5h`, `12m`, `40s`.
pub fn age(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        s if s >= 86_400 => format!("{}d", s / 86_400),
        s if s >= 3_600 => format!("{}h", s / 3_600),
        s if s >= 60 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}
