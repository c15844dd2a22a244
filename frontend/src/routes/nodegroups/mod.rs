//! Node groups: the environment's EKS managed node groups and Auto Scaling
//! groups, their sizes, the declared vs the actual on-demand/spot mix, and
//! the Kubernetes nodes under each with their requests vs allocatable, and
//! what they cost ([`cost`]), the spot risk of each microservice ([`risk`]),
//! and the spot interruptions seen ([`interruptions`]); a microservice is
//! moved to spot or back through the deploys page's change dialog ([`placement`]).
//! Re-read whenever the server says it may have changed (its `changed`
//! events: nodes, pods or AWS's groups moved); the server answers from its
//! caches. Operators
//! change sizes, an Auto Scaling group's spot mix, and cordon nodes through
//! [`change::ChangeDialog`].

mod change;
mod cost;
mod interruptions;
mod placement;
mod risk;

use leptos::prelude::*;
use mezame_shared::capacity::{Capacity, Group, MixChange, NodeRow, Sizes, Totals};
use mezame_shared::power::GroupKind;

use crate::api;
use crate::components::cues::reread_on_changes;
use crate::components::nav::{env_or_first, may_act};
use crate::routes::deploys::change::{Ask, ChangeDialog as PlaceDialog};
use crate::routes::envs::live_run::use_live_run;
use crate::routes::envs::power::RunView;
use change::{ChangeDialog, Editing, Ending};
use cost::{EnvCostBar, GroupCost, per_hour};
use interruptions::InterruptionsCard;
use placement::PlacementCard;
use risk::SpotRiskCard;

#[component]
pub fn NodeGroupsPage() -> impl IntoView {
    let env = env_or_first();
    let capacity = LocalResource::new(move || {
        let env = env.get();
        async move {
            match env {
                Some(env) => Some(api::get_capacity(env).await),
                None => None,
            }
        }
    });
    reread_on_changes(move || env.get().map(|e| api::capacity_events_url(&e)), move || capacity.refetch());
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
        capacity.refetch();
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
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match capacity.await {
                        None => view! { <p class="empty">"No environment is configured."</p> }.into_any(),
                        Some(Err(e)) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                        Some(Ok(c)) => {
                            let acts = Acts { may: may_act(c.env.clone()), editing, placing };
                            page(c, acts).into_any()
                        }
                    }
                })}
            </Transition>
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

