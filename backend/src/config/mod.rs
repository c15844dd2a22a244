//! Configuration: a TOML file, overridden by `MEZAME_*` environment variables,
//! overridden by command-line flags.
//!
//! See `mezame.example.toml` at the top of the repository for every key.
//! Secrets (keys, client secrets, passwords in URLs) are never printed: their
//! `Debug` is redacted.

pub mod auth;
pub mod dns;
pub mod git;
pub mod notify;
mod secret;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

pub use secret::{DatabaseUrl, Secret, redact};

/// Everything the server needs to start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address of the HTTP server.
    pub listen: SocketAddr,
    /// SQLite file path or `sqlite://` URL (default), or a `postgres://` URL.
    pub database: DatabaseUrl,
    /// Sign-in and roles (`[auth]`), or `"none"`. Required: there is no default.
    #[serde(default)]
    pub auth: Option<auth::AuthSetting>,
    /// Timeout of each reachability check (Kubernetes, AWS), in milliseconds.
    pub probe_timeout_ms: u64,
    /// Mount diagnostic routes (`/api/debug/*`) used by the end-to-end tests.
    pub debug_routes: bool,
    /// How often the schedules are checked, in milliseconds.
    pub schedule_tick_ms: u64,
    /// Lease of the replica driving a wake/sleep run, in seconds: renewed
    /// every third of it; a run whose runner died is taken over after it.
    pub run_lease_secs: u64,
    /// How long a drain waits for its pods to be evicted and gone (blocked by
    /// PodDisruptionBudgets, slow to terminate) before it fails, in seconds.
    pub drain_timeout_secs: u64,
    /// Keys that seal backed-up Secrets (each base64 of 32 bytes): the first
    /// seals, all open (rotation: put the new key first, drop the old one once
    /// no restore point uses it). Also `MEZAME_BACKUP_KEYS` (comma-separated).
    /// Without any, a sleep refuses to back up Argo CD's Secrets.
    #[serde(default)]
    pub backup_keys: Vec<Secret>,
    /// Requests taking longer are answered 503 (streams excepted), in seconds.
    pub request_timeout_secs: u64,
    /// Requests served at once; more are answered 503 at once.
    pub max_concurrent_requests: usize,
    /// Open event streams (topology, runs) per server.
    pub max_event_streams: usize,
    /// Prices of the capacity view's cost (`[prices]`).
    #[serde(default)]
    pub prices: PricesConfig,
    /// The repositories of the delivery flow (`[git]`): the deploys page.
    #[serde(default)]
    pub git: git::GitConfig,
    /// The environments the panel controls, in display order.
    #[serde(default, rename = "env")]
    pub envs: Vec<EnvConfig>,
    /// Where the configuration was read from (not a key of the file).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// `[prices]`: what mezame's shipped on-demand table does not know, or gets
/// wrong for this organisation (a Savings Plan, a region not listed).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricesConfig {
    /// Instance type → USD per hour on-demand, in every region (e.g. `"m5.large" = 0.096`).
    #[serde(default)]
    pub on_demand: std::collections::BTreeMap<String, f64>,
}

/// One environment: its cluster and its AWS account.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvConfig {
    pub name: String,
    /// A protected environment (production): no power runs, no power settings
    /// written; other mutations need an admin who types its name to confirm.
    #[serde(default)]
    pub protected: bool,
    pub kubernetes: KubeConfig,
    pub aws: AwsConfig,
    /// Initial power settings (then edited in the UI and kept in the database).
    #[serde(default)]
    pub power: Option<mezame_shared::power::PowerSettings>,
    /// Its public hostnames and who writes their records (`[env.dns]`).
    #[serde(default)]
    pub dns: Option<dns::DnsConfig>,
    /// Webhooks told of its wakes and sleeps (`[[env.notify]]`).
    #[serde(default)]
    pub notify: Vec<notify::NotifyConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeConfig {
    /// Path of the kubeconfig file; default: `$KUBECONFIG`, then `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    /// Context in that file; default: its current context.
    pub context: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    /// Region, e.g. `eu-west-1`. Default: the profile's region.
    pub region: Option<String>,
    /// Named profile from `~/.aws/config`. Default: the standard credential chain.
    pub profile: Option<String>,
    /// Custom endpoint for every AWS service (the sandbox points this at moto).
    pub endpoint_url: Option<String>,
    /// Static credentials, for the sandbox only. Real accounts use profiles.
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    /// The environment's EKS cluster: power settings may only name its node
    /// groups and the Auto Scaling groups tagged `kubernetes.io/cluster/<it>`.
    /// Default: `[env.power] eks_cluster`.
    #[serde(default)]
    pub eks_cluster: Option<String>,
    /// Tag key marking the RDS and EC2 instances of the environment (value:
    /// its name); power settings may name those, or those listed in `[env.power]`.
    #[serde(default = "environment_tag")]
    pub environment_tag: String,
}

