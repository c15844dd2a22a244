//! The sandbox's real parts, built from their registries at pinned versions
//! and cached by version under [`crate::paths::cache_dir`]:
//!
//! | part | source | what |
//! | --- | --- | --- |
//! | Kubernetes | Go module `k8s.io/kubernetes` | kube-apiserver, kube-controller-manager, kube-scheduler, kubectl |
//! | etcd | Go module `go.etcd.io/etcd/server/v3` | etcd |
//! | kwok | Go module `sigs.k8s.io/kwok` | kwokctl, kwok (the fake kubelets) and its default Stage files |
//! | Argo CD | Go module `github.com/argoproj/argo-cd/v3` | the multi-call `argocd` binary and its CRDs |
//! | moto | PyPI `moto[server]` and `cbor2` in its own venv | `python -m moto.server` |
//! | oidc-provider | npm `oidc-provider` | the sandbox's OpenID provider (sign-in) |
//! | Helm | Go module `helm.sh/helm/v3` | `helm`, for the chart's tests |
//! | external-dns | Go module `sigs.k8s.io/external-dns` (Go 1.27 from the module proxy) | prod's DNS records |
//! | Redis | Debian `redis-server` | used by Argo CD |
//!
//! A part is built into `<name>-<version>.tmp` and renamed when complete, so an
//! interrupted build is redone, never half-used.

mod go;
mod moto;
mod npm;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, bail};

use crate::paths::cache_dir;

pub const KUBERNETES: &str = "v1.36.3";
pub const ETCD: &str = "v3.6.16";
pub const KWOK: &str = "v0.8.0";
pub const ARGOCD: &str = "v3.2.11";
pub const MOTO: &str = "5.2.5";
/// CBOR for moto's Smithy RPC v2 bridge (CloudWatch); in the part's name, so
/// a venv without it is built again.
pub const CBOR2: &str = "5.6.5";
pub const OIDC_PROVIDER: &str = "9.13.3";
pub const HELM: &str = "v3.22.0";
pub const EXTERNAL_DNS: &str = "v0.23.0";

/// Paths of every built part.
#[derive(Debug, Clone)]
pub struct Parts {
    /// kube-apiserver, kube-controller-manager, kube-scheduler, kubectl.
    pub kubernetes: PathBuf,
    pub etcd: PathBuf,
    /// kwok, kwokctl, and `stages/` (kwok's default Stage files).
    pub kwok: PathBuf,
    /// `argocd` plus `argocd-application-controller` / `argocd-repo-server`
    /// symlinks, and `crds/`.
    pub argocd: PathBuf,
    /// The Python of moto's venv (run as `python -m moto.server`, which keeps
    /// working when the venv directory is renamed, unlike its scripts).
    pub moto_python: PathBuf,
    pub redis_server: PathBuf,
    /// `node_modules/oidc-provider` lives here (and `provider.mjs`, written by `up`).
    pub oidc_provider: PathBuf,
    /// `helm` (the chart's tests).
    pub helm: PathBuf,
    /// `external-dns` (the records of an environment that has it: prod).
    pub external_dns: PathBuf,
}

impl Parts {
    pub fn bin(&self, name: &str) -> PathBuf {
        match name {
            "etcd" => self.etcd.join("etcd"),
            "helm" => self.helm.join("helm"),
            "external-dns" => self.external_dns.join("external-dns"),
            "kwok" | "kwokctl" => self.kwok.join(name),
            "argocd" | "argocd-application-controller" | "argocd-repo-server" => self.argocd.join(name),
            _ => self.kubernetes.join(name),
        }
    }
}

/// Builds what is missing (printing progress) and returns the paths.
pub fn ensure() -> Result<Parts> {
    let parts = cache_dir().join("parts");
    std::fs::create_dir_all(&parts)?;
    let redis_server = which("redis-server")
        .ok_or_else(|| anyhow::anyhow!("redis-server is not installed (Argo CD needs a Redis): apt-get install redis-server"))?;
    for tool in ["git", "python3", "node", "npm"] {
        if which(tool).is_none() {
            bail!("{tool} is not installed; the sandbox needs it (apt-get install {tool})");
        }
    }
    Ok(Parts {
        kubernetes: part(&parts, "kubernetes", KUBERNETES, "~4 min", go::kubernetes)?,
        etcd: part(&parts, "etcd", ETCD, "~30 s", go::etcd)?,
        kwok: part(&parts, "kwok", KWOK, "~2 min", go::kwok)?,
        argocd: part(&parts, "argocd", ARGOCD, "~4 min", go::argocd)?,
        moto_python: part(&parts, "moto", &format!("{MOTO}-cbor2-{CBOR2}"), "~1 min", moto::install)?.join("venv/bin/python"),
        redis_server,
        oidc_provider: part(&parts, "oidc-provider", OIDC_PROVIDER, "~10 s", npm::install)?,
        helm: part(&parts, "helm", HELM, "~3 min", go::helm)?,
        external_dns: part(&parts, "external-dns", EXTERNAL_DNS, "~8 min", go::external_dns)?,
    })
}

/// The parts, if every one is already built (never builds: for `down`).
pub fn find() -> Option<Parts> {
    let parts = cache_dir().join("parts");
    let built = |name: &str, version: &str| {
        let dir = parts.join(format!("{name}-{version}"));
        dir.join(".complete").exists().then_some(dir)
    };
    Some(Parts {
        kubernetes: built("kubernetes", KUBERNETES)?,
        etcd: built("etcd", ETCD)?,
        kwok: built("kwok", KWOK)?,
        argocd: built("argocd", ARGOCD)?,
        moto_python: built("moto", &format!("{MOTO}-cbor2-{CBOR2}"))?.join("venv/bin/python"),
        redis_server: which("redis-server")?,
        // Not needed to stop or restart a cluster: a sandbox made before it existed still stops cleanly.
        oidc_provider: parts.join(format!("oidc-provider-{OIDC_PROVIDER}")),
        helm: parts.join(format!("helm-{HELM}")),
        external_dns: parts.join(format!("external-dns-{EXTERNAL_DNS}")),
    })
}

/// Returns `<parts>/<name>-<version>`, building it first if it is not complete.
fn part(parts: &Path, name: &str, version: &str, expected: &str, build: fn(&Path, &str) -> Result<()>) -> Result<PathBuf> {
    let dir = parts.join(format!("{name}-{version}"));
    if dir.join(".complete").exists() {
        return Ok(dir);
    }
    let tmp = parts.join(format!("{name}-{version}.tmp"));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    eprintln!("sandbox: building {name} {version} (first time only, {expected} on 2 cores)…");
    let started = Instant::now();
    build(&tmp, version).map_err(|e| e.context(format!("building {name} {version}")))?;
    std::fs::write(tmp.join(".complete"), version)?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&tmp, &dir)?;
    eprintln!("sandbox: built {name} {version} in {:.0}s", started.elapsed().as_secs_f64());
    Ok(dir)
}

/// A program on `PATH` (or in /usr/sbin, where Debian puts some daemons).
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}
