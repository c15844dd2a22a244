//! The topology graph: an SVG drawn left to right — load balancer (Ingress)
//! → gateway (Ambassador) → microservices → their pods as dots grouped by
//! node group, coloured by health. Rows are keyed, so a delta re-draws only
//! the rows that changed.

use leptos::prelude::*;
use mezame_shared::topology::{Gateway, Health, Ingress, Microservice, Pod};

use super::nav::with_env;

pub const ROW: f64 = 30.0;
const TOP: f64 = 40.0;
const X_LB: f64 = 10.0;
const X_GW: f64 = 240.0;
const X_MS: f64 = 530.0;
const MS_W: f64 = 300.0;
const X_PODS: f64 = 860.0;
const BOX_W: f64 = 200.0;

pub fn health_class(h: Health) -> &'static str {
    match h {
        Health::Healthy => "healthy",
        Health::Progressing => "progressing",
        Health::Degraded => "degraded",
        Health::Down => "down",
        Health::Idle => "idle",
    }
}

pub fn pod_class(p: &Pod) -> &'static str {
    match p.phase.as_str() {
        "Running" if p.ready => "pod-ready",
        "Running" | "Pending" => "pod-starting",
        "Terminating" => "pod-terminating",
        "Succeeded" => "pod-done",
        _ => "pod-failed",
    }
}

/// A short label for a node group: `system`, `spot` (capacity), or `?`.
fn group_label(p: &Pod) -> String {
    match (&p.node_group, &p.capacity_type) {
        (Some(g), _) => g.clone(),
        (None, Some(c)) => c.to_lowercase(),
        (None, None) if p.node.is_none() => "unscheduled".into(),
        _ => "other".into(),
    }
}

#[component]
pub fn Graph(
    env: String,
    ingresses: Vec<Ingress>,
    gateways: Vec<Gateway>,
    rows: Vec<Microservice>,
    /// Microservices hidden by the filters (shown as a count).
    hidden: usize,
) -> impl IntoView {
    let height = TOP + ROW * (rows.len().max(3) as f64) + 40.0;
    let gw_y = TOP;
    let routed: Vec<f64> = rows.iter().enumerate().filter(|(_, m)| !m.internal).map(|(i, _)| TOP + ROW * i as f64).collect();
    let lb = ingresses.first().cloned();
    let gw = gateways.first().cloned();
    let keyed: Vec<(usize, Microservice)> = rows.into_iter().enumerate().collect();
    view! {
        <svg class="graph" role="img" aria-label="Topology graph" width="100%"
            viewBox=format!("0 0 1200 {height}") height=height data-testid="graph">
            <text class="col-title" x=X_LB y=20>"Load balancer"</text>
            <text class="col-title" x=X_GW y=20>"Gateway"</text>
            <text class="col-title" x=X_MS y=20>"Microservices"</text>
            <text class="col-title" x=X_PODS y=20>"Pods by node group"</text>
            {routed.iter().map(|y| view! {
                <path class="edge" d=format!("M{} {} C{} {} {} {} {} {}", X_GW + BOX_W, gw_y + 22.0,
                    X_GW + BOX_W + 40.0, gw_y + 22.0, X_MS - 40.0, y + 12.0, X_MS, y + 12.0)/>
            }).collect_view()}
            {lb.map(|i| {
                let problem = !i.problems.is_empty();
                view! {
                    <g class=if problem { "node lb degraded" } else { "node lb healthy" } data-testid="ingress">
                        <title>{i.problems.join("\n")}</title>
                        <rect x=X_LB y=gw_y width=BOX_W height=56 rx=6/>
                        <text x=X_LB + 8.0 y=gw_y + 18.0 class="strong">{format!("ALB · {}", i.class.clone().unwrap_or_default())}</text>
                        <text x=X_LB + 8.0 y=gw_y + 34.0 data-testid="ingress-host" textLength=fit(i.hosts.first().map_or(0, |h| h.chars().count())) lengthAdjust="spacingAndGlyphs">{i.hosts.first().cloned().unwrap_or_default()}</text>
                        <text x=X_LB + 8.0 y=gw_y + 50.0 class="muted small">{short(&i.address.clone().unwrap_or_else(|| "no address yet".into()), 30)}<title>{i.address.clone()}</title></text>
                    </g>
                    <path class="edge" d=format!("M{} {} L{} {}", X_LB + BOX_W, gw_y + 22.0, X_GW, gw_y + 22.0)/>
                }
            })}
            {gw.map(|g| {
                let ok = g.problems.is_empty();
                let ready = g.pods.iter().filter(|p| p.ready).count();
                let total = g.pods.len();
                view! {
                    <g class=if ok { "node gw healthy" } else { "node gw down" } data-testid="gateway">
                        <title>{g.problems.join("\n")}</title>
                        <rect x=X_GW y=gw_y width=BOX_W height=56 rx=6/>
                        <text x=X_GW + 8.0 y=gw_y + 18.0 class="strong">{format!("{} (Ambassador)", g.service)}</text>
                        <text x=X_GW + 8.0 y=gw_y + 34.0>{format!("{ready}/{total} pods ready")}</text>
                        {g.pods.iter().enumerate().map(|(i, p)| view! {
                            <circle class=pod_class(p) cx=X_GW + 12.0 + 12.0 * i as f64 cy=gw_y + 46.0 r=4>
                                <title>{format!("{} · {}", p.name, p.node.clone().unwrap_or_default())}</title>
                            </circle>
                        }).collect_view()}
                    </g>
                }
            })}
            <For each=move || keyed.clone() key=|(i, m)| (*i, row_key(m)) let:item>
                <Row env=env.clone() index=item.0 m=item.1/>
            </For>
            {(hidden > 0).then(|| view! {
                <text class="muted" x=X_MS y=height - 12.0>{format!("{hidden} more hidden by the filters")}</text>
            })}
        </svg>
    }
}

