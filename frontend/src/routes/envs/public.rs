//! The public hostnames of an environment on its card (`[env.dns]`): each
//! URL, where its zone points it, and whether that is the live load balancer.

use leptos::prelude::*;
use mezame_shared::envs::{Probe, PublicHost, PublicState};

/// "Public URLs": one line per hostname, or why they could not be read.
pub fn public_hosts(probe: Probe<Vec<PublicHost>>) -> impl IntoView {
    let body = match probe {
        Probe::Error { message } => view! { <dd class="error" data-testid="dns-error">{message}</dd> }.into_any(),
        Probe::Ok { value } if value.is_empty() => {
            view! { <dd class="meta">"no public hostname (no ALB Ingress has a host)"</dd> }.into_any()
        }
        Probe::Ok { value } => value.into_iter().map(host_line).collect_view().into_any(),
    };
    view! {
        <dl class="probe public-hosts">
            <dt>"Public URLs"</dt>
            {body}
        </dl>
    }
}

fn host_line(h: PublicHost) -> impl IntoView {
    let (badge, class) = match h.state {
        PublicState::Live => ("live load balancer", "badge healthy"),
        PublicState::AsleepPage => ("asleep page", "badge"),
        PublicState::Stale => ("stale", "badge warn"),
        PublicState::NoRecord => ("no record", "badge warn"),
    };
    let points = match (&h.points_to, h.state) {
        (None, _) => "the zone has no record of it".to_string(),
        (Some(p), PublicState::Stale) => match &h.load_balancer {
            Some(lb) => format!("→ {p}, not the live load balancer {lb}"),
            None => format!("→ {p}, and no load balancer serves it now"),
        },
        (Some(p), _) => format!("→ {p}"),
    };
    view! {
        <dd data-testid="public-host" data-host=h.host.clone() data-state=format!("{:?}", h.state)>
            <a href=h.url.clone() target="_blank" rel="noopener">{h.host.clone()}</a>
            " "
            <span class="meta">{points}</span>
            " "
            <span class=class>{badge}</span>
        </dd>
    }
}
