//! A node group's card on the Node groups page: what AWS says of the group
//! (sizes, mix, instances, cost, warnings) and its nodes.

use leptos::prelude::*;
use mezame_shared::capacity::{Group, MixChange, Sizes};
use mezame_shared::power::GroupKind;

use super::change::Editing;
use super::cost::{GroupCost, per_hour};
use super::nodes::Nodes;
use super::{Acts, Page};

/// A group's card: its head re-drawn when the group (but for its nodes)
/// changes, its nodes a [`Nodes`] table.
#[component]
pub fn GroupCard(name: String, view: Page, acts: Acts) -> impl IntoView {
    let key = name.clone();
    let head = Memo::new(move |_| view.cap.with(|c| c.as_ref().and_then(|c| c.groups.iter().find(|g| g.name == key).cloned())));
    let key = name.clone();
    let names = Signal::derive(move || view.layout.with(|l| l.get(&key).cloned().unwrap_or_default()));
    let kind = move || head.with(|g| g.as_ref().map(|g| g.kind.as_str()));
    // Whether its instances are shown: kept when the head re-draws.
    let open = RwSignal::new(false);
    view! {
        <div class="card group" data-testid="group" data-name=name data-kind=kind>
            {move || head.get().map(|g| view! { <Head g open acts/> })}
            <Nodes names rows=view.rows acts/>
        </div>
    }
}

#[component]
fn Head(g: Group, open: RwSignal<bool>, acts: Acts) -> impl IntoView {
    let kind = title_of(g.kind);
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
    // Drawn once opened: a thousand rows nobody looks at would cost each re-draw.
    let rows = g.instances.clone();
    let instances = (!g.instances.is_empty()).then(|| {
        view! {
            <details class="instances" prop:open=open.get_untracked() on:toggle=move |ev| open.set(is_open(&ev))>
                <summary>{format!("{} EC2 instances", g.instances.len())}</summary>
                {move || open.get().then(|| view! {
                    <table>
                        <thead><tr><th>"instance"</th><th>"type"</th><th>"zone"</th><th>"lifecycle"</th><th>"state"</th><th>"price"</th><th>"node"</th></tr></thead>
                        <tbody>
                            {rows.iter().map(|i| view! {
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
                })}
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
        <div class="page-title">
            <h2>{g.name.clone()}</h2>
            <span class="badge">{kind}</span>
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
    }
}

fn title_of(kind: GroupKind) -> &'static str {
    match kind {
        GroupKind::Nodegroup => "EKS managed node group",
        GroupKind::Asg => "Auto Scaling group",
    }
}

/// Whether the `<details>` a toggle event comes from is open now.
fn is_open(ev: &leptos::ev::Event) -> bool {
    ev.target().and_then(|t| js_sys::Reflect::get(&t, &"open".into()).ok()).and_then(|v| v.as_bool()).unwrap_or(false)
}
