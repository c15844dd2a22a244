//! The topology graph: an SVG drawn left to right — load balancer (Ingress)
//! → gateway (Ambassador) → microservices → their pods as dots grouped by
//! node group, coloured by health. Each row follows its microservice's own
//! signal, so a delta re-draws only the rows that changed.

use std::sync::Arc;

use leptos::prelude::*;
use mezame_shared::topology::{Gateway, Health, Ingress, Microservice, Pod};

use super::live::LiveTopology;
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

/// A row the page shows, in order: which microservice, and whether it is
/// internal (no edge from the gateway).
#[derive(Clone, PartialEq)]
pub struct Shown {
    pub key: String,
    pub internal: bool,
}

/// Rows drawn beyond each edge of the visible part, so a scroll shows rows
/// already drawn.
const OVERSCAN: usize = 30;

/// The graph of the rows in `shown`, in its own scrolling box. Mounted once
/// per environment: the load balancer and gateway boxes re-draw when they
/// change, a row when its microservice changes, and the list when rows come,
/// go or move. Only the rows in view (and [`OVERSCAN`] around) are drawn:
/// at 500 microservices and 10,000 pods the page holds a tenth of the graph.
#[component]
pub fn Graph(
    env: String,
    live: LiveTopology,
    shown: Memo<Vec<Shown>>,
    /// Microservices hidden by the filters (shown as a count).
    hidden: Signal<usize>,
) -> impl IntoView {
    let height = Memo::new(move |_| TOP + ROW * (shown.with(Vec::len).max(3) as f64) + 40.0);
    let lb = Memo::new(move |_| live.topology.with(|t| t.as_ref().and_then(|t| t.ingresses.first().cloned())));
    let gw = Memo::new(move |_| live.topology.with(|t| t.as_ref().and_then(|t| t.gateways.first().cloned())));
    let view_box = RwSignal::new(View::default());
    let rows = Memo::new(move |_| view_box.with(View::rows));
    let scroller = NodeRef::<leptos::html::Div>::new();
    let measure = move || {
        if let Some(el) = scroller.get_untracked() {
            view_box.set(View::of(&el));
        }
    };
    Effect::new(move |_| {
        // Once mounted; again on a resize of the window.
        if scroller.get().is_some() {
            measure();
        }
    });
    let resize = window_event_listener(leptos::ev::resize, move |_| measure());
    on_cleanup(move || resize.remove());
    let windowed = move || {
        let (first, last) = rows.get();
        shown.with(|all| {
            all.iter().enumerate().skip(first).take(last.saturating_sub(first)).map(|(i, s)| (i, s.clone())).collect::<Vec<_>>()
        })
    };
    view! {
        <div class="graph-scroll" node_ref=scroller on:scroll=move |_| measure()>
        <svg class="graph" role="img" aria-label="Topology graph" width="100%" preserveAspectRatio="xMinYMin meet"
            viewBox=move || format!("0 0 {WIDTH} {}", height.get()) height=move || height.get() data-testid="graph">
            <text class="col-title" x=X_LB y=20>"Load balancer"</text>
            <text class="col-title" x=X_GW y=20>"Gateway"</text>
            <text class="col-title" x=X_MS y=20>"Microservices"</text>
            <text class="col-title" x=X_PODS y=20>"Pods by node group"</text>
            {move || windowed().into_iter().filter(|(_, s)| !s.internal).map(|(i, _)| edge(TOP + ROW * i as f64)).collect_view()}
            {move || lb.get().map(load_balancer)}
            {move || gw.get().map(gateway)}
            <For each=windowed key=|(i, s)| (*i, s.key.clone())
                children=move |(index, s)| live.row(&s.key).map(|m| view! { <Row env=env.clone() index m/> })/>
            {move || (hidden.get() > 0).then(|| view! {
                <text class="muted" x=X_MS y=height.get() - 12.0>{format!("{} more hidden by the filters", hidden.get())}</text>
            })}
        </svg>
        </div>
    }
}

/// Width of the graph in its own units.
const WIDTH: f64 = 1200.0;

/// The part of the graph in view: its top and height in the graph's units.
#[derive(Clone, Copy, PartialEq)]
struct View {
    top: f64,
    height: f64,
}

impl Default for View {
    /// Before the box is measured: a screenful.
    fn default() -> View {
        View { top: 0.0, height: 1200.0 }
    }
}

