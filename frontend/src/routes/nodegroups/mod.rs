//! Node groups: the environment's EKS managed node groups and Auto Scaling
//! groups, their sizes, the declared vs the actual on-demand/spot mix, and
//! the Kubernetes nodes under each with their requests vs allocatable, and
//! what they cost ([`cost`]), the spot risk of each microservice ([`risk`]),
//! and the spot interruptions seen ([`interruptions`]); a microservice is
//! moved to spot or back through the deploys page's change dialog ([`placement`]).
//! Re-read whenever the server says it may have changed (its `changed`
//! events: nodes, pods or AWS's groups moved); the server answers from its
//! caches. A read re-draws only what it changed: the page stays mounted, each
//! part re-draws when its own slice of the view differs, each node row when
//! its node does ([`nodes`]). Operators
//! change sizes, an Auto Scaling group's spot mix, and cordon nodes through
//! [`change::ChangeDialog`].

mod change;
mod cost;
mod group;
mod interruptions;
mod nodes;
mod placement;
mod risk;

use std::collections::HashMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use mezame_shared::capacity::{Capacity, Totals};

use crate::api;
use crate::components::cues::reread_on_changes;
use crate::components::nav::{env_or_first, may_act};
use crate::components::perf;
use crate::routes::deploys::change::{Ask, ChangeDialog as PlaceDialog};
use crate::routes::envs::live_run::use_live_run;
use crate::routes::envs::power::RunView;
use change::{ChangeDialog, Editing, Ending};
use cost::EnvCostBar;
use group::GroupCard;
use interruptions::InterruptionsCard;
use nodes::{NodeRows, Nodes, gib};
use placement::PlacementCard;
use risk::SpotRiskCard;

#[component]
pub fn NodeGroupsPage() -> impl IntoView {
    let env = env_or_first();
    let view = Page::new();
    let reader = Reader::new(view);
    Effect::new(move || {
        let env = env.get();
        view.reset(env.clone());
        reader.read(env);
    });
    reread_on_changes(move || env.get().map(|e| api::capacity_events_url(&e)), move || reader.read(env.get_untracked()));
    let editing = RwSignal::new(None::<Editing>);
    let placing = RwSignal::new(None::<Ask>);
    let placed = RwSignal::new(None::<String>);
    // The drain run started here, followed live; `reopen` follows a retried one again.
    let run_id = RwSignal::new(None::<i64>);
    let reopen = RwSignal::new(0u32);
    let run = use_live_run(run_id.into(), reopen.into());
    let outcome = RwSignal::new(None::<Result<String, String>>);
    let done = Callback::new(move |r: Result<String, String>| {
        outcome.set(Some(r));
        reader.read(env.get_untracked());
    });
    Effect::new(move || {
        // Another environment: whatever was being changed is not there.
        env.track();
        editing.set(None);
        placing.set(None);
        placed.set(None);
        outcome.set(None);
        run_id.set(None);
    });
    view! {
        <section class="nodegroups">
            <div class="page-title">
                <h1>"Node groups"</h1>
                <span class="hint">{move || env.get().map(|e| format!("environment {e}")).unwrap_or_default()}</span>
            </div>
            {move || env.get().map(|e| view! { <ChangeDialog env=e end=Ending { editing, done, run: run_id }/> })}
            {move || run.get().map(|r| match r {
                Ok(r) => view! { <div class="card" data-testid="drain-run"><RunView run=r reopen/></div> }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
            })}
            <PlaceDialog asking=placing done=placed/>
            {move || placed.get().map(|m| view! { <p class="ok" role="status" data-testid="placement-done">{m}</p> })}
            {move || outcome.get().map(|r| match r {
                Ok(m) => view! { <p class="ok" data-testid="change-outcome">{m}</p> }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
            })}
            {move || view.error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || match env.get() {
                None => view! { <p class="empty">"No environment is configured."</p> }.into_any(),
                Some(e) => {
                    let acts = Acts { may: may_act(e), editing, placing };
                    view! {
                        <Show when=move || view.cap.with(Option::is_some)
                            fallback=move || view.error.with(Option::is_none).then(|| view! { <p class="loading">"Loading…"</p> })>
                            <Body view acts/>
                        </Show>
                    }
                    .into_any()
                }
            }}
        </section>
    }
}

/// Whether the person may change things here, and where a change starts.
#[derive(Clone, Copy)]
struct Acts {
    may: Signal<bool>,
    editing: RwSignal<Option<Editing>>,
    placing: RwSignal<Option<Ask>>,
}