fn environment_tag() -> String {
    "environment".into()
}

/// A configuration that cannot be used, with the reason.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    Missing(PathBuf),
    #[error("configuration is invalid: {0}")]
    Invalid(#[from] Box<figment::Error>),
    #[error("configuration is invalid: {0}")]
    Rule(String),
    #[error("{0}")]
    Read(String),
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database: DatabaseUrl(default_database()),
            auth: None,
            probe_timeout_ms: 3000,
            debug_routes: false,
            backup_keys: Vec::new(),
            request_timeout_secs: 30,
            max_concurrent_requests: 512,
            max_event_streams: 256,
            schedule_tick_ms: 20_000,
            run_lease_secs: 30,
            drain_timeout_secs: 300,
            prices: PricesConfig::default(),
            git: git::GitConfig::default(),
            envs: Vec::new(),
            source: None,
        }
    }
}

/// `~/.local/share/mezame/mezame.db` (or under `$XDG_DATA_HOME`).
fn default_database() -> String {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("mezame/mezame.db").display().to_string()
}

impl Config {
    /// Reads the file (if any), then `MEZAME_*` variables (`MEZAME_LISTEN`,
    /// `MEZAME_DATABASE`, `MEZAME_AUTH`, `MEZAME_PROBE_TIMEOUT_MS`,
    /// `MEZAME_DEBUG_ROUTES`, `MEZAME_BACKUP_KEYS`, `MEZAME_OIDC_CLIENT_SECRET`),
    /// and checks the result. The listen address is checked by [`Config::check_listen`]
    /// once `--listen` has been applied.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::Missing(path.to_path_buf()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(Env::prefixed("MEZAME_").only(&[
            "listen",
            "database",
            "probe_timeout_ms",
            "debug_routes",
            "auth",
            "request_timeout_secs",
            "max_concurrent_requests",
            "max_event_streams",
        ]));
        let mut config: Config = figment.extract().map_err(Box::new)?;
        config.source = file.map(Path::to_path_buf);
        if let Ok(keys) = std::env::var("MEZAME_BACKUP_KEYS") {
            let from_env: Vec<Secret> = keys.split(',').map(str::trim).filter(|k| !k.is_empty()).map(|k| Secret(k.into())).collect();
            config.backup_keys.splice(0..0, from_env);
        }
        config.read_secrets()?;
        config.settle_dns()?;
        config.settle_notify()?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.git.validate()?;
        for name in &self.git.direct {
            match self.envs.iter().find(|e| &e.name == name) {
                None => return Err(ConfigError::Rule(format!("[git] direct names {name:?}, which is not a configured environment"))),
                Some(e) if e.protected => {
                    return Err(ConfigError::Rule(format!(
                        "[git] direct names {name:?}, a protected environment: its changes go on a branch for a person to merge"
                    )));
                }
                Some(_) => {}
            }
        }
        let mut seen = std::collections::HashSet::new();
        for env in &self.envs {
            if !is_dns_label(&env.name) {
                return Err(ConfigError::Rule(format!(
                    "environment name {:?} must be lowercase letters, digits and '-', 1 to 63 characters",
                    env.name
                )));
            }
            if !seen.insert(env.name.as_str()) {
                return Err(ConfigError::Rule(format!("environment {:?} is configured twice", env.name)));
            }
            if env.aws.access_key_id.is_some() != env.aws.secret_access_key.is_some() {
                return Err(ConfigError::Rule(format!(
                    "environment {:?}: give both aws.access_key_id and aws.secret_access_key, or neither",
                    env.name
                )));
            }
        }
        for env in &self.envs {
            if let Some(p) = &env.power {
                let problems = p.problems();
                if !problems.is_empty() {
                    return Err(ConfigError::Rule(format!("environment {:?}: power: {}", env.name, problems.join("; "))));
                }
            }
        }
        let names: Vec<&str> = self.envs.iter().map(|e| e.name.as_str()).collect();
        match &self.auth {
            None => {
                return Err(ConfigError::Rule(
                    "no sign-in is configured: add an [auth] table (see mezame.example.toml: [auth.oidc] for mezame's own \
                     sign-in, trusted_proxies or [auth.alb] behind a proxy, [[auth.token]] for automation), or set \
                     auth = \"none\" (MEZAME_AUTH=none) to run without sign-in on a loopback address"
                        .into(),
                ));
            }
            Some(auth::AuthSetting::Word(w)) if w != "none" => {
                return Err(ConfigError::Rule(format!("auth = {w:?}: the only word allowed is \"none\"; otherwise give an [auth] table")));
            }
            Some(auth::AuthSetting::Word(_)) => {}
            Some(auth::AuthSetting::Table(a)) => {
                let problems = auth::problems(a, &names);
                if !problems.is_empty() {
                    return Err(ConfigError::Rule(problems.join("; ")));
                }
            }
        }
        if self.request_timeout_secs == 0 || self.max_concurrent_requests == 0 || self.max_event_streams == 0 {
            return Err(ConfigError::Rule("request_timeout_secs, max_concurrent_requests and max_event_streams must be > 0".into()));
        }
        if self.run_lease_secs < 3 {
            return Err(ConfigError::Rule("run_lease_secs must be ≥ 3 (it is renewed every third of it)".into()));
        }
        if let Some((t, p)) = self.prices.on_demand.iter().find(|(_, p)| !(p.is_finite() && **p > 0.0)) {
            return Err(ConfigError::Rule(format!("[prices] on_demand: {t} = {p}: a price must be a number of USD per hour > 0")));
        }
        if self.drain_timeout_secs == 0 {
            return Err(ConfigError::Rule("drain_timeout_secs must be > 0".into()));
        }
        if self.schedule_tick_ms == 0 {
            return Err(ConfigError::Rule("schedule_tick_ms must be > 0".into()));
        }
        if self.probe_timeout_ms == 0 {
            return Err(ConfigError::Rule("probe_timeout_ms must be > 0".into()));
        }
        Ok(())
    }

    pub fn env(&self, name: &str) -> Option<&EnvConfig> {
        self.envs.iter().find(|e| e.name == name)
    }

    /// The `[auth]` table, or `None` for `auth = "none"`.
    pub fn auth_table(&self) -> Option<&auth::AuthConfig> {
        match &self.auth {
            Some(auth::AuthSetting::Table(a)) => Some(a),
            _ => None,
        }
    }

    /// `auth = "none"` serves anyone as an admin: only on a loopback address.
    pub fn check_listen(&self) -> Result<(), ConfigError> {
        if self.auth_table().is_none() && !self.listen.ip().is_loopback() {
            return Err(ConfigError::Rule(format!(
                "auth = \"none\" (no sign-in) is refused on {}: anyone who reaches it would act as an admin. \
                 Listen on 127.0.0.1, or configure [auth]",
                self.listen
            )));
        }
        Ok(())
    }

    /// Reads the OIDC client secret from its file or `MEZAME_OIDC_CLIENT_SECRET`.
    fn read_secrets(&mut self) -> Result<(), ConfigError> {
        let Some(auth::AuthSetting::Table(a)) = &mut self.auth else { return Ok(()) };
        let Some(o) = &mut a.oidc else { return Ok(()) };
        if let Ok(s) = std::env::var("MEZAME_OIDC_CLIENT_SECRET") {
            o.client_secret = Some(Secret(s));
        } else if let Some(path) = &o.client_secret_file {
            let s = std::fs::read_to_string(path)
                .map_err(|e| ConfigError::Read(format!("auth.oidc.client_secret_file {}: {e}", path.display())))?;
            o.client_secret = Some(Secret(s.trim().to_string()));
        }
        Ok(())
    }
}

