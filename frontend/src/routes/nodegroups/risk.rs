//! Spot risk: per kind of risk, the microservices it flags and the fix (said
//! once); then, folded, per microservice where its ready replicas run (spot or
//! on-demand, zones, nodes) and its flags.

use std::collections::BTreeMap;

use leptos::prelude::*;
use mezame_shared::capacity::{RiskKind, SpotRisk};

fn title(k: RiskKind) -> &'static str {
    match k {
        RiskKind::AllOnSpot => "every ready replica on spot",
        RiskKind::OneZone => "every ready replica in one zone",
        RiskKind::OneNode => "every ready replica on one node",
        RiskKind::NoPdbOnSpot => "on spot without a PodDisruptionBudget",
    }
}

#[component]
pub fn SpotRiskCard(risks: Vec<SpotRisk>) -> impl IntoView {
    let flagged = risks.iter().filter(|r| !r.flags.is_empty()).count();
    let on_spot = risks.iter().filter(|r| r.on_spot > 0).count();
    let summary = format!("{flagged} of {} microservices flagged · {on_spot} with ready replicas on spot", risks.len());
    // Kind → (its fix, the microservices it flags).
    let mut by_kind: BTreeMap<RiskKind, (String, Vec<String>)> = BTreeMap::new();
    for r in &risks {
        for f in &r.flags {
            let e = by_kind.entry(f.kind).or_insert_with(|| (f.fix.clone(), Vec::new()));
            e.1.push(format!("{}/{}", r.namespace, r.name));
        }
    }
    view! {
        <div class="card group" data-testid="spot-risk">
            <h2>"Spot risk"</h2>
            <p class="small muted" data-testid="spot-risk-summary">{summary}</p>
            <ul class="warnings">
                {by_kind.into_iter().map(|(kind, (fix, ms))| view! {
                    <li data-testid="risk-kind" data-kind=format!("{kind:?}")>
                        <strong>{format!("{} — {} microservice{}", title(kind), ms.len(), if ms.len() == 1 { "" } else { "s" })}</strong>
                        {format!(": {}", ms.join(", "))}
                        <br/><span class="muted">{format!("fix: {fix}")}</span>
                    </li>
                }).collect_view()}
            </ul>
            {(flagged > 0).then(|| view! {
                <details>
                    <summary>"Per microservice"</summary>
                    <table class="nodes">
                        <thead>
                            <tr><th>"microservice"</th><th>"ready"</th><th>"spot / on-demand"</th><th>"zones"</th><th>"nodes"</th><th>"budget"</th><th>"risks"</th></tr>
                        </thead>
                        <tbody>
                            {risks.into_iter().filter(|r| !r.flags.is_empty()).map(|r| view! {
                                <tr data-testid="risk" data-ms=format!("{}/{}", r.namespace, r.name)>
                                    <td><code>{format!("{}/{}", r.namespace, r.name)}</code>{(!r.serving).then_some(" (not serving)")}</td>
                                    <td>{r.ready}</td>
                                    <td>{format!("{} / {}", r.on_spot, r.on_demand)}</td>
                                    <td>{r.zones.join(", ")}</td>
                                    <td>{r.nodes}</td>
                                    <td>{if r.has_pdb { "yes" } else { "none" }}</td>
                                    <td>{r.flags.iter().map(|f| f.message.clone()).collect::<Vec<_>>().join("; ")}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </details>
            })}
        </div>
    }
}
