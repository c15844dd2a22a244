//! The node tables of the Node groups page, cheap at a thousand nodes:
//! - each node has its own signal ([`NodeRows`]); a new read of the view sets
//!   only those of the nodes that changed, so only their rows re-draw;
//! - a table is keyed by node name: a node added or gone adds or removes one row;
//! - a table's rows appear in chunks, one task each, the first one too (not
//!   in the task that drew the page, nor with another table's), so that no
//!   task keeps the browser's main thread for long (Chromium's "long tasks").

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use leptos::prelude::*;
use mezame_shared::capacity::NodeRow;

use super::Acts;
use super::change::Editing;
use super::cost::per_hour;

/// Rows drawn per task while a table fills.
const CHUNK: usize = 120;

/// One signal per node, by name. `ArcRwSignal`s: they are made when a read
/// lands, where no owner would dispose them.
#[derive(Clone, Copy)]
pub struct NodeRows(StoredValue<HashMap<String, ArcRwSignal<NodeRow>>>);

impl NodeRows {
    pub fn new() -> NodeRows {
        NodeRows(StoredValue::new(HashMap::new()))
    }

    /// Takes in the nodes of a new read: sets the signals of those that
    /// changed, makes those that are new, forgets those gone.
    pub fn apply<'a>(&self, nodes: impl Iterator<Item = &'a NodeRow>) {
        let _ = self.0.try_update_value(|rows| {
            let mut seen = HashSet::new();
            for n in nodes {
                seen.insert(n.name.clone());
                match rows.get(&n.name) {
                    Some(s) if s.with_untracked(|old| old == n) => {}
                    Some(s) => s.set(n.clone()),
                    None => {
                        rows.insert(n.name.clone(), ArcRwSignal::new(n.clone()));
                    }
                }
            }
            rows.retain(|name, _| seen.contains(name));
        });
    }

    /// Forgets every node (another environment).
    pub fn clear(&self) {
        let _ = self.0.try_update_value(|rows| rows.clear());
    }

    fn get(&self, name: &str) -> Option<ArcRwSignal<NodeRow>> {
        self.0.try_with_value(|rows| rows.get(name).cloned()).flatten()
    }
}

/// The nodes `names` lists (their rows in `rows`, set before `names` changes).
#[component]
pub fn Nodes(names: Signal<Vec<String>>, rows: NodeRows, acts: Acts) -> impl IntoView {
    let shown = RwSignal::new(0);
    // Once drawn, the next chunk in a task of its own (the first one too).
    Effect::new(move |_| {
        let (count, now) = (names.with(Vec::len), shown.get());
        if now < count {
            set_timeout(move || shown.try_update(|s| *s += CHUNK).unwrap_or(()), Duration::ZERO);
        }
    });
    let listed = move || names.with(|n| n.iter().take(shown.get()).cloned().collect::<Vec<_>>());
    view! {
        <Show when=move || names.with(|n| !n.is_empty()) fallback=|| view! { <p class="empty small">"No node."</p> }>
            <table class="nodes">
                <thead>
                    <tr><th>"node"</th><th>"state"</th><th>"type"</th><th>"zone"</th><th>"capacity"</th><th>"price"</th><th>"pods"</th><th>"CPU requested"</th><th>"memory requested"</th><th></th></tr>
                </thead>
                <tbody>
                    <For each=listed key=|name| name.clone() let:name>
                        {rows.get(&name).map(|row| view! { <Node row acts/> })}
                    </For>
                </tbody>
            </table>
        </Show>
    }
}

/// One node's row, re-drawn when its signal changes.
#[component]
fn Node(row: ArcRwSignal<NodeRow>, acts: Acts) -> impl IntoView {
    let name = row.with_untracked(|n| n.name.clone());
    move || {
        let n = row.get();
        let state = match (n.ready, n.cordoned) {
            (true, false) => "Ready",
            (true, true) => "Ready, cordoned",
            (false, false) => "NotReady",
            (false, true) => "NotReady, cordoned",
        };
        let (node, cordon) = (n.name.clone(), !n.cordoned);
        let actions = move || {
            acts.may.get().then(|| {
                let (node, drained) = (node.clone(), node.clone());
                view! {
                    <button class="secondary small" data-testid="cordon"
                        on:click=move |_| acts.editing.set(Some(Editing::Cordon { node: node.clone(), cordon }))>
                        {if cordon { "Cordon" } else { "Uncordon" }}
                    </button>
                    <button class="secondary small" data-testid="drain"
                        on:click=move |_| acts.editing.set(Some(Editing::Drain { node: drained.clone() }))>"Drain"</button>
                }
            })
        };
        view! {
            <tr data-testid="node" data-node=name.clone()>
                <td><code>{n.name.clone()}</code></td>
                <td>{state}</td>
                <td>{n.instance_type.clone().unwrap_or_default()}</td>
                <td>{n.zone.clone().unwrap_or_default()}</td>
                <td data-testid="capacity-type">{n.capacity_type.clone().unwrap_or_else(|| "?".into())}</td>
                <td data-testid="node-price">{per_hour(n.hourly)}</td>
                <td>{n.pods}</td>
                <td><Bar pct=n.cpu_pct() label=format!("{}m / {}m", n.cpu_requested_m, n.cpu_allocatable_m)/></td>
                <td><Bar pct=n.memory_pct() label=format!("{} / {}", gib(n.memory_requested), gib(n.memory_allocatable))/></td>
                <td>{actions}</td>
            </tr>
        }
    }
}

/// A requested/allocatable bar: an SVG rect's width (an attribute), since the
/// panel's Content-Security-Policy refuses inline `style` attributes.
#[component]
fn Bar(pct: f64, label: String) -> impl IntoView {
    let fill = if pct > 90.0 { "fill over" } else { "fill" };
    let width = pct.clamp(0.0, 100.0).to_string();
    view! {
        <div class="bar" title=label>
            <svg viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
                <rect class=fill width=width height="10"></rect>
            </svg>
            <span>{format!("{pct}%")}</span>
        </div>
    }
}

pub fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}