/// Loads a configuration from TOML text (through a file, as `mezame serve` would).
#[cfg(test)]
pub(crate) fn load_toml(toml: &str) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("mezame.toml");
    std::fs::write(&path, toml).expect("the configuration written");
    Config::load(Some(&path))
}

/// A name usable as a Kubernetes label value and in URLs.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// A DNS-1123 subdomain (the name of a node, among others): dot-separated
/// labels, at most 253 characters.
pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// Expands a leading `~/` to `$HOME/`.
pub fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, body: &str) -> PathBuf {
        let p = dir.path().join("mezame.toml");
        std::fs::write(&p, body).unwrap();
        p
    }

    #[test]
    fn redact_hides_passwords_only() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact("/var/lib/mezame.db"), "/var/lib/mezame.db");
    }

    #[test]
    fn without_sign_in_configured_it_refuses_to_start_and_says_how() {
        let err = Config::load(None).unwrap_err().to_string();
        assert!(err.contains("no sign-in is configured") && err.contains("auth = \"none\""), "{err}");
    }

    #[test]
    fn auth_none_only_on_loopback() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Config::load(Some(&write(&dir, "auth = \"none\"\n"))).unwrap();
        assert!(c.envs.is_empty());
        assert_eq!(c.listen.ip().to_string(), "127.0.0.1");
        c.check_listen().unwrap();
        c.listen = "0.0.0.0:8080".parse().unwrap();
        assert!(c.check_listen().unwrap_err().to_string().contains("refused on 0.0.0.0:8080"));
        let other = write(&dir, "auth = \"anything\"\n");
        assert!(Config::load(Some(&other)).unwrap_err().to_string().contains("only word allowed"));
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
        let c = Config::load(Some(&write(
            &dir,
            &format!(
                "database = \"postgres://mezame:pg-pass-123@db:5432/m\"\nbackup_keys = [\"{key}\"]\n\
                 [auth.oidc]\nissuer = \"https://idp.example\"\nclient_id = \"mezame\"\nclient_secret = \"oidc-secret-456\"\n\
                 [[env]]\nname = \"dev\"\n[env.kubernetes]\n[env.aws]\naccess_key_id = \"AKIA\"\nsecret_access_key = \"aws-secret-789\"\n"
            ),
        )))
        .unwrap();
        let shown = format!("{c:?}");
        for secret in ["pg-pass-123", key, "oidc-secret-456", "aws-secret-789"] {
            assert!(!shown.contains(secret), "{secret} shown in {shown}");
        }
        assert!(shown.contains("postgres://mezame:***@db:5432/m"), "{shown}");
    }

    #[test]
    fn auth_problems_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            &dir,
            "[auth]\ndefault_role = \"boss\"\ntrusted_proxies = [\"10.0.0.0/33\"]\n\
             [[auth.bind]]\nsubject = \"group:sre\"\nrole = \"admin\"\nenvs = [\"staging\"]\n",
        );
        let err = Config::load(Some(&f)).unwrap_err().to_string();
        for part in ["default_role \"boss\"", "10.0.0.0/33", "unknown environment \"staging\""] {
            assert!(err.contains(part), "{part} in {err}");
        }
    }

    #[test]
    fn example_file_parses() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "s3cret\n").unwrap();
        let example = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../mezame.example.toml")).unwrap();
        let example = example
            .replace("/var/run/secrets/mezame/oidc-client-secret", &secret.display().to_string())
            .replace("url_env = \"MEZAME_SLACK_DEV\"", "url = \"https://hooks.slack.example/T0/B0/x\"");
        let path = write(&dir, &example);
        let c = Config::load(Some(&path)).unwrap();
        assert_eq!(c.auth_table().unwrap().oidc.as_ref().unwrap().client_secret.as_ref().unwrap().expose(), "s3cret");
        assert_eq!(c.envs.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["dev", "qa", "prod"]);
        assert!(c.env("prod").unwrap().protected);
    }

    #[test]
    fn rejects_duplicate_and_bad_names_and_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let env = |n: &str| format!("auth = \"none\"\n[[env]]\nname = \"{n}\"\n[env.kubernetes]\n[env.aws]\n");
        let dup = write(&dir, &format!("{}[[env]]\nname = \"dev\"\n[env.kubernetes]\n[env.aws]\n", env("dev")));
        assert!(Config::load(Some(&dup)).unwrap_err().to_string().contains("twice"));
        let bad = write(&dir, &env("Dev_1"));
        assert!(Config::load(Some(&bad)).unwrap_err().to_string().contains("lowercase"));
        let unknown = write(&dir, "listn = \"127.0.0.1:1\"\n");
        assert!(Config::load(Some(&unknown)).unwrap_err().to_string().contains("listn"));
        let missing = dir.path().join("nope.toml");
        assert!(matches!(Config::load(Some(&missing)), Err(ConfigError::Missing(_))));
    }
}
