//! `[auth]`: how people and programs prove who they are, and what each may do.
//!
//! Ways in (any number of them at once; API tokens always work):
//! - `[auth.oidc]`: mezame's own sign-in (authorization code + PKCE against the
//!   issuer), and ID tokens of that issuer sent as `Authorization: Bearer` by an
//!   authenticating proxy (oauth2-proxy `--pass-authorization-header`);
//! - `[auth.alb]`: the AWS load balancer's signed `x-amzn-oidc-data` header;
//! - `trusted_proxies`: plain `X-Forwarded-User`/`-Groups`, only from these addresses;
//! - `[[auth.token]]`: API tokens declared here (hashed), beside those made in the UI.
//!
//! `auth = "none"` (a string instead of the table) turns sign-in off: allowed
//! only on a loopback listen address.

use std::path::PathBuf;

use mezame_shared::auth::Role;
use serde::{Deserialize, Serialize};

use super::Secret;

/// `auth = "none"`, or the `[auth]` table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AuthSetting {
    Word(String),
    Table(Box<AuthConfig>),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Role of anyone signed in whom no binding names: `viewer` (default),
    /// `operator`, `admin`, or `none` (no access without a binding).
    #[serde(default = "viewer")]
    pub default_role: String,
    /// The address people open, e.g. `https://mezame.example.com` (the OIDC
    /// redirect URL, `Secure` cookies, the same-origin check). Default: the
    /// listen address over http.
    #[serde(default)]
    pub public_url: Option<String>,
    #[serde(default)]
    pub session: SessionConfig,
    #[serde(default)]
    pub oidc: Option<OidcConfig>,
    #[serde(default)]
    pub alb: Option<AlbConfig>,
    /// CIDRs of proxies whose `X-Forwarded-User` / `X-Forwarded-Groups` are
    /// believed (as Grafana's auth proxy `whitelist`). Empty: never.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Roles of users and groups, per environment (like Argo CD's `policy.csv`).
    #[serde(default, rename = "bind")]
    pub bindings: Vec<Binding>,
    /// API tokens declared in the configuration.
    #[serde(default, rename = "token")]
    pub tokens: Vec<StaticToken>,
}

fn viewer() -> String {
    "viewer".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SessionConfig {
    /// A session unused this long ends.
    pub idle_minutes: u64,
    /// A session ends this long after sign-in, whatever the activity.
    pub max_hours: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig { idle_minutes: 480, max_hours: 24 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The issuer URL; its `/.well-known/openid-configuration` is read on first use.
    pub issuer: String,
    pub client_id: String,
    /// The client secret; better by reference (`client_secret_file`, or
    /// `MEZAME_OIDC_CLIENT_SECRET`).
    #[serde(default)]
    pub client_secret: Option<Secret>,
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
    #[serde(default = "scopes")]
    pub scopes: Vec<String>,
    /// The claim holding the user's groups (a list of strings).
    #[serde(default = "groups_claim")]
    pub groups_claim: String,
    /// The claim naming the user (then `email`, then `sub`).
    #[serde(default = "username_claim")]
    pub username_claim: String,
    /// More accepted audiences of bearer ID tokens (e.g. the client id of an
    /// oauth2-proxy in front of mezame); `client_id` is always accepted.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Offer mezame's own sign-in page (`/auth/login`). Off behind a proxy that signs people in.
    #[serde(default = "yes")]
    pub login: bool,
}

fn scopes() -> Vec<String> {
    ["openid", "profile", "email", "groups"].map(String::from).to_vec()
}
fn groups_claim() -> String {
    "groups".into()
}
fn username_claim() -> String {
    "preferred_username".into()
}
fn yes() -> bool {
    true
}

/// An Application Load Balancer with OIDC authentication in front of mezame.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlbConfig {
    /// Region of the load balancer (its public keys are regional).
    pub region: String,
    /// Where the keys are: `<keys_url>/<kid>` answers a PEM public key.
    /// Default: `https://public-keys.auth.elb.<region>.amazonaws.com`.
    #[serde(default)]
    pub keys_url: Option<String>,
    /// ARNs of the load balancers allowed to sign (the `signer` header field).
    pub signers: Vec<String>,
    /// The claim holding the groups, when the IdP passes them.
    #[serde(default = "groups_claim")]
    pub groups_claim: String,
    #[serde(default = "email_claim")]
    pub username_claim: String,
}

fn email_claim() -> String {
    "email".into()
}

/// `subject` (a user name, or `group:<name>`) has `role` in `envs`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Binding {
    pub subject: String,
    pub role: Role,
    /// Environment names, or `*` for all (default).
    #[serde(default = "all")]
    pub envs: Vec<String>,
}

