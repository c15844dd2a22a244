//! The Environments card's public hostnames: what the zone answers for each,
//! the load balancer its Ingress has now, and whether those agree. Read per
//! request (one Route 53 read per hostname), bounded like the other checks.

use std::time::Duration;

use mezame_shared::envs::{Probe, PublicHost, PublicState};

use super::{AlbIngress, Zone, served};
use crate::adapters::aws::normalise_dns;

/// The hostnames of `live` ALB Ingresses (the watch cache's) and of `recorded`
/// ones (the restore point's, while asleep), each with its answer and state.
pub async fn public_hosts(zone: &Zone<'_>, live: &[AlbIngress], recorded: &[AlbIngress], timeout: Duration) -> Probe<Vec<PublicHost>> {
    let mut all = served(zone.config, live);
    for s in served(zone.config, recorded) {
        if !all.iter().any(|a| a.host == s.host) {
            all.push(crate::domain::dns::Served { load_balancer: None, ..s });
        }
    }
    all.sort_by(|a, b| a.host.cmp(&b.host));
    let asleep = zone.config.asleep_target.as_deref().map(normalise_dns);
    let read = async {
        let mut out = Vec::with_capacity(all.len());
        for s in all {
            let points_to = zone.answer(&s.host).await.map_err(|e| e.to_string())?;
            let lb = s.load_balancer.as_deref().map(normalise_dns);
            let state = match (&points_to, &lb) {
                (None, _) => PublicState::NoRecord,
                (Some(p), Some(l)) if p == l => PublicState::Live,
                (Some(p), _) if Some(p) == asleep.as_ref() => PublicState::AsleepPage,
                (Some(_), _) => PublicState::Stale,
            };
            out.push(PublicHost { url: format!("https://{}/", s.host), host: s.host, points_to, load_balancer: s.load_balancer, state });
        }
        Ok::<_, String>(out)
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(value)) => Probe::Ok { value },
        Ok(Err(message)) => Probe::Error { message },
        Err(_) => Probe::Error { message: format!("Route 53 did not answer within {} ms", timeout.as_millis()) },
    }
}

/// The public hostnames of each environment of `names` that has `[env.dns]`, read at once.
pub async fn public_of(
    envs: &crate::domain::envs::Environments,
    topologies: &crate::domain::topology::Topologies,
    db: &crate::adapters::db::Db,
    names: &[String],
    timeout: Duration,
) -> std::collections::HashMap<String, Probe<Vec<PublicHost>>> {
    let reads = names.iter().map(|name| async move {
        let zone = Zone::of(envs.get(name)?)?;
        let live = topologies.get(name).map(|l| l.alb_ingresses()).unwrap_or_default();
        let recorded = super::recorded(db, name).await;
        Some((name.clone(), public_hosts(&zone, &live, &recorded, timeout).await))
    });
    futures::future::join_all(reads).await.into_iter().flatten().collect()
}
