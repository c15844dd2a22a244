//! One Kubernetes control plane per environment, run by `kwokctl` with the
//! binary runtime and the locally built binaries: etcd, kube-apiserver,
//! kube-controller-manager, kube-scheduler and the kwok controller (the fake
//! kubelets), all on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::parts::Parts;
use crate::platform::FAIL_LABEL;
use crate::state::{State, cluster_name};

/// kwokctl with the sandbox's workdir, and the locally built kubectl first on
/// `PATH` (kwokctl runs it to check that the cluster serves).
fn kwokctl(parts: &Parts, state: &State) -> Command {
    let mut cmd = Command::new(parts.bin("kwokctl"));
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![parts.kubernetes.clone()];
    dirs.extend(std::env::split_paths(&path));
    cmd.env("KWOK_WORKDIR", state.kwok_dir())
        .env("PATH", std::env::join_paths(dirs).expect("valid PATH"))
        .env("KWOK_KUBECTL_BINARY", parts.bin("kubectl"));
    cmd
}

fn run(mut cmd: Command, what: &str, log: &Path) -> Result<()> {
    let out = std::fs::File::options().create(true).append(true).open(log)?;
    let status = cmd.stdout(out.try_clone()?).stderr(out).status().with_context(|| format!("cannot run kwokctl ({what})"))?;
    if !status.success() {
        bail!("kwokctl {what} failed ({status}); see {}", log.display());
    }
    Ok(())
}

/// Whether kwokctl knows the cluster (its workdir exists).
pub fn exists(state: &State, env: &str) -> bool {
    state.kwok_dir().join("clusters").join(cluster_name(env)).join("kwok.yaml").exists()
}

/// Creates the cluster of `env`.
pub fn create(parts: &Parts, state: &State, env: &str) -> Result<()> {
    let dir = state.env_dir(env);
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("kwokctl.yaml");
    std::fs::write(&config, kwokctl_config(parts)?)?;
    let mut cmd = kwokctl(parts, state);
    cmd.args(["create", "cluster", "--name", &cluster_name(env), "--runtime", "binary"])
        .arg("--kube-apiserver-binary")
        .arg(parts.bin("kube-apiserver"))
        .arg("--kube-controller-manager-binary")
        .arg(parts.bin("kube-controller-manager"))
        .arg("--kube-scheduler-binary")
        .arg(parts.bin("kube-scheduler"))
        .arg("--kwok-controller-binary")
        .arg(parts.bin("kwok"))
        .arg("--etcd-binary")
        .arg(parts.bin("etcd"))
        .arg("--kubeconfig")
        .arg(state.kubeconfig())
        .arg("--config")
        .arg(&config)
        .args(["--wait", "2m"]);
    run(cmd, "create cluster", &dir.join("kwokctl.log"))
}

/// Starts the processes of an existing cluster again.
pub fn start(parts: &Parts, state: &State, env: &str) -> Result<()> {
    let mut cmd = kwokctl(parts, state);
    cmd.args(["start", "cluster", "--name", &cluster_name(env), "--wait", "2m"]);
    run(cmd, "start cluster", &state.env_dir(env).join("kwokctl.log"))
}

