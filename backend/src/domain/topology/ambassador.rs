//! How Ambassador (Emissary-ingress 2.x/3.x) resolves a Mapping's
//! `spec.service`: `[scheme://]name[.namespace][:port]`.

/// The Service a Mapping routes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub namespace: String,
    pub name: String,
    pub port: u16,
}

impl Target {
    pub fn display(&self) -> String {
        format!("{}/{}:{}", self.namespace, self.name, self.port)
    }
}

/// Resolves `service` as written in a Mapping of namespace `mapping_ns`:
/// - the scheme sets the default port (`https` → 443, otherwise 80);
/// - `name.namespace` (or the cluster-local FQDN `name.namespace.svc.cluster.local`)
///   names the namespace; a bare name means the Mapping's own namespace
///   (Emissary's default since 2.0);
/// - `:port` is the Service port.
///
/// `None` when the string cannot name a Service (empty, bad port).
pub fn resolve(service: &str, mapping_ns: &str) -> Option<Target> {
    let service = service.trim();
    let (scheme, rest) = match service.split_once("://") {
        Some((s, r)) => (s.to_ascii_lowercase(), r),
        None => (String::new(), service),
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u16>().ok()?),
        None => (rest, if scheme == "https" { 443 } else { 80 }),
    };
    let host = host.strip_suffix(".svc.cluster.local").or_else(|| host.strip_suffix(".svc")).unwrap_or(host);
    let (name, namespace) = match host.split_once('.') {
        Some((n, ns)) => (n, ns),
        None => (host, mapping_ns),
    };
    if name.is_empty() || namespace.is_empty() || namespace.contains('.') {
        return None;
    }
    Some(Target { namespace: namespace.to_string(), name: name.to_string(), port })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ns: &str, name: &str, port: u16) -> Option<Target> {
        Some(Target { namespace: ns.into(), name: name.into(), port })
    }

    #[test]
    fn every_form_of_the_service_field() {
        assert_eq!(resolve("orders", "platform"), t("platform", "orders", 80));
        assert_eq!(resolve("orders.shop", "platform"), t("shop", "orders", 80));
        assert_eq!(resolve("orders:8080", "platform"), t("platform", "orders", 8080));
        assert_eq!(resolve("http://orders.shop:81", "platform"), t("shop", "orders", 81));
        assert_eq!(resolve("https://orders", "platform"), t("platform", "orders", 443));
        assert_eq!(resolve("orders.shop.svc.cluster.local:80", "x"), t("shop", "orders", 80));
        assert_eq!(resolve("", "x"), None);
        assert_eq!(resolve("orders:http", "x"), None);
        assert_eq!(resolve("api.example.com", "x"), None, "an external host is not a Service");
    }
}
