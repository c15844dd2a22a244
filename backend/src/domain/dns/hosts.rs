//! Which public hostnames an environment has and which Ingress serves each
//! (pure): `[env.dns] hosts`, else every host of its ALB Ingresses.

use serde_json::Value;

use crate::config::dns::DnsConfig;

/// An ALB Ingress as the DNS steps and the Environments card need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlbIngress {
    /// `namespace/name`.
    pub name: String,
    pub hosts: Vec<String>,
    /// The load balancer's hostname the controller published (none yet, or none while asleep).
    pub load_balancer: Option<String>,
}

/// A public hostname and the Ingress serving it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    pub host: String,
    /// `namespace/name` of the Ingress; none when no Ingress serves it (now).
    pub ingress: Option<String>,
    pub load_balancer: Option<String>,
}

/// The hostnames and their Ingresses: the configured hosts (each looked up
/// among the Ingresses' rules), else every rule's host, sorted, once each.
pub fn served(config: &DnsConfig, ingresses: &[AlbIngress]) -> Vec<Served> {
    let serving = |host: &str| ingresses.iter().find(|i| i.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)));
    let mut hosts: Vec<String> = if config.hosts.is_empty() {
        ingresses.iter().flat_map(|i| i.hosts.iter().map(|h| h.to_ascii_lowercase())).collect()
    } else {
        config.hosts.iter().map(|h| h.trim_end_matches('.').to_ascii_lowercase()).collect()
    };
    hosts.sort();
    hosts.dedup();
    hosts
        .into_iter()
        .map(|host| {
            let i = serving(&host);
            Served { ingress: i.map(|i| i.name.clone()), load_balancer: i.and_then(|i| i.load_balancer.clone()), host }
        })
        .collect()
}

/// Ingresses as JSON (live objects, or the manifests a sleep recorded).
pub fn from_json(ingresses: &[Value]) -> Vec<AlbIngress> {
    let text = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or_default().to_string();
    ingresses
        .iter()
        .map(|i| AlbIngress {
            name: format!("{}/{}", text(i, "/metadata/namespace"), text(i, "/metadata/name")),
            hosts: i
                .pointer("/spec/rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| r.get("host").and_then(Value::as_str).map(str::to_string))
                .collect(),
            load_balancer: Some(text(i, "/status/loadBalancer/ingress/0/hostname")).filter(|h| !h.is_empty()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::dns::DnsProvider;

    fn config(hosts: &[&str]) -> DnsConfig {
        DnsConfig {
            provider: DnsProvider::Route53,
            zone: "dev.example.com".into(),
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            asleep_target: Some("mezame.example.com".into()),
            ttl: 60,
            wait_secs: 300,
            token_env: None,
            api_url: String::new(),
            token: None,
        }
    }

    #[test]
    fn hosts_come_from_the_ingresses_unless_configured() {
        let ingresses = vec![
            AlbIngress { name: "gw/api".into(), hosts: vec!["API.dev.example.com".into()], load_balancer: Some("k8s-a.elb".into()) },
            AlbIngress {
                name: "gw/admin".into(),
                hosts: vec!["admin.dev.example.com".into(), "api.dev.example.com".into()],
                load_balancer: None,
            },
        ];
        let all = served(&config(&[]), &ingresses);
        let hosts: Vec<&str> = all.iter().map(|s| s.host.as_str()).collect();
        assert_eq!(hosts, ["admin.dev.example.com", "api.dev.example.com"]);
        assert_eq!(all[1].ingress.as_deref(), Some("gw/api"), "the first Ingress with the host serves it");
        assert_eq!(all[1].load_balancer.as_deref(), Some("k8s-a.elb"));
        assert_eq!(all[0].load_balancer, None);
        let some = served(&config(&["api.dev.example.com.", "gone.dev.example.com"]), &ingresses);
        assert_eq!(some.len(), 2);
        assert_eq!(some[0].host, "api.dev.example.com");
        assert_eq!(some[1], Served { host: "gone.dev.example.com".into(), ingress: None, load_balancer: None });
    }

    #[test]
    fn ingresses_read_from_json() {
        let i = serde_json::json!({
            "metadata": {"namespace": "gw", "name": "api"},
            "spec": {"rules": [{"host": "api.dev.example.com"}, {"http": {}}]},
            "status": {"loadBalancer": {"ingress": [{"hostname": "k8s-a.elb"}]}}
        });
        let recorded = serde_json::json!({"metadata": {"namespace": "gw", "name": "api"}, "spec": {"rules": [{"host": "x.example.com"}]}});
        let read = from_json(&[i, recorded]);
        assert_eq!(
            read[0],
            AlbIngress { name: "gw/api".into(), hosts: vec!["api.dev.example.com".into()], load_balancer: Some("k8s-a.elb".into()) }
        );
        assert_eq!(read[1].load_balancer, None);
    }
}