fn all() -> Vec<String> {
    vec!["*".into()]
}

/// An API token declared in the configuration: only its SHA-256 is written here.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticToken {
    pub name: String,
    /// Whom it acts as (the audit log's actor).
    pub owner: String,
    pub role: Role,
    #[serde(default = "all")]
    pub envs: Vec<String>,
    /// Hex SHA-256 of the token (`printf %s "$TOKEN" | sha256sum`).
    pub sha256: String,
}

/// `default_role`, parsed (`None`: no access without a binding).
pub fn parse_default_role(s: &str) -> Result<Option<Role>, String> {
    match s {
        "none" => Ok(None),
        other => Role::parse(other).map(Some).ok_or_else(|| format!("auth.default_role {other:?}: use viewer, operator, admin or none")),
    }
}

/// Problems of an `[auth]` table, each in words.
pub fn problems(a: &AuthConfig, env_names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    if let Err(e) = parse_default_role(&a.default_role) {
        out.push(e);
    }
    if let Some(url) = &a.public_url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        out.push(format!("auth.public_url {url:?} must start with https:// (or http:// for a local test)"));
    }
    if a.session.idle_minutes == 0 || a.session.max_hours == 0 {
        out.push("auth.session: idle_minutes and max_hours must be > 0".into());
    }
    if let Some(o) = &a.oidc {
        if !(o.issuer.starts_with("https://") || o.issuer.starts_with("http://")) {
            out.push(format!("auth.oidc.issuer {:?} must be an http(s) URL", o.issuer));
        }
        if o.login && o.client_secret.is_none() && o.client_secret_file.is_none() && std::env::var_os("MEZAME_OIDC_CLIENT_SECRET").is_none()
        {
            out.push("auth.oidc: sign-in needs the client secret: client_secret_file, MEZAME_OIDC_CLIENT_SECRET or client_secret".into());
        }
        if !o.scopes.iter().any(|s| s == "openid") {
            out.push("auth.oidc.scopes must include openid".into());
        }
    }
    if let Some(alb) = &a.alb
        && alb.signers.is_empty()
    {
        out.push("auth.alb.signers must list the ARNs of the load balancers that sign".into());
    }
    for cidr in &a.trusted_proxies {
        if cidr.parse::<ipnet::IpNet>().is_err() && cidr.parse::<std::net::IpAddr>().is_err() {
            out.push(format!("auth.trusted_proxies: {cidr:?} is not an address or CIDR (e.g. 10.0.0.0/8)"));
        }
    }
    let known_env = |e: &str| e == "*" || env_names.contains(&e);
    for b in &a.bindings {
        let s = b.subject.trim();
        if s.is_empty() || s == "group:" {
            out.push("auth.bind: a binding has an empty subject (a user name or group:<name>)".into());
        }
        for e in b.envs.iter().filter(|e| !known_env(e)) {
            out.push(format!("auth.bind {:?}: unknown environment {e:?}", b.subject));
        }
    }
    for t in &a.tokens {
        if t.sha256.len() != 64 || !t.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            out.push(format!("auth.token {:?}: sha256 must be 64 hex digits", t.name));
        }
        for e in t.envs.iter().filter(|e| !known_env(e)) {
            out.push(format!("auth.token {:?}: unknown environment {e:?}", t.name));
        }
    }
    if a.oidc.is_none() && a.alb.is_none() && a.trusted_proxies.is_empty() && a.tokens.is_empty() {
        out.push("[auth] gives no way in: configure [auth.oidc], [auth.alb], trusted_proxies or [[auth.token]]".into());
    }
    out
}