/// Stops the environment's kube-apiserver (and only it), as an outage would:
/// every client of the cluster sees it down until [`start`] runs.
pub fn stop_apiserver(state: &State, env: &str) -> Result<()> {
    let port = apiserver_port(state, env)?;
    let pid = pids(state, env)
        .into_iter()
        .find(|(name, _)| name == "kube-apiserver")
        .map(|(_, pid)| pid)
        .with_context(|| format!("no kube-apiserver pid recorded for {env}"))?;
    crate::process::stop(pid, std::time::Duration::from_secs(5));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while crate::process::port_open(port) {
        if std::time::Instant::now() > deadline {
            bail!("kube-apiserver of {env} still answers on port {port}");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // kwokctl takes a pid that answers signal 0 for a running component, and a
    // stopped process can linger as a zombie here (PID 1 does not reap): without
    // the pid file, `start` starts the API server again.
    let pid_file = state.kwok_dir().join("clusters").join(cluster_name(env)).join("pids").join("kube-apiserver.pid");
    let _ = std::fs::remove_file(pid_file);
    Ok(())
}

/// Stops the cluster's processes and removes it.
pub fn delete(parts: &Parts, state: &State, env: &str) -> Result<()> {
    let mut cmd = kwokctl(parts, state);
    cmd.args(["delete", "cluster", "--name", &cluster_name(env), "--kubeconfig"]).arg(state.kubeconfig());
    let log = state.dir.join("down.log");
    run(cmd, "delete cluster", &log)
}

/// Pids of the cluster's processes, as kwokctl recorded them.
pub fn pids(state: &State, env: &str) -> Vec<(String, u32)> {
    let dir = state.kwok_dir().join("clusters").join(cluster_name(env)).join("pids");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().trim_end_matches(".pid").to_string();
        if let Some(pid) = std::fs::read_to_string(entry.path()).ok().and_then(|s| s.trim().parse().ok()) {
            out.push((name, pid));
        }
    }
    out.sort();
    out
}

/// The API server port, read from the cluster's kubeconfig.
pub fn apiserver_port(state: &State, env: &str) -> Result<u16> {
    let kubeconfig: PathBuf = state.cluster_kubeconfig(env);
    let text = std::fs::read_to_string(&kubeconfig).with_context(|| format!("reading {}", kubeconfig.display()))?;
    text.lines()
        .find_map(|l| l.trim().strip_prefix("server: https://127.0.0.1:"))
        .and_then(|p| p.trim().parse().ok())
        .with_context(|| format!("no 127.0.0.1 server in {}", kubeconfig.display()))
}

/// KwokctlConfiguration (loopback only, no client rate limits) plus the
/// Stages: kwok's defaults (a custom Stage replaces them all, so they are
/// listed again), with Job pods taking a few seconds, and `pod-failed` for
/// pods labelled to fail.
///
/// `disableQPSLimits` lifts the controller-manager's and the scheduler's
/// client limits (20 and 50 requests/s by default) and the API server's
/// in-flight limits: with them the ReplicaSet controller creates 20 pods a
/// second (the capacity bench's 3,000 pods took 165 s to start; 30,000
/// would take 25 minutes).
fn kwokctl_config(parts: &Parts) -> Result<String> {
    let mut out = String::from(
        "apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokctlConfiguration\noptions:\n  bindAddress: 127.0.0.1\n  disableQPSLimits: true\n",
    );
    // One controller-manager and one scheduler per cluster: no leader to
    // elect. Electing one, each exits for good when it cannot renew its lease
    // in 10 s — an API server stopped by a test, or slowed by a build on the
    // same 2 cores — and the cluster runs on without them (pods neither
    // replaced nor scheduled; kwokctl takes the zombie's pid for alive).
    out.push_str("componentsPatches:\n");
    for component in ["kube-controller-manager", "kube-scheduler"] {
        out.push_str(&format!("- name: {component}\n  extraArgs:\n  - key: leader-elect\n    value: \"false\"\n"));
    }
    for stage in ["node-initialize", "node-heartbeat-with-lease", "pod-ready", "pod-complete", "pod-delete"] {
        let path = parts.kwok.join("stages").join(format!("{stage}.yaml"));
        let mut text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        if stage == "pod-complete" {
            let mut doc: serde_yaml::Value = serde_yaml::from_str(&text)?;
            doc["spec"]["delay"] = serde_yaml::from_str("{durationMilliseconds: 4000, jitterDurationMilliseconds: 6000}")?;
            text = serde_yaml::to_string(&doc)?;
        }
        out.push_str("---\n");
        out.push_str(&text);
    }
    out.push_str("---\n");
    out.push_str(&pod_failed_stage());
    Ok(out)
}

fn pod_failed_stage() -> String {
    format!(
        r#"apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-failed
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchLabels:
      {FAIL_LABEL}: fail
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Running'
  weight: 1
  delay:
    durationMilliseconds: 4000
    jitterDurationMilliseconds: 4000
  next:
    event:
      type: Warning
      reason: BackOff
      message: "container exited with code 1"
    statusTemplate: |
      {{{{ $now := Now }}}}
      conditions:
      - lastTransitionTime: {{{{ $now | Quote }}}}
        status: "False"
        type: Ready
      - lastTransitionTime: {{{{ $now | Quote }}}}
        status: "False"
        type: ContainersReady
      containerStatuses:
      {{{{ range .spec.containers }}}}
      - image: {{{{ .image | Quote }}}}
        name: {{{{ .name | Quote }}}}
        ready: false
        restartCount: 0
        started: false
        state:
          terminated:
            exitCode: 1
            reason: Error
            message: "stock report failed: upstream timeout"
            startedAt: {{{{ $now | Quote }}}}
            finishedAt: {{{{ $now | Quote }}}}
      {{{{ end }}}}
      phase: Failed
"#
    )
}
