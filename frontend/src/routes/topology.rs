//! Topology: what runs where in one environment, live. The graph, with
//! search and filters (health, namespace, audit finding, collapse healthy)
//! that keep working at hundreds of microservices.

use std::sync::Arc;

use leptos::prelude::*;
use mezame_shared::topology::{Check, Health, Microservice, Topology};

use crate::components::graph::{Graph, Shown};
use crate::components::live::{Conn, LiveTopology};

#[derive(Clone, Default, PartialEq)]
struct Filters {
    search: String,
    unhealthy_only: bool,
    namespace: String,
    finding: String,
    collapse_healthy: bool,
}

impl Filters {
    /// The rows kept by the filters, in order.
    fn shown(&self, services: &[Arc<Microservice>]) -> Vec<Shown> {
        let search = self.search.trim().to_lowercase();
        services.iter().filter(|m| self.keep(&search, m)).map(|m| Shown { key: m.key(), internal: m.internal }).collect()
    }

    fn keep(&self, search: &str, m: &Microservice) -> bool {
        (search.is_empty()
            || m.name.contains(search)
            || m.routes.iter().any(|r| r.prefix.contains(search))
            || m.workload.image_tag.as_deref().is_some_and(|t| t.starts_with(search)))
            && (!self.unhealthy_only || !matches!(m.health, Health::Healthy | Health::Idle))
            && (self.namespace.is_empty() || m.namespace == self.namespace)
            && (self.finding.is_empty()
                || (self.finding == "any" && !m.findings.is_empty())
                || m.findings.iter().any(|f| f.check.as_str() == self.finding))
            && (!self.collapse_healthy || m.health != Health::Healthy || !m.findings.is_empty())
    }
}

/// The page of `env`'s `live` topology (both made by the lazy route, before
/// this page's code was loaded: see `routes::lazy`).
#[component]
pub fn TopologyPage(env: Signal<Option<String>>, live: LiveTopology) -> impl IntoView {
    let filters = RwSignal::new(Filters::default());
    let shown = Memo::new(move |_| filters.with(|f| live.topology.with(|t| t.as_ref().map(|t| f.shown(&t.services)).unwrap_or_default())));
    let hidden =
        Signal::derive(move || live.topology.with(|t| t.as_ref().map_or(0, |t| t.services.len())).saturating_sub(shown.with(Vec::len)));
    let loaded = Memo::new(move |_| live.topology.with(Option::is_some));
    let unresolved = Memo::new(move |_| live.topology.with(|t| t.as_ref().map(|t| t.unresolved.clone()).unwrap_or_default()));
    view! {
        <section class="topology">
            <div class="page-title">
                <h1>"Topology"</h1>
                <span class="hint">{move || env.get().map(|e| format!("environment {e}")).unwrap_or_default()}</span>
                <Status live_conn=live.conn topology=live.topology/>
            </div>
            {move || match env.get() {
                None => view! { <p class="empty">"No environment is configured; see Environments."</p> }.into_any(),
                Some(_) => view! { <FilterBar filters topology=live.topology/> }.into_any(),
            }}
            {move || live.topology.with(|t| t.as_ref().map(summary))}
            // Mounted once per environment; it follows the rows itself.
            {move || env.get().filter(|_| loaded.get()).map(|env| view! {
                <Graph env live shown hidden/>
            })}
            {move || unresolved.with(|u| (!u.is_empty()).then(|| view! {
                <div class="problems" role="alert">
                    <h2>"Mappings to missing Services"</h2>
                    <ul>{u.iter().map(|r| view! {
                        <li><code>{r.mapping.clone()}</code>" → "<code>{r.service.clone()}</code>" (no such Service)"</li>
                    }).collect_view()}</ul>
                </div>
            }))}
        </section>
    }
}

#[component]
fn Status(live_conn: RwSignal<Conn>, topology: RwSignal<Option<Topology>>) -> impl IntoView {
    let source = Memo::new(move |_| topology.with(|t| t.as_ref().map(|t| t.source.clone())));
    move || {
        match (live_conn.get(), source.get()) {
        (Conn::Failed(why), _) => view! { <span class="status down" data-testid="status" role="alert">{why}</span> }.into_any(),
        (Conn::Connecting, _) | (_, None) => view! { <span class="status muted" data-testid="status">"connecting…"</span> }.into_any(),
        (Conn::Reconnecting, _) => view! { <span class="status degraded" data-testid="status">"connection to mezame lost, retrying…"</span> }.into_any(),
        (Conn::Live, Some(s)) if !s.connected => view! {
            <span class="status down" data-testid="status" role="alert">
                {format!("environment down: {} (showing the last known state)", s.error.unwrap_or_default())}
            </span>
        }.into_any(),
        (Conn::Live, Some(s)) if !s.synced => view! { <span class="status muted" data-testid="status">"loading the cluster…"</span> }.into_any(),
        (Conn::Live, Some(s)) => view! {
            <span class="status healthy" data-testid="status">"live"</span>
            {s.kinds.into_iter().map(|k| { let title = k.message.clone(); view! { <span class="status degraded" title=title>{k.message}</span> } }).collect_view()}
        }.into_any(),
    }
    }
}

fn summary(t: &Topology) -> impl IntoView + use<> {
    let count = |h: Health| t.services.iter().filter(|m| m.health == h).count();
    let findings = t.services.iter().filter(|m| !m.findings.is_empty()).count();
    let pods: usize = t.services.iter().map(|m| m.pods.len()).sum();
    view! {
        <p class="summary" data-testid="summary">
            {format!(
                "{} microservices · {} pods · {} healthy · {} progressing · {} degraded · {} down · {} idle · {} with zero-downtime findings",
                t.services.len(), pods, count(Health::Healthy), count(Health::Progressing),
                count(Health::Degraded), count(Health::Down), count(Health::Idle), findings
            )}
        </p>
    }
}

#[component]
fn FilterBar(filters: RwSignal<Filters>, topology: RwSignal<Option<Topology>>) -> impl IntoView {
    let namespaces = Memo::new(move |_| {
        let mut ns: Vec<String> = topology.with(|t| t.iter().flat_map(|t| t.services.iter().map(|m| m.namespace.clone())).collect());
        ns.sort();
        ns.dedup();
        ns
    });
    view! {
        <div class="filters">
            <input type="search" placeholder="Search name, prefix or image tag" aria-label="Search"
                prop:value=move || filters.with(|f| f.search.clone())
                on:input=move |ev| filters.update(|f| f.search = event_target_value(&ev))/>
            <label><input type="checkbox" prop:checked=move || filters.with(|f| f.unhealthy_only)
                on:change=move |ev| filters.update(|f| f.unhealthy_only = event_target_checked(&ev))/>" unhealthy only"</label>
            <label><input type="checkbox" prop:checked=move || filters.with(|f| f.collapse_healthy)
                on:change=move |ev| filters.update(|f| f.collapse_healthy = event_target_checked(&ev))/>" collapse healthy"</label>
            <select aria-label="Namespace" on:change=move |ev| filters.update(|f| f.namespace = event_target_value(&ev))>
                <option value="">"all namespaces"</option>
                {move || namespaces.get().into_iter().map(|n| view! { <option value=n.clone()>{n.clone()}</option> }).collect_view()}
            </select>
            <select aria-label="Audit finding" on:change=move |ev| filters.update(|f| f.finding = event_target_value(&ev))>
                <option value="">"any audit result"</option>
                <option value="any">"with a finding"</option>
                {Check::ALL.iter().map(|c| view! { <option value=c.as_str()>{format!("missing: {}", c.label())}</option> }).collect_view()}
            </select>
        </div>
    }
}
