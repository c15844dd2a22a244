//! `[env.dns]`: the public hostnames of an environment and who owns their
//! records. A wake is done only once they answer the new load balancer; a
//! sleep points them at mezame's asleep page.

use serde::{Deserialize, Serialize};

use super::{Config, ConfigError, EnvConfig};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsConfig {
    /// Who writes the records: `route53` (mezame, in a hosted zone of the
    /// environment's AWS account), `cloudflare` (mezame, through Cloudflare's
    /// API) or `external-dns` (running in the cluster, writing to a Route 53
    /// zone: mezame only waits for it).
    pub provider: DnsProvider,
    /// The Route 53 hosted zone (its name, `dev.example.com`, or id), or the Cloudflare zone id.
    pub zone: String,
    /// Cloudflare: the name of the environment variable holding an API token (Zone.DNS edit).
    #[serde(default)]
    pub token_env: Option<String>,
    /// Cloudflare: the API's base URL.
    #[serde(default = "cloudflare_api")]
    pub api_url: String,
    /// Cloudflare: the token, read from `token_env` at start (never in the file).
    #[serde(skip)]
    pub token: Option<super::Secret>,
    /// The public hostnames; default: every host of the environment's ALB Ingresses.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Where the hostnames point while the environment sleeps: mezame's own
    /// host name (it serves the asleep page). Default: the host of `[auth] public_url`.
    #[serde(default)]
    pub asleep_target: Option<String>,
    /// TTL of the records mezame writes, in seconds.
    #[serde(default = "ttl")]
    pub ttl: i64,
    /// How long a wake waits for the zone to answer the new load balancer, in seconds.
    #[serde(default = "wait_secs")]
    pub wait_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DnsProvider {
    Route53,
    Cloudflare,
    ExternalDns,
}

fn cloudflare_api() -> String {
    "https://api.cloudflare.com/client/v4".into()
}

fn ttl() -> i64 {
    60
}

fn wait_secs() -> u64 {
    300
}

impl DnsConfig {
    /// Whether mezame writes the records (else it waits for external-dns).
    pub fn mezame_writes(&self) -> bool {
        self.provider != DnsProvider::ExternalDns
    }
}

impl Config {
    /// What `env`'s hostnames point at while it sleeps (settled into `[env.dns]` at load).
    fn asleep_target(&self, env: &EnvConfig) -> Option<String> {
        let dns = env.dns.as_ref()?;
        dns.asleep_target.clone().or_else(|| {
            let url = self.auth_table()?.public_url.as_ref()?;
            let host = url.split_once("://")?.1.split(['/', ':']).next()?;
            (!host.is_empty()).then(|| host.to_string())
        })
    }

    /// Checks every `[env.dns]` and sets its `asleep_target` from `[auth] public_url` when not given.
    pub(super) fn settle_dns(&mut self) -> Result<(), ConfigError> {
        let targets: Vec<Option<String>> = self.envs.iter().map(|e| self.asleep_target(e)).collect();
        for (env, target) in self.envs.iter_mut().zip(targets) {
            if let Some(dns) = &mut env.dns {
                dns.asleep_target = target;
                if dns.provider == DnsProvider::Cloudflare {
                    let var = dns.token_env.clone().unwrap_or_default();
                    match std::env::var(&var) {
                        Ok(t) if !t.trim().is_empty() => dns.token = Some(super::Secret(t.trim().to_string())),
                        _ => {
                            return Err(ConfigError::Rule(format!(
                                "environment {:?}: [env.dns] provider = \"cloudflare\" needs token_env, the name of a set variable holding an API token{}",
                                env.name,
                                if var.is_empty() { String::new() } else { format!(" ({var} is not set)") }
                            )));
                        }
                    }
                }
            }
        }
        for env in &self.envs {
            let Some(dns) = &env.dns else { continue };
            let rule = |m: String| Err(ConfigError::Rule(format!("environment {:?}: [env.dns] {m}", env.name)));
            if !is_dns_name(&dns.zone) && dns.zone.contains('.') {
                return rule(format!("zone {:?} is not a DNS name", dns.zone));
            }
            if dns.zone.is_empty() {
                return rule("zone is empty: give the Route 53 hosted zone's name or id".into());
            }
            if let Some(h) = dns.hosts.iter().find(|h| !is_dns_name(h)) {
                return rule(format!("hosts: {h:?} is not a DNS name"));
            }
            let apex = dns.zone.trim_end_matches('.').to_ascii_lowercase();
            if let Some(h) = dns.hosts.iter().find(|h| h.trim_end_matches('.').eq_ignore_ascii_case(&apex)) {
                return rule(format!("hosts: {h:?} is the zone's apex, where a CNAME cannot be: use a name below it"));
            }
            if !(1..=86_400).contains(&dns.ttl) {
                return rule(format!("ttl = {}: between 1 and 86400 seconds", dns.ttl));
            }
            if dns.wait_secs == 0 {
                return rule("wait_secs must be > 0".into());
            }
            if dns.mezame_writes() {
                match &dns.asleep_target {
                    None => {
                        return rule(
                            "asleep_target: the host name the environment's names point at while it sleeps (mezame's own); \
                             none given and no [auth] public_url to take it from"
                                .into(),
                        );
                    }
                    Some(t) if !is_dns_name(t) => return rule(format!("asleep_target {t:?} is not a DNS name")),
                    Some(_) => {}
                }
            }
        }
        Ok(())
    }
}

/// A host name as written in a zone (any case, a final dot allowed).
fn is_dns_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    !name.is_empty() && super::is_dns_subdomain(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(dns: &str) -> Result<Config, ConfigError> {
        crate::config::load_toml(&format!("auth = \"none\"\n[[env]]\nname = \"dev\"\n[env.kubernetes]\n[env.aws]\n[env.dns]\n{dns}\n"))
    }

    #[test]
    fn dns_rules() {
        let ok = with("provider = \"route53\"\nzone = \"dev.example.com\"\nasleep_target = \"mezame.example.com\"").unwrap();
        let dns = ok.envs[0].dns.as_ref().unwrap();
        assert_eq!((dns.ttl, dns.wait_secs, dns.mezame_writes()), (60, 300, true));
        assert_eq!(dns.asleep_target.as_deref(), Some("mezame.example.com"));
        with("provider = \"external-dns\"\nzone = \"Z0123ABC\"").unwrap();
        let bad = |d: &str| with(d).unwrap_err().to_string();
        assert!(bad("provider = \"route53\"\nzone = \"dev.example.com\"").contains("asleep_target"));
        assert!(
            bad("provider = \"route53\"\nzone = \"dev.example.com\"\nasleep_target = \"m.example.com\"\nhosts = [\"dev.example.com\"]")
                .contains("apex")
        );
        assert!(
            bad("provider = \"route53\"\nzone = \"x.com\"\nasleep_target = \"m.example.com\"\nhosts = [\"a b.x.com\"]")
                .contains("not a DNS name")
        );
        assert!(bad("provider = \"gandi\"\nzone = \"x.com\"").contains("provider"));
        assert!(bad("provider = \"cloudflare\"\nzone = \"0123abcd\"\nasleep_target = \"m.example.com\"").contains("token_env"));
    }
}
