//! Gating real processes on their kwok pods: Argo CD's, and external-dns where
//! it owns the records (prod). No node for the pod, no process.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::aws::SANDBOX_KEY;
use crate::parts::Parts;
use crate::platform::EnvSpec;
use crate::process;
use crate::state::{EnvState, State};

/// One real process behind a kwok pod.
struct Component {
    namespace: &'static str,
    /// `app.kubernetes.io/name` of its pods in `namespace`.
    pod: &'static str,
    command: Command,
    log: PathBuf,
    child: Option<Child>,
    last_start: Option<Instant>,
}

pub struct Gate {
    client: kube::Client,
    components: Vec<Component>,
}

impl Gate {
    pub fn new(client: kube::Client, parts: &Parts, state: &State, es: &EnvState, spec: &EnvSpec) -> Gate {
        let logs = state.env_dir(&es.name).join("logs");
        let tmp = state.env_dir(&es.name).join("argocd-tmp");
        let _ = std::fs::create_dir_all(&tmp);
        let redis = format!("127.0.0.1:{}", es.redis_port);
        let mut redis_cmd = Command::new(&parts.redis_server);
        redis_cmd.args([
            "--bind",
            "127.0.0.1",
            "--port",
            &es.redis_port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ]);
        let mut repo = Command::new(parts.bin("argocd-repo-server"));
        repo.args(["--address", "127.0.0.1", "--port", &es.repo_server_port.to_string(), "--disable-tls"])
            .args(["--metrics-address", "127.0.0.1", "--metrics-port", &es.repo_server_metrics_port.to_string()])
            .args(["--redis", &redis, "--loglevel", "warn"])
            .env("ARGOCD_GPG_ENABLED", "false")
            .env("TMPDIR", &tmp)
            .env("HOME", &tmp);
        let mut controller = Command::new(parts.bin("argocd-application-controller"));
        controller
            .arg("--kubeconfig")
            .arg(state.cluster_kubeconfig(&es.name))
            .args(["--namespace", "argocd"])
            .args(["--repo-server", &format!("127.0.0.1:{}", es.repo_server_port), "--repo-server-plaintext"])
            .args(["--redis", &redis, "--metrics-port", &es.controller_metrics_port.to_string()])
            .args(["--status-processors", "4", "--operation-processors", "4", "--loglevel", "warn"])
            .env("TMPDIR", &tmp)
            .env("HOME", &tmp);
        let component = |namespace, pod, command, file: &str| Component {
            namespace,
            pod,
            command,
            log: logs.join(file),
            child: None,
            last_start: None,
        };
        let mut components = vec![
            component("argocd", "argocd-redis", redis_cmd, "argocd-redis.log"),
            component("argocd", "argocd-repo-server", repo, "argocd-repo-server.log"),
            component("argocd", "argocd-application-controller", controller, "argocd-application-controller.log"),
        ];
        if spec.external_dns {
            components.push(component("kube-system", "external-dns", external_dns(parts, state, es, spec), "external-dns.log"));
        }
        Gate { client, components }
    }

    pub async fn reconcile(&mut self) -> Result<()> {
        for c in &mut self.components {
            let running = super::addon_running(&self.client, c.namespace, c.pod).await?;
            let alive = c.child.as_mut().is_some_and(|ch| ch.try_wait().ok().flatten().is_none());
            if running && !alive {
                // Restart a crashed process at most every 5 s.
                if c.last_start.is_some_and(|t| t.elapsed() < Duration::from_secs(5)) {
                    continue;
                }
                tracing::info!(component = c.pod, "pod Running: starting the real process");
                c.child = Some(process::spawn_child(&mut c.command, &c.log)?);
                c.last_start = Some(Instant::now());
            } else if !running && alive {
                tracing::info!(component = c.pod, "pod not Running: stopping the real process");
                stop(c);
            }
        }
        Ok(())
    }

    pub fn stop_all(&mut self) {
        for c in self.components.iter_mut().rev() {
            stop(c);
        }
    }
}

/// The real external-dns with its AWS provider on the environment's moto, as
/// a platform runs it for its Ingresses: TXT registry (owner `default`),
/// `sync`, the public zone of the environment; `--events` reacts to an
/// Ingress change at once (the interval is the fallback).
fn external_dns(parts: &Parts, state: &State, es: &EnvState, spec: &EnvSpec) -> Command {
    let mut cmd = Command::new(parts.bin("external-dns"));
    cmd.args(["--source=ingress", "--provider=aws", "--registry=txt", "--policy=sync", "--aws-zone-type=public"])
        .args(["--interval=1m", "--events", "--metrics-address=127.0.0.1:0", "--log-level=info"])
        .arg(format!("--domain-filter={}", spec.dns_zone()))
        .arg(format!("--kubeconfig={}", state.cluster_kubeconfig(&es.name).display()))
        .env("AWS_REGION", crate::platform::REGION)
        .env("AWS_ACCESS_KEY_ID", SANDBOX_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SANDBOX_KEY)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_ROUTE_53", es.moto_url());
    cmd
}

fn stop(c: &mut Component) {
    if let Some(mut child) = c.child.take() {
        process::stop(child.id(), Duration::from_secs(10));
        let _ = child.wait();
    }
}