/// Inside a box: a `textLength` that squeezes a text of `chars` characters
/// into the box when it would overflow it (none otherwise).
fn fit(chars: usize) -> Option<f64> {
    const CHAR_W: f64 = 6.6;
    let room = BOX_W - 16.0;
    (chars as f64 * CHAR_W > room).then_some(room)
}

/// `text` cut to `max` characters, with an ellipsis.
fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max { text.to_string() } else { format!("{}…", text.chars().take(max - 1).collect::<String>()) }
}

/// A key that changes whenever anything shown in the row changes.
fn row_key(m: &Microservice) -> String {
    serde_json::to_string(m).unwrap_or_default()
}

#[component]
fn Row(env: String, index: usize, m: Microservice) -> impl IntoView {
    let y = TOP + ROW * index as f64;
    let href = with_env(&format!("/services/{}", m.name), Some(&env));
    let navigate = leptos_router::hooks::use_navigate();
    let open = move || navigate(&href, Default::default());
    let open_key = open.clone();
    let w = &m.workload;
    let mut groups: Vec<(String, Vec<Pod>)> = Vec::new();
    for p in &m.pods {
        let g = group_label(p);
        match groups.iter_mut().find(|(name, _)| *name == g) {
            Some((_, v)) => v.push(p.clone()),
            None => groups.push((g, vec![p.clone()])),
        }
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    let mut x = X_PODS;
    let pods = groups
        .into_iter()
        .map(|(g, pods)| {
            let x0 = x;
            x += 8.0 * g.len() as f64 + 10.0 * pods.len() as f64 + 16.0;
            view! {
                <g class="pod-group" data-group=g.clone()>
                    <text class="muted small" x=x0 y=y + 16.0>{g.clone()}</text>
                    {pods.iter().enumerate().map(|(i, p)| view! {
                        <circle class=pod_class(p) data-pod=p.name.clone() cx=x0 + 8.0 * g.len() as f64 + 6.0 + 10.0 * i as f64 cy=y + 12.0 r=4>
                            <title>{format!("{} · {} · {}", p.name, p.phase, p.node.clone().unwrap_or_default())}</title>
                        </circle>
                    }).collect_view()}
                </g>
            }
        })
        .collect_view();
    let findings = m.findings.len();
    let checks = m.findings.iter().map(|f| f.check.as_str()).collect::<Vec<_>>().join(",");
    view! {
        // SVG has no HTML links: the row is a focusable element that navigates.
        <g class=format!("node ms ms-link {}", health_class(m.health)) data-testid="ms" data-name=m.name.clone()
                data-health=health_class(m.health) data-findings=checks role="link" tabindex="0"
                on:click=move |_| open() on:keydown=move |ev| if ev.key() == "Enter" { open_key() }>
                <title>{m.problems.join("\n")}</title>
                <rect x=X_MS y=y width=MS_W height=24 rx=4/>
                <text x=X_MS + 8.0 y=y + 16.0 class="strong">{m.name.clone()}</text>
                <text x=X_MS + 170.0 y=y + 16.0 data-testid="replicas">{format!("{}/{}", w.ready, w.desired)}</text>
                <text x=X_MS + 206.0 y=y + 16.0 class="muted small">{w.image_tag.clone().map(|t| t.chars().take(7).collect::<String>()).unwrap_or_default()}</text>
                {(findings > 0).then(|| view! {
                    <text x=X_MS + MS_W - 8.0 y=y + 16.0 class="finding-badge" text-anchor="end">{format!("⚠{findings}")}</text>
                })}
                {m.internal.then(|| view! { <text x=X_MS - 8.0 y=y + 16.0 class="muted small" text-anchor="end">"internal"</text> })}
        </g>
        {pods}
    }
}
