//! Gating the real Argo CD processes on their kwok pods.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::parts::Parts;
use crate::process;
use crate::state::{EnvState, State};

/// One real process behind a kwok pod.
struct Component {
    /// `app.kubernetes.io/name` of its pods in `argocd`.
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
    pub fn new(client: kube::Client, parts: &Parts, state: &State, es: &EnvState) -> Gate {
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
        let component = |pod, command, file: &str| Component { pod, command, log: logs.join(file), child: None, last_start: None };
        Gate {
            client,
            components: vec![
                component("argocd-redis", redis_cmd, "argocd-redis.log"),
                component("argocd-repo-server", repo, "argocd-repo-server.log"),
                component("argocd-application-controller", controller, "argocd-application-controller.log"),
            ],
        }
    }

    pub async fn reconcile(&mut self) -> Result<()> {
        for c in &mut self.components {
            let running = super::addon_running(&self.client, "argocd", c.pod).await?;
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

fn stop(c: &mut Component) {
    if let Some(mut child) = c.child.take() {
        process::stop(child.id(), Duration::from_secs(10));
        let _ = child.wait();
    }
}
