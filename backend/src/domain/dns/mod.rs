//! An environment's public hostnames (`[env.dns]`): where the zone points
//! them, pointing them at the load balancer after a wake or at mezame's
//! asleep page before a sleep, and what the Environments card shows.
//!
//! - [`hosts`] (pure): which hostnames, and the Ingress serving each.
//! - [`card`]: per hostname, what the zone answers and whether that is the live load balancer.
//! - [`env_of_host`]: the environment a request for a public hostname was meant for (the asleep page).
//!
//! Records are CNAMEs of `[env.dns] ttl` written in the environment's
//! Route 53 hosted zone (an address record of the same name is replaced in
//! the same atomic change) or its Cloudflare zone (not proxied); with
//! `provider = "external-dns"` mezame writes nothing and waits for external-dns to.

pub mod card;
pub mod hosts;

use crate::adapters::AdapterError;
use crate::adapters::aws::{DnsRecord, normalise_dns};
use crate::adapters::cloudflare::Cloudflare;
use crate::adapters::db::Db;
use crate::config::dns::{DnsConfig, DnsProvider};
use crate::domain::envs::{Environment, Environments};

pub use hosts::{AlbIngress, Served, served};

/// A hostname pointed somewhere else by mezame.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Repointed {
    pub host: String,
    /// What the zone answered before (none: no record).
    pub from: Option<String>,
    pub to: String,
    /// Route 53's change id.
    #[serde(skip)]
    pub change: String,
}

/// The hosted zone of one environment's public hostnames.
pub struct Zone<'a> {
    pub env: &'a Environment,
    pub config: &'a DnsConfig,
}

impl<'a> Zone<'a> {
    /// The environment's zone, if it has `[env.dns]`.
    pub fn of(env: &'a Environment) -> Option<Zone<'a>> {
        env.config.dns.as_ref().map(|config| Zone { env, config })
    }

    /// The zone's id (looked up by name once per process).
    async fn id(&self) -> Result<&str, AdapterError> {
        self.env.dns_zone.get_or_try_init(|| self.env.aws().hosted_zone(&self.config.zone)).await.map(String::as_str)
    }

    async fn records(&self, host: &str) -> Result<Vec<DnsRecord>, AdapterError> {
        let id = self.id().await?;
        self.env.aws().dns_records(id, host).await
    }

    /// The zone's Cloudflare API, for `provider = "cloudflare"`.
    fn cloudflare(&self) -> Option<Cloudflare> {
        let token = self.config.token.as_ref().filter(|_| self.config.provider == DnsProvider::Cloudflare)?;
        Some(Cloudflare::new(&self.config.api_url, &self.config.zone, token.expose()))
    }

    /// Where the zone points `host` (a CNAME's or an alias record's target), if anywhere.
    pub async fn answer(&self, host: &str) -> Result<Option<String>, AdapterError> {
        if let Some(cf) = self.cloudflare() {
            return Ok(cf.records(host).await?.iter().find(|r| r.kind == "CNAME").map(|r| normalise_dns(&r.content)));
        }
        Ok(self.records(host).await?.iter().find_map(DnsRecord::target))
    }

    /// Points each `(host, target)` whose answer differs at its target.
    pub async fn point(&self, wanted: &[(String, String)]) -> Result<Vec<Repointed>, AdapterError> {
        let mut out = Vec::new();
        for (host, target) in wanted {
            let from = self.answer(host).await?;
            if from.as_deref() == Some(normalise_dns(target).as_str()) {
                continue;
            }
            // Route 53 answers a change id to wait on; Cloudflare's change is live when answered.
            let change = match self.cloudflare() {
                Some(cf) => {
                    let current = cf.records(host).await?;
                    cf.point_cname(host, target, self.config.ttl, &current).await?;
                    String::new()
                }
                None => {
                    let records = self.records(host).await?;
                    let id = self.id().await?;
                    self.env.aws().point_cname(id, host, target, self.config.ttl, &records).await?
                }
            };
            out.push(Repointed { host: host.clone(), from, to: target.clone(), change });
        }
        Ok(out)
    }

    /// Hostnames whose answer is not yet `target`, or whose change Route 53
    /// has not yet on all its servers; empty when done.
    pub async fn not_yet(&self, wanted: &[(String, String)], changes: &[Repointed]) -> Result<Vec<String>, AdapterError> {
        let mut left = Vec::new();
        for (host, target) in wanted {
            let answer = self.answer(host).await?;
            if answer.as_deref() != Some(normalise_dns(target).as_str()) {
                left.push(format!("{host} answers {} (wanted {target})", answer.as_deref().unwrap_or("nothing")));
            }
        }
        for c in changes.iter().filter(|c| !c.change.is_empty()) {
            if !self.env.aws().dns_change_done(&c.change).await? {
                left.push(format!("{}: Route 53 change {} not yet INSYNC", c.host, c.change));
            }
        }
        Ok(left)
    }
}

/// The environment whose public hostname `host` is (its configured hosts, or
/// the hosts of the Ingresses its sleep recorded): where a request that DNS
/// sent to mezame while the environment sleeps was meant to go. The recorded
/// hosts are read from the database at most every [`RECORDED_TTL`] (every
/// request to mezame under another name than its own asks).
pub async fn env_of_host(envs: &Environments, db: &Db, host: &str) -> Option<String> {
    let host = normalise_dns(host);
    for env in envs.iter() {
        let Some(config) = &env.config.dns else { continue };
        if config.hosts.iter().any(|h| normalise_dns(h) == host) {
            return Some(env.config.name.clone());
        }
    }
    let fresh = {
        let known = envs.recorded_hosts.lock().unwrap_or_else(|p| p.into_inner());
        known.as_ref().filter(|(at, _)| at.elapsed() < RECORDED_TTL).map(|(_, m)| m.get(&host).cloned())
    };
    if let Some(found) = fresh {
        return found;
    }
    let mut map = std::collections::HashMap::new();
    for env in envs.iter().filter(|e| e.config.dns.as_ref().is_some_and(|d| d.hosts.is_empty())) {
        for h in recorded(db, &env.config.name).await.iter().flat_map(|i| &i.hosts) {
            map.insert(normalise_dns(h), env.config.name.clone());
        }
    }
    let found = map.get(&host).cloned();
    *envs.recorded_hosts.lock().unwrap_or_else(|p| p.into_inner()) = Some((std::time::Instant::now(), map));
    found
}

/// The ALB Ingresses the sleep of `env` recorded (none when it is not asleep
/// by mezame, or the database cannot say).
pub async fn recorded(db: &Db, env: &str) -> Vec<AlbIngress> {
    match db.restore_point(env).await {
        Ok(Some(p)) => p.record.get("ingresses").and_then(|v| v.as_array()).map(|a| hosts::from_json(a)).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// How long the hosts sleeps recorded are kept in memory.
pub const RECORDED_TTL: std::time::Duration = std::time::Duration::from_secs(2);