/// What the page shows: the last view read, its node rows taken out into
/// `rows` (one signal each) and `layout` (which nodes each group lists).
#[derive(Clone, Copy)]
struct Page {
    cap: RwSignal<Option<Capacity>>,
    /// Node names by group name; `OTHERS` for the nodes of no known group.
    layout: RwSignal<HashMap<String, Vec<String>>>,
    rows: NodeRows,
    /// Why the last read failed (the view before it stays shown).
    error: RwSignal<Option<String>>,
    /// The environment shown: a read of another one is not taken in.
    env: StoredValue<Option<String>>,
}

/// `Page::layout`'s key for the nodes of no known group (no group is named so).
const OTHERS: &str = "";

impl Page {
    fn new() -> Page {
        Page {
            cap: RwSignal::new(None),
            layout: RwSignal::new(HashMap::new()),
            rows: NodeRows::new(),
            error: RwSignal::new(None),
            env: StoredValue::new(None),
        }
    }

    fn reset(&self, env: Option<String>) {
        self.env.set_value(env);
        self.cap.set(None);
        self.error.set(None);
        self.rows.clear();
        self.layout.set(HashMap::new());
    }

    /// Takes in a new read: the rows first, then which nodes each group
    /// lists, then the rest (only the parts that differ re-draw).
    fn apply(&self, mut c: Capacity) {
        if self.env.try_with_value(|e| e.as_ref() != Some(&c.env)).unwrap_or(true) {
            return;
        }
        perf::mark("capacity_apply_ms");
        self.rows.apply(c.groups.iter().flat_map(|g| &g.nodes).chain(&c.other_nodes));
        let mut layout: HashMap<String, Vec<String>> =
            c.groups.iter_mut().map(|g| (g.name.clone(), std::mem::take(&mut g.nodes).into_iter().map(|n| n.name).collect())).collect();
        layout.insert(OTHERS.into(), std::mem::take(&mut c.other_nodes).into_iter().map(|n| n.name).collect());
        if self.layout.with_untracked(|l| *l != layout) {
            let _ = self.layout.try_set(layout);
        }
        let _ = self.error.try_set(None);
        let _ = self.cap.try_set(Some(c));
        perf::mark("capacity_applied_ms");
    }
}

/// Reads the view: one read at a time; a cue during a read makes one more
/// after it (never a pile of reads, never a read superseded for ever).
#[derive(Clone, Copy)]
struct Reader {
    view: Page,
    /// (a read is under way, another is wanted after it, for which environment)
    state: StoredValue<(bool, Option<String>)>,
}

impl Reader {
    fn new(view: Page) -> Reader {
        Reader { view, state: StoredValue::new((false, None)) }
    }

    fn read(self, env: Option<String>) {
        let Some(env) = env else { return };
        let busy = self.state.try_update_value(|(busy, next)| {
            *next = Some(env.clone());
            std::mem::replace(busy, true)
        });
        if busy == Some(false) {
            spawn_local(self.run());
        }
    }

    async fn run(self) {
        while let Some(Some(env)) = self.state.try_update_value(|(_, next)| next.take()) {
            let read = api::get_capacity(env.clone()).await;
            // Another environment was chosen meanwhile: this read is not its.
            if self.state.try_with_value(|(_, next)| next.as_ref().is_some_and(|n| *n != env)) != Some(false) {
                continue;
            }
            match read {
                // Drawn in a task of its own, not in the one that parsed the
                // view (each stays short); in order, since timers of 0 are.
                Ok(c) => set_timeout(move || self.view.apply(c), std::time::Duration::ZERO),
                Err(e) => drop(self.view.error.try_set(Some(e.to_string()))),
            }
        }
        let _ = self.state.try_update_value(|(busy, _)| *busy = false);
    }
}

