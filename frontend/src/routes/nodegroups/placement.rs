//! Move a microservice to spot or back: which ones are ready for spot and what
//! moving them would save, then pick one, see the manifest change the
//! server would commit (the deploys page's change dialog, its dry run first),
//! apply it — a commit in the manifest repository (on a branch for a person
//! to merge where the environment is not committed to directly).

use leptos::prelude::*;
use mezame_shared::capacity::{SpotMove, SpotRisk};

use super::Acts;
use crate::routes::deploys::change::Ask;

#[component]
pub fn PlacementCard(
    env: String,
    risks: Vec<SpotRisk>,
    moves: Vec<SpotMove>,
    saving: f64,
    /// The microservice picked: kept by the page, so that a new read of the
    /// view (which draws this card again) does not put it back to the first.
    picked: RwSignal<String>,
    acts: Acts,
) -> impl IntoView {
    let label = |r: &SpotRisk| {
        let m = moves.iter().find(|m| m.namespace == r.namespace && m.name == r.name);
        let what = match m {
            Some(m) if m.ready_for_spot => format!(" · spot-ready, saves ${:.2}/month", m.saving_monthly),
            Some(m) => format!(" · not ready for spot: {}", m.missing.join("; ")),
            None => String::new(),
        };
        format!("{} — ready on spot {} / on-demand {}{what}", r.name, r.on_spot, r.on_demand)
    };
    let mut names: Vec<(String, String)> = risks.iter().map(|r| (r.name.clone(), label(r))).collect();
    names.sort();
    let ready = moves.iter().filter(|m| m.ready_for_spot).count();
    let summary = format!(
        "Moving the {ready} spot-ready microservice(s) to spot would save ${saving:.2}/month (their on-demand replicas' share of their nodes, at EC2's spot price of the same type and zone)."
    );
    if !names.iter().any(|(n, _)| *n == picked.get_untracked()) {
        picked.set(names.first().map(|(n, _)| n.clone()).unwrap_or_default());
    }
    let ask = move |spot: bool| {
        let env = env.clone();
        move |_| acts.placing.set(Some(Ask::Placement { env: env.clone(), ms: picked.get_untracked(), spot }))
    };
    let (to_spot, back) = (ask(true), ask(false));
    view! {
        <div class="card group" data-testid="placement">
            <h2>"Move to spot or back"</h2>
            <p class="small muted">"A manifest commit: the pods tolerate the spot nodes' taint and prefer them (they stay schedulable on on-demand nodes), or that is taken out again. Argo CD rolls it out."</p>
            <p class="small" data-testid="spot-ready-saving">{summary}</p>
            <label>"Microservice "
                <select data-testid="placement-ms" on:change=move |ev| picked.set(event_target_value(&ev))>
                    {names.into_iter().map(|(n, label)| {
                        // A property, not the attribute: an option the person picked ignores its attribute.
                        let mine = n.clone();
                        view! { <option prop:selected=move || picked.with(|p| *p == mine) value=n>{label}</option> }
                    }).collect_view()}
                </select>
            </label>
            " "
            <button class="secondary small" data-testid="to-spot" disabled=move || !acts.may.get() on:click=to_spot>"Move to spot…"</button>
            " "
            <button class="secondary small" data-testid="to-on-demand" disabled=move || !acts.may.get() on:click=back>"Back to on-demand…"</button>
        </div>
    }
}
