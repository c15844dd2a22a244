//! What the nodes cost: the environment's total with what spot and the sleep
//! schedule save, a group's cost, and where the prices come from. A figure
//! that is not a market price is marked "estimated", with why on hover.

use leptos::prelude::*;
use mezame_shared::capacity::{Cost, EnvCost};

/// `$1.2345/h`, or `—` when unknown.
pub fn per_hour(hourly: Option<f64>) -> String {
    hourly.map(|h| format!("${h:.4}/h")).unwrap_or_else(|| "—".into())
}

fn dollars(x: f64) -> String {
    format!("${x:.2}")
}

#[component]
fn Estimated(c: Cost) -> impl IntoView {
    c.estimated.then(|| view! { <span class="badge warn" data-testid="estimated" title=c.notes.join("\n")>"estimated"</span> })
}

/// The environment's cost under the totals.
#[component]
pub fn EnvCostBar(c: EnvCost) -> impl IntoView {
    let p = &c.prices;
    let spot = match (&p.spot_error, p.spot_described_at) {
        (Some(e), _) => format!("spot prices could not be read: {e}"),
        (None, Some(at)) => format!("spot: EC2 spot price history, read {}", crate::components::time::fmt(&at, "%H:%M UTC")),
        (None, None) => "spot: EC2 spot price history not read yet".into(),
    };
    let overridden = (!p.overridden.is_empty()).then(|| format!(" · set in the configuration: {}", p.overridden.join(", ")));
    let sleep = match (c.sleep_saving_monthly, c.asleep_hours_per_week) {
        (Some(s), Some(h)) => format!("the sleep schedule saves {}/month ({h:.0} h asleep a week)", dollars(s)),
        _ => "no sleep schedule".into(),
    };
    let source = format!("on-demand: {} ({}) in {}", p.on_demand_source, p.on_demand_as_of, p.region);
    view! {
        <div class="totals cost" data-testid="env-cost">
            <span><strong data-testid="env-hourly">{format!("${:.2}/h", c.total.hourly)}</strong>" nodes"</span>
            <span><strong>{dollars(c.total.monthly)}</strong>" a month"</span>
            <span data-testid="spot-saving">"spot saves "<strong>{dollars(c.spot_saving_monthly)}</strong>"/month"</span>
            <span data-testid="sleep-saving">{sleep}</span>
            <Estimated c=c.total.clone()/>
        </div>
        <p class="small muted" data-testid="price-source">{format!("Prices — {source}{} · {spot}", overridden.unwrap_or_default())}</p>
    }
}

/// A group's cost, in its card.
#[component]
pub fn GroupCost(c: Cost) -> impl IntoView {
    view! {
        <p class="small" data-testid="group-cost">
            {format!("costs {} · {}/month", per_hour(Some(c.hourly)), dollars(c.monthly))}
            " "<Estimated c/>
        </p>
    }
}