/// The view once read; each part re-drawn when its slice of it changes.
#[component]
fn Body(view: Page, acts: Acts) -> impl IntoView {
    let cap = view.cap;
    let described = Memo::new(move |_| cap.with(|c| c.as_ref().map(|c| (c.cluster.clone(), c.described_at, c.aws_error.clone()))));
    let synced = Memo::new(move |_| cap.with(|c| c.as_ref().is_none_or(|c| c.nodes_synced)));
    let totals = Memo::new(move |_| cap.with(|c| c.as_ref().map(|c| c.totals.clone())));
    let cost = Memo::new(move |_| cap.with(|c| c.as_ref().map(|c| c.cost.clone())));
    let names = Memo::new(move |_| {
        cap.with(|c| c.as_ref().map(|c| c.groups.iter().map(|g| g.name.clone()).collect::<Vec<_>>()).unwrap_or_default())
    });
    let no_group = Memo::new(move |_| cap.with(|c| c.as_ref().is_some_and(|c| c.groups.is_empty() && c.described_at.is_some())));
    let others = Signal::derive(move || view.layout.with(|l| l.get(OTHERS).cloned().unwrap_or_default()));
    // The spot risks are copied out of the view once, for both cards below.
    let placement =
        Memo::new(move |_| cap.with(|c| c.as_ref().map(|c| (c.env.clone(), c.spot_moves.clone(), c.cost.spot_ready_saving_monthly))));
    let picked = RwSignal::new(String::new());
    let risks = Memo::new(move |_| cap.with(|c| c.as_ref().map(|c| c.spot_risk.clone()).unwrap_or_default()));
    let interruptions = Memo::new(move |_| cap.with(|c| c.as_ref().map(|c| c.interruptions.clone()).unwrap_or_default()));
    // The cards below the groups are drawn after theirs, each in a task of
    // its own: with hundreds of microservices, each is a long table.
    let later = RwSignal::new(0u8);
    draw_next(later, CARDS);
    view! {
        {move || described.get().map(|(cluster, at, error)| match (at, error) {
            (_, Some(e)) => view! { <p class="error" role="alert">{format!("AWS: {e}")}</p> }.into_any(),
            (None, None) => view! { <p class="loading">"Describing the groups in AWS…"</p> }.into_any(),
            (Some(at), None) => view! {
                <p class="small muted">{format!("cluster {cluster} · AWS described at {}", crate::components::time::fmt(&at, "%H:%M:%S UTC"))}</p>
            }.into_any(),
        })}
        {move || (!synced.get()).then(|| view! { <p class="loading">"The cluster's nodes are still being listed…"</p> })}
        {move || totals.get().map(|t| view! { <TotalsBar t/> })}
        {move || cost.get().map(|c| view! { <EnvCostBar c/> })}
        {move || no_group.get().then(|| view! { <p class="empty">"The cluster has no node group and no tagged Auto Scaling group."</p> })}
        <For each=move || names.get() key=|name| name.clone() let:name>
            <GroupCard name view acts/>
        </For>
        <Show when=move || others.with(|o| !o.is_empty())>
            <div class="card group" data-testid="other-nodes">
                <h2>"Nodes of no known group"</h2>
                <Nodes names=others rows=view.rows acts/>
            </div>
        </Show>
        <Show when=move || { later.get() >= 1 }>
            {move || placement.get().map(|(env, moves, saving)| view! { <PlacementCard env risks=risks.get() moves saving picked acts/> })}
        </Show>
        <Show when=move || { later.get() >= 2 }>
            {move || view! { <SpotRiskCard risks=risks.get()/> }}
        </Show>
        <Show when=move || { later.get() >= 3 }>
            {move || view! { <InterruptionsCard interruptions=interruptions.get()/> }}
        </Show>
    }
}

/// The cards drawn after the groups.
const CARDS: u8 = 3;

/// Counts `drawn` up to `cards`, one task each (a timer of 0 each); marks
/// when each card's task starts (`capacity_card_<n>_ms`).
fn draw_next(drawn: RwSignal<u8>, cards: u8) {
    set_timeout(
        move || {
            let n = drawn.try_update(|n| {
                *n += 1;
                *n
            });
            let Some(n) = n else { return };
            perf::mark(&format!("capacity_card_{n}_ms"));
            if n < cards {
                draw_next(drawn, cards);
            }
        },
        std::time::Duration::ZERO,
    );
}

#[component]
fn TotalsBar(t: Totals) -> impl IntoView {
    view! {
        <div class="totals" data-testid="totals">
            <span><strong>{format!("{}/{}", t.ready, t.nodes)}</strong>" nodes ready"</span>
            <span><strong>{format!("{:.1}", t.cpu_allocatable_m as f64 / 1000.0)}</strong>" vCPU"</span>
            <span><strong>{gib(t.memory_allocatable)}</strong>" memory"</span>
            <span><strong>{format!("{}%", t.cpu_requested_pct)}</strong>" CPU requested"</span>
            <span><strong>{format!("{}%", t.memory_requested_pct)}</strong>" memory requested"</span>
            <span><strong>{format!("{}%", t.spot_share_pct)}</strong>" on spot"</span>
        </div>
    }
}
