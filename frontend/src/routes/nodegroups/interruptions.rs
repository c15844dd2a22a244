//! Spot interruptions and rebalance recommendations, as a timeline per spot
//! capacity pool (instance type in a zone, headed by how many of each it
//! had): the node, and the microservices that lost ready replicas there — an
//! outage where one lost all of them — or, for a rebalance recommendation,
//! had them at risk (nothing is taken down yet).

use std::collections::BTreeMap;

use leptos::prelude::*;
use mezame_shared::capacity::{Interruption, InterruptionKind};

use crate::components::time::fmt;

#[component]
pub fn InterruptionsCard(interruptions: Vec<Interruption>) -> impl IntoView {
    if interruptions.is_empty() {
        return view! {
            <div class="card group" data-testid="interruptions">
                <h2>"Interruptions"</h2>
                <p class="empty small">"No spot interruption or rebalance recommendation seen since mezame started."</p>
            </div>
        }
        .into_any();
    }
    let outages =
        interruptions.iter().filter(|i| i.kind == InterruptionKind::SpotInterruption).flat_map(|i| &i.hit).filter(|h| h.lost_all).count();
    let mut pools: BTreeMap<String, Vec<Interruption>> = BTreeMap::new();
    for i in interruptions {
        pools.entry(i.pool()).or_default().push(i);
    }
    view! {
        <div class="card group" data-testid="interruptions">
            <h2>"Interruptions"</h2>
            {(outages > 0).then(|| view! {
                <p class="error" data-testid="outages">{format!("{outages} time{} a microservice lost every ready replica", if outages == 1 { "" } else { "s" })}</p>
            })}
            {pools.into_iter().map(|(pool, list)| view! {
                <h3 class="small" data-testid="pool" data-pool=pool.clone()>{format!("{pool} · {}", tally(&list))}</h3>
                <ul class="timeline">
                    {list.into_iter().map(|i| view! { <Entry i/> }).collect_view()}
                </ul>
            }).collect_view()}
        </div>
    }
    .into_any()
}

/// What the page calls `kind`.
fn what(kind: InterruptionKind) -> &'static str {
    match kind {
        InterruptionKind::SpotInterruption => "spot interruption",
        InterruptionKind::RebalanceRecommendation => "rebalance recommendation",
    }
}

/// "2 spot interruptions · 1 rebalance recommendation" (the kinds it had).
fn tally(list: &[Interruption]) -> String {
    [InterruptionKind::SpotInterruption, InterruptionKind::RebalanceRecommendation]
        .into_iter()
        .filter_map(|kind| {
            let n = list.iter().filter(|i| i.kind == kind).count();
            (n > 0).then(|| format!("{n} {}{}", what(kind), if n == 1 { "" } else { "s" }))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

#[component]
fn Entry(i: Interruption) -> impl IntoView {
    let rebalance = i.kind == InterruptionKind::RebalanceRecommendation;
    let what = what(i.kind);
    let kind = i.kind.as_str();
    view! {
        <li data-testid="interruption" data-node=i.node.clone() data-kind=kind>
            <strong>{format!("{} · {what}", fmt(&i.at, "%H:%M:%S UTC"))}</strong>
            {format!(" · node {} ({})", i.node, i.instance_id.clone().unwrap_or_else(|| "instance unknown".into()))}
            {(i.hit.is_empty()).then_some(" · no microservice had a ready replica there")}
            <ul>
                {i.hit.iter().map(|h| {
                    let ms = format!("{}/{}", h.namespace, h.name);
                    let text = if rebalance {
                        format!(
                            "{ms}: {} of {} ready replicas at risk there{}",
                            h.ready_here,
                            h.ready_before,
                            if h.lost_all { " — all it has: move them before the instance is reclaimed" } else { "" }
                        )
                    } else if h.lost_all {
                        format!("{ms}: lost all {} ready replica{} — an outage until they run elsewhere", h.ready_here, if h.ready_here == 1 { "" } else { "s" })
                    } else {
                        format!("{ms}: lost {} of {} ready replicas", h.ready_here, h.ready_before)
                    };
                    view! { <li data-testid="hit" data-ms=ms class=if h.lost_all && !rebalance { "error" } else if h.lost_all { "warn" } else { "" }>{text}</li> }
                }).collect_view()}
            </ul>
        </li>
    }
}