impl View {
    fn of(el: &web_sys::HtmlElement) -> View {
        // The SVG is as wide as its box and scaled down (never up) to fit it.
        let scale = (f64::from(el.client_width()) / WIDTH).clamp(0.1, 1.0);
        View { top: f64::from(el.scroll_top()) / scale, height: f64::from(el.client_height().max(1)) / scale }
    }

    /// The range of rows to draw: those in view, and [`OVERSCAN`] around.
    fn rows(&self) -> (usize, usize) {
        let first = ((self.top - TOP) / ROW).floor().max(0.0) as usize;
        let last = ((self.top + self.height - TOP) / ROW).ceil().max(0.0) as usize;
        (first.saturating_sub(OVERSCAN), last + OVERSCAN)
    }
}

/// The edge from the gateway to the row at `y`.
fn edge(y: f64) -> impl IntoView {
    let from = TOP + 22.0;
    view! {
        <path class="edge" d=format!("M{} {} C{} {} {} {} {} {}", X_GW + BOX_W, from,
            X_GW + BOX_W + 40.0, from, X_MS - 40.0, y + 12.0, X_MS, y + 12.0)/>
    }
}

fn load_balancer(i: Ingress) -> impl IntoView {
    let problem = !i.problems.is_empty();
    let y = TOP;
    view! {
        <g class=if problem { "node lb degraded" } else { "node lb healthy" } data-testid="ingress">
            <title>{i.problems.join("\n")}</title>
            <rect x=X_LB y=y width=BOX_W height=56 rx=6/>
            <text x=X_LB + 8.0 y=y + 18.0 class="strong">{format!("ALB · {}", i.class.clone().unwrap_or_default())}</text>
            <text x=X_LB + 8.0 y=y + 34.0 data-testid="ingress-host" textLength=fit(i.hosts.first().map_or(0, |h| h.chars().count())) lengthAdjust="spacingAndGlyphs">{i.hosts.first().cloned().unwrap_or_default()}</text>
            <text x=X_LB + 8.0 y=y + 50.0 class="muted small">{short(&i.address.clone().unwrap_or_else(|| "no address yet".into()), 30)}<title>{i.address.clone()}</title></text>
        </g>
        <path class="edge" d=format!("M{} {} L{} {}", X_LB + BOX_W, y + 22.0, X_GW, y + 22.0)/>
    }
}

fn gateway(g: Gateway) -> impl IntoView {
    let ok = g.problems.is_empty();
    let ready = g.pods.iter().filter(|p| p.ready).count();
    let total = g.pods.len();
    let y = TOP;
    view! {
        <g class=if ok { "node gw healthy" } else { "node gw down" } data-testid="gateway">
            <title>{g.problems.join("\n")}</title>
            <rect x=X_GW y=y width=BOX_W height=56 rx=6/>
            <text x=X_GW + 8.0 y=y + 18.0 class="strong">{format!("{} (Ambassador)", g.service)}</text>
            <text x=X_GW + 8.0 y=y + 34.0>{format!("{ready}/{total} pods ready")}</text>
            {g.pods.iter().enumerate().map(|(i, p)| view! {
                <circle class=pod_class(p) cx=X_GW + 12.0 + 12.0 * i as f64 cy=y + 46.0 r=4>
                    <title>{format!("{} · {}", p.name, p.node.clone().unwrap_or_default())}</title>
                </circle>
            }).collect_view()}
        </g>
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

/// One row, re-drawn when its microservice's signal changes.
#[component]
fn Row(env: String, index: usize, m: ArcRwSignal<Arc<Microservice>>) -> impl IntoView {
    move || m.with(|m| row(&env, index, m))
}

fn row(env: &str, index: usize, m: &Microservice) -> impl IntoView + use<> {
    let y = TOP + ROW * index as f64;
    let href = with_env(&format!("/services/{}", m.name), Some(env));
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
                // One tooltip per group (a title per pod would double the
                // page's elements at 10,000 pods).
                <g class="pod-group" data-group=g.clone()>
                    <title>{pods.iter().map(|p| format!("{} · {} · {}", p.name, p.phase, p.node.as_deref().unwrap_or_default())).collect::<Vec<_>>().join("\n")}</title>
                    <text class="muted small" x=x0 y=y + 16.0>{g.clone()}</text>
                    {pods.iter().enumerate().map(|(i, p)| view! {
                        <circle class=pod_class(p) data-pod=p.name.clone() cx=x0 + 8.0 * g.len() as f64 + 6.0 + 10.0 * i as f64 cy=y + 12.0 r=4/>
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
