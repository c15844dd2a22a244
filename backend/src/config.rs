//! Configuration: a TOML file, overridden by `MEZAME_*` environment variables,
//! overridden by command-line flags.
//!
//! See `mezame.example.toml` at the top of the repository for every key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Everything the server needs to start.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address of the HTTP server.
    pub listen: SocketAddr,
    /// SQLite file path or `sqlite://` URL (default), or a `postgres://` URL.
    pub database: String,
    /// Timeout of each reachability check (Kubernetes, AWS), in milliseconds.
    pub probe_timeout_ms: u64,
    /// Mount diagnostic routes (`/api/debug/*`) used by the end-to-end tests.
    pub debug_routes: bool,
    /// How often the schedules are checked, in milliseconds.
    pub schedule_tick_ms: u64,
    /// Lease of the replica driving a wake/sleep run, in seconds: renewed
    /// every third of it; a run whose runner died is taken over after it.
    pub run_lease_secs: u64,
    /// Key that seals backed-up Secrets (base64 of 32 bytes). Without it,
    /// a sleep refuses to back up Argo CD's Secrets.
    #[serde(default)]
    pub backup_key: Option<String>,
    /// The environments the panel controls, in display order.
    #[serde(default, rename = "env")]
    pub envs: Vec<EnvConfig>,
    /// Where the configuration was read from (not a key of the file).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// One environment: its cluster and its AWS account.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvConfig {
    pub name: String,
    /// A protected environment (production) is never put to sleep.
    #[serde(default)]
    pub protected: bool,
    pub kubernetes: KubeConfig,
    pub aws: AwsConfig,
    /// Initial power settings (then edited in the UI and kept in the database).
    #[serde(default)]
    pub power: Option<mezame_shared::power::PowerSettings>,
    /// Who may wake, sleep, cancel or retry runs of this environment, and
    /// change its power settings and keep-awake: user names as the proxy sends
    /// them, or `group:<name>`. Unset: everyone who can reach the panel.
    #[serde(default)]
    pub power_operators: Option<Vec<String>>,
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
    pub secret_access_key: Option<String>,
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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database: default_database(),
            probe_timeout_ms: 3000,
            debug_routes: false,
            backup_key: None,
            schedule_tick_ms: 20_000,
            run_lease_secs: 30,
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
    /// `MEZAME_DATABASE`, `MEZAME_PROBE_TIMEOUT_MS`, `MEZAME_DEBUG_ROUTES`), and
    /// checks the result.
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
            "backup_key",
        ]));
        let mut config: Config = figment.extract().map_err(Box::new)?;
        config.source = file.map(Path::to_path_buf);
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let mut seen = std::collections::HashSet::new();
        for env in &self.envs {
            if !is_dns_label(&env.name) {
                return Err(ConfigError::Rule(format!(
                    "environment name {:?} must be lowercase letters, digits and '-', 1 to 63 characters",
                    env.name
                )));
            }
            if !seen.insert(env.name.as_str()) {
                return Err(ConfigError::Rule(format!(
                    "environment {:?} is configured twice",
                    env.name
                )));
            }
            if env.power_operators.as_ref().is_some_and(|ops| ops.iter().any(|o| o.trim().is_empty() || o.trim() == "group:")) {
                return Err(ConfigError::Rule(format!(
                    "environment {:?}: power_operators has an empty entry (give user names or group:<name>)",
                    env.name
                )));
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
        if let Some(key) = &self.backup_key {
            crate::adapters::seal::Key::parse(key).map_err(|e| ConfigError::Rule(format!("backup_key: {e}")))?;
        }
        if self.run_lease_secs < 3 {
            return Err(ConfigError::Rule("run_lease_secs must be ≥ 3 (it is renewed every third of it)".into()));
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
}

/// A name usable as a Kubernetes label value and in URLs.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
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
    fn no_file_gives_defaults_without_envs() {
        let c = Config::load(None).unwrap();
        assert!(c.envs.is_empty());
        assert_eq!(c.listen.ip().to_string(), "127.0.0.1");
    }

    #[test]
    fn example_file_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mezame.example.toml");
        let c = Config::load(Some(&path)).unwrap();
        assert_eq!(
            c.envs.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
            ["dev", "qa", "prod"]
        );
        assert!(c.env("prod").unwrap().protected);
    }

    #[test]
    fn rejects_duplicate_and_bad_names_and_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let env = |n: &str| {
            format!("[[env]]\nname = \"{n}\"\n[env.kubernetes]\n[env.aws]\n")
        };
        let dup = write(&dir, &format!("{}{}", env("dev"), env("dev")));
        assert!(Config::load(Some(&dup)).unwrap_err().to_string().contains("twice"));
        let bad = write(&dir, &env("Dev_1"));
        assert!(Config::load(Some(&bad)).unwrap_err().to_string().contains("lowercase"));
        let unknown = write(&dir, "listn = \"127.0.0.1:1\"\n");
        assert!(Config::load(Some(&unknown)).unwrap_err().to_string().contains("listn"));
        let missing = dir.path().join("nope.toml");
        assert!(matches!(Config::load(Some(&missing)), Err(ConfigError::Missing(_))));
    }
}

/// Expands a leading `~/` to `$HOME/`.
pub fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}