fn page(c: Capacity, acts: Acts) -> impl IntoView {
    let described = match (&c.described_at, &c.aws_error) {
        (_, Some(e)) => view! { <p class="error" role="alert">{format!("AWS: {e}")}</p> }.into_any(),
        (None, None) => view! { <p class="loading">"Describing the groups in AWS…"</p> }.into_any(),
        (Some(at), None) => {
            view! { <p class="small muted">{format!("cluster {} · AWS described at {}", c.cluster, crate::components::time::fmt(at, "%H:%M:%S UTC"))}</p> }
                .into_any()
        }
    };
    let others = (!c.other_nodes.is_empty()).then(|| {
        view! {
            <div class="card group" data-testid="other-nodes">
                <h2>"Nodes of no known group"</h2>
                <Nodes nodes=c.other_nodes.clone() acts/>
            </div>
        }
    });
    view! {
        {described}
        {(!c.nodes_synced).then(|| view! { <p class="loading">"The cluster's nodes are still being listed…"</p> })}
        <TotalsBar t=c.totals.clone()/>
        <EnvCostBar c=c.cost.clone()/>
        {(c.groups.is_empty() && c.described_at.is_some()).then(|| view! { <p class="empty">"The cluster has no node group and no tagged Auto Scaling group."</p> })}
        {c.groups.into_iter().map(|g| view! { <GroupCard g acts/> }).collect_view()}
        {others}
        <PlacementCard env=c.env.clone() risks=c.spot_risk.clone() moves=c.spot_moves.clone() saving=c.cost.spot_ready_saving_monthly acts/>
        <SpotRiskCard risks=c.spot_risk/>
        <InterruptionsCard interruptions=c.interruptions/>
    }
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

#[component]
fn GroupCard(g: Group, acts: Acts) -> impl IntoView {
    let kind = match g.kind {
        GroupKind::Nodegroup => ("nodegroup", "EKS managed node group"),
        GroupKind::Asg => ("asg", "Auto Scaling group"),
    };
    let mix = g.mix.clone().map(|m| {
        view! {
            <p class="small" data-testid="mix">
                {format!(
                    "declared: on-demand base {} · {}% on-demand above base · {} · {} instance types ({}){}",
                    m.on_demand_base,
                    m.on_demand_percent_above_base,
                    m.spot_allocation_strategy.clone().unwrap_or_else(|| "default allocation".into()),
                    m.instance_types.len(),
                    m.instance_types.join(", "),
                    if m.capacity_rebalance { " · capacity rebalance" } else { "" },
                )}
            </p>
        }
    });
    let awake = g.awake.map(|a| {
        view! { <p class="small muted">{format!("the next wake restores min {} · desired {} · max {}", a.min, a.desired, a.max)}</p> }
    });
    let instances = (!g.instances.is_empty()).then(|| {
        view! {
            <details class="instances">
                <summary>{format!("{} EC2 instances", g.instances.len())}</summary>
                <table>
                    <thead><tr><th>"instance"</th><th>"type"</th><th>"zone"</th><th>"lifecycle"</th><th>"state"</th><th>"price"</th><th>"node"</th></tr></thead>
                    <tbody>
                        {g.instances.iter().map(|i| view! {
                            <tr data-instance=i.id.clone()>
                                <td><code>{i.id.clone()}</code></td>
                                <td>{i.instance_type.clone()}</td>
                                <td>{i.zone.clone()}</td>
                                <td>{i.lifecycle.clone()}</td>
                                <td>{format!("{} · {}", i.state, i.health)}</td>
                                <td data-testid="instance-price">{per_hour(i.hourly)}</td>
                                <td>{i.node.clone().unwrap_or_else(|| "—".into())}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </details>
        }
    });
    let sizes = Sizes { min: g.min, desired: g.desired, max: g.max };
    let (gkind, gname, gmix) = (g.kind, g.name.clone(), g.mix.clone());
    let actions = move || {
        acts.may.get().then(|| {
            let (name, mix_name, mix) = (gname.clone(), gname.clone(), gmix.clone());
            view! {
                <div class="actions">
                    <button class="secondary" data-testid="edit-sizes"
                        on:click=move |_| acts.editing.set(Some(Editing::Sizes { kind: gkind, name: name.clone(), sizes }))>"Change sizes"</button>
                    {mix.map(|m| view! {
                        <button class="secondary" data-testid="edit-mix"
                            on:click=move |_| acts.editing.set(Some(Editing::Mix { name: mix_name.clone(), mix: MixChange::of(&m) }))>"Change spot mix"</button>
                    })}
                </div>
            }
        })
    };
    view! {
        <div class="card group" data-testid="group" data-kind=kind.0 data-name=g.name.clone()>
            <div class="page-title">
                <h2>{g.name.clone()}</h2>
                <span class="badge">{kind.1}</span>
                <span class="badge">{g.status.clone()}</span>
                <span class="badge">{g.capacity_type.clone()}</span>
            </div>
            <p data-testid="sizes">
                {format!("min {} · desired {} · max {}", g.min, g.desired, g.max)}
                <span class="muted">{format!(" · {}", g.instance_types.join(", "))}</span>
                {g.ami_type.clone().map(|a| view! { <span class="muted">{format!(" · {a}")}</span> })}
            </p>
            {actions}
            {awake}
            {mix}
            <GroupCost c=g.cost.clone()/>
            <p class="small" data-testid="actual">{format!("running: {} on-demand · {} spot", g.actual.on_demand, g.actual.spot)}</p>
            {(!g.taints.is_empty()).then(|| view! { <p class="small muted">{format!("taints: {}", g.taints.join(", "))}</p> })}
            {(!g.warnings.is_empty()).then(|| view! {
                <ul class="warnings" data-testid="warnings">
                    {g.warnings.iter().map(|w| view! { <li>{w.clone()}</li> }).collect_view()}
                </ul>
            })}
            {instances}
            <Nodes nodes=g.nodes.clone() acts/>
        </div>
    }
}

#[component]
fn Nodes(nodes: Vec<NodeRow>, acts: Acts) -> impl IntoView {
    if nodes.is_empty() {
        return view! { <p class="empty small">"No node."</p> }.into_any();
    }
    view! {
        <table class="nodes">
            <thead>
                <tr><th>"node"</th><th>"state"</th><th>"type"</th><th>"zone"</th><th>"capacity"</th><th>"price"</th><th>"pods"</th><th>"CPU requested"</th><th>"memory requested"</th><th></th></tr>
            </thead>
            <tbody>
                {nodes.into_iter().map(|n| {
                    let state = match (n.ready, n.cordoned) {
                        (true, false) => "Ready",
                        (true, true) => "Ready, cordoned",
                        (false, false) => "NotReady",
                        (false, true) => "NotReady, cordoned",
                    };
                    view! {
                        <tr data-testid="node" data-node=n.name.clone()>
                            <td><code>{n.name.clone()}</code></td>
                            <td>{state}</td>
                            <td>{n.instance_type.clone().unwrap_or_default()}</td>
                            <td>{n.zone.clone().unwrap_or_default()}</td>
                            <td data-testid="capacity-type">{n.capacity_type.clone().unwrap_or_else(|| "?".into())}</td>
                            <td data-testid="node-price">{per_hour(n.hourly)}</td>
                            <td>{n.pods}</td>
                            <td><Bar pct=n.cpu_pct() label=format!("{}m / {}m", n.cpu_requested_m, n.cpu_allocatable_m)/></td>
                            <td><Bar pct=n.memory_pct() label=format!("{} / {}", gib(n.memory_requested), gib(n.memory_allocatable))/></td>
                            <td>{
                                let (node, cordon) = (n.name.clone(), !n.cordoned);
                                move || acts.may.get().then(|| {
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
                            }</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
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

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}
