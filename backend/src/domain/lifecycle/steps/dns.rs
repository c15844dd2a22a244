//! The public hostnames (`[env.dns]`): a wake points them at the new load
//! balancer and is done only once the zone answers it; a sleep points them at
//! mezame's asleep page before the load balancers go.

use std::time::Duration;

use serde_json::{Value, json};

use super::find;
use crate::adapters::kube::resources::Kind;
use crate::domain::dns::hosts::from_json as alb_ingresses;
use crate::domain::dns::{Repointed, Zone, served};
use crate::domain::lifecycle::ctx::{Ctx, Outcome, StepError, StepResult, done_unless};

/// Wake: each hostname → the load balancer of the Ingress serving it.
pub async fn point_at_load_balancers(ctx: &Ctx<'_>) -> StepResult<Outcome> {
    let Some(zone) = Zone::of(ctx.env) else { return Ok(unmanaged()) };
    let live: Vec<Value> = find::in_namespaces(ctx, Kind::Ingress).await?.into_iter().filter(find::is_alb).collect();
    let mut wanted = Vec::new();
    let mut cannot = Vec::new();
    for s in served(zone.config, &alb_ingresses(&live)) {
        match (s.load_balancer, s.ingress) {
            (Some(lb), _) => wanted.push((s.host, lb)),
            (None, Some(i)) => cannot.push(format!("{} (Ingress {i} has no load balancer hostname)", s.host)),
            (None, None) => cannot.push(format!("{} (no ALB Ingress has it as a host)", s.host)),
        }
    }
    if !cannot.is_empty() {
        return Err(StepError::fatal(format!("cannot point {} at a load balancer", cannot.join(", "))));
    }
    finish(ctx, &zone, wanted, "the new load balancer").await
}

/// Sleep: each hostname of the recorded Ingresses → the asleep page.
pub async fn point_at_asleep_page(ctx: &Ctx<'_>) -> StepResult<Outcome> {
    let Some(zone) = Zone::of(ctx.env) else { return Ok(unmanaged()) };
    if !zone.config.mezame_writes() {
        return Ok(Outcome::new("external-dns owns the records: left to it", Value::Null));
    }
    let target = zone.config.asleep_target.clone().ok_or_else(|| StepError::fatal("[env.dns] has no asleep_target"))?;
    let recorded = find::record(ctx).await?.ingresses;
    let wanted = served(zone.config, &alb_ingresses(&recorded)).into_iter().map(|s| (s.host, target.clone())).collect();
    finish(ctx, &zone, wanted, "the asleep page").await
}

fn unmanaged() -> Outcome {
    Outcome::new("no [env.dns] configured: the public hostnames are not managed by mezame", Value::Null)
}

/// Points what differs (unless external-dns writes), then waits until the
/// zone answers every target and Route 53 has the changes everywhere.
async fn finish(ctx: &Ctx<'_>, zone: &Zone<'_>, wanted: Vec<(String, String)>, what: &str) -> StepResult<Outcome> {
    if wanted.is_empty() {
        return Ok(Outcome::new("no public hostname: no ALB Ingress has a host", Value::Null));
    }
    let changed: Vec<Repointed> = if zone.config.mezame_writes() { zone.point(&wanted).await? } else { Vec::new() };
    let (w, c) = (&wanted, &changed);
    let waiting =
        if zone.config.mezame_writes() { format!("the zone answering {what}") } else { format!("external-dns pointing at {what}") };
    ctx.wait(&waiting, Duration::from_secs(zone.config.wait_secs), || async move { Ok(done_unless(zone.not_yet(w, c).await?)) }).await?;
    let list: Vec<String> = wanted.iter().map(|(h, t)| format!("{h} → {t}")).collect();
    Ok(Outcome::new(format!("{} ({} changed by mezame)", list.join(", "), changed.len()), json!({"pointed": changed, "answers": list})))
}
