//! The sandbox's state on disk (`sandbox.json` in the state directory): what
//! runs where, so that `up` can repair, `status` can report and `down` can stop.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::repos::Layout;

/// Everything a sandbox is made of.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    /// The state directory itself.
    pub dir: PathBuf,
    /// Seconds a new node takes to join after its instance starts.
    pub boot_delay_secs: u64,
    pub envs: BTreeMap<String, EnvState>,
    /// The OpenID provider (one per sandbox).
    #[serde(default)]
    pub oidc: Option<OidcState>,
}

/// One environment: a cluster, a moto, an Argo CD, a controller.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnvState {
    pub name: String,
    /// kwokctl cluster name (`mezame-<env>`); context `kwok-mezame-<env>`.
    pub cluster: String,
    pub apiserver_port: u16,
    pub moto_port: u16,
    /// The AWS endpoint mezame is given: a proxy in front of moto (run by the
    /// controller) that injects faults on demand (`mezame-sandbox aws-faults`).
    #[serde(default)]
    pub aws_port: u16,
    pub redis_port: u16,
    pub repo_server_port: u16,
    pub repo_server_metrics_port: u16,
    pub controller_metrics_port: u16,
    pub moto_pid: Option<u32>,
    pub controller_pid: Option<u32>,
}

impl State {
    pub fn file(dir: &Path) -> PathBuf {
        dir.join("sandbox.json")
    }

    /// Reads the state of the sandbox in `dir`, if there is one.
    pub fn load(dir: &Path) -> Result<Option<State>> {
        let file = Self::file(dir);
        if !file.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&file)?;
        let state = serde_json::from_str(&text).with_context(|| format!("reading {}", file.display()))?;
        Ok(Some(state))
    }

    pub fn save(&self) -> Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let tmp = self.dir.join("sandbox.json.tmp");
        std::fs::write(&tmp, serde_json::to_string_pretty(self)?)?;
        std::fs::rename(tmp, Self::file(&self.dir))?;
        Ok(())
    }

    pub fn repos(&self) -> Layout {
        Layout { root: self.dir.join("git") }
    }

    /// `KWOK_WORKDIR` of the sandbox's clusters.
    pub fn kwok_dir(&self) -> PathBuf {
        self.dir.join("kwok")
    }

    /// Kubeconfig with a context per environment (`kwok-mezame-<env>`).
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// The mezame configuration written by `up`.
    pub fn mezame_config(&self) -> PathBuf {
        self.dir.join("mezame.toml")
    }

    pub fn env_dir(&self, env: &str) -> PathBuf {
        self.dir.join("envs").join(env)
    }

    /// Kubeconfig of one cluster alone (kwokctl writes it).
    pub fn cluster_kubeconfig(&self, env: &str) -> PathBuf {
        self.kwok_dir().join("clusters").join(cluster_name(env)).join("kubeconfig.yaml")
    }

    /// PKI of one cluster (ca.crt, admin.crt, admin.key).
    pub fn cluster_pki(&self, env: &str) -> PathBuf {
        self.kwok_dir().join("clusters").join(cluster_name(env)).join("pki")
    }

    /// Faults the AWS proxy of `env` injects (`mezame-sandbox aws-faults`).
    pub fn aws_faults_file(&self, env: &str) -> PathBuf {
        self.env_dir(env).join("aws-faults.json")
    }

    /// File holding `env`'s boot delay when `mezame-sandbox boot-delay` changed it.
    fn boot_delay_file(&self, env: &str) -> PathBuf {
        self.env_dir(env).join("boot-delay-secs")
    }

    /// Seconds a new node of `env` takes to join: the environment's own value
    /// (`mezame-sandbox boot-delay`), else the sandbox's (`up --boot-delay`).
    pub fn boot_delay(&self, env: &str) -> u64 {
        std::fs::read_to_string(self.boot_delay_file(env)).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(self.boot_delay_secs)
    }

    /// Sets `env`'s boot delay (`None`: back to the sandbox's); its controller
    /// uses it for the instances it sees next.
    pub fn set_boot_delay(&self, env: &str, secs: Option<u64>) -> Result<()> {
        self.env(env)?;
        let file = self.boot_delay_file(env);
        match secs {
            Some(s) => std::fs::write(&file, s.to_string()).with_context(|| format!("writing {}", file.display())),
            None => match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).with_context(|| format!("removing {}", file.display())),
                _ => Ok(()),
            },
        }
    }

    pub fn env(&self, env: &str) -> Result<&EnvState> {
        self.envs.get(env).with_context(|| {
            format!(
                "environment {env} is not in this sandbox (it has: {}); start it with `mezame-sandbox up --envs {env}`",
                self.envs.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
    }
}

/// What `up` keeps of the provider in `sandbox.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OidcState {
    pub port: u16,
    pub pid: Option<u32>,
}

impl OidcState {
    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

pub fn cluster_name(env: &str) -> String {
    format!("mezame-{env}")
}

pub fn context_name(env: &str) -> String {
    format!("kwok-{}", cluster_name(env))
}

impl EnvState {
    /// Every port the environment's own processes listen on (not kwok's).
    pub fn ports(&self) -> [u16; 7] {
        [
            self.moto_port,
            self.aws_port,
            self.redis_port,
            self.repo_server_port,
            self.repo_server_metrics_port,
            self.controller_metrics_port,
            self.apiserver_port,
        ]
    }

    pub fn moto_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.moto_port)
    }
    /// What mezame calls: the fault-injecting proxy in front of moto.
    pub fn aws_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.aws_port)
    }
    pub fn apiserver_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.apiserver_port)
    }
}
