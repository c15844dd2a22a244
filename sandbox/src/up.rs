//! `up`, `down` and `status`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use kube::api::{Api, DynamicObject, ListParams};
use serde::Serialize;

use crate::aws::{Aws, seed, start_moto};
use crate::ci::application_resource;
use crate::parts::{self, Parts};
use crate::platform::{ENVS, REGION, env_spec};
use crate::process::{alive, cmdline, free_port, port_open, reusable, spawn_detached, stop};
use crate::state::{EnvState, State, cluster_name, context_name};
use crate::{bootstrap, cluster, repos};

/// Options of `up`.
pub struct UpOptions {
    pub dir: PathBuf,
    /// Environments to bring up; `None`: those of the existing sandbox, else dev and prod.
    pub envs: Option<Vec<String>>,
    pub boot_delay_secs: u64,
    /// How long to wait for every Application to be Synced and Healthy.
    pub wait: Duration,
}

fn say(msg: &str) {
    eprintln!("sandbox: {msg}");
}

pub async fn up(opts: UpOptions) -> Result<State> {
    let started = Instant::now();
    let previous = State::load(&opts.dir)?;
    let envs: Vec<String> = match (&opts.envs, &previous) {
        (Some(e), _) => e.clone(),
        (None, Some(s)) if !s.envs.is_empty() => s.envs.keys().cloned().collect(),
        _ => vec!["dev".into(), "prod".into()],
    };
    for env in &envs {
        if env_spec(env).is_none() {
            bail!("unknown environment {env:?}; the sandbox knows {}", ENVS.iter().map(|e| e.name).collect::<Vec<_>>().join(", "));
        }
    }
    let parts = tokio::task::spawn_blocking(parts::ensure).await??;
    let mut state = previous.unwrap_or_else(|| State { dir: opts.dir.clone(), ..Default::default() });
    state.dir = opts.dir.clone();
    state.boot_delay_secs = opts.boot_delay_secs;
    std::fs::create_dir_all(&state.dir)?;
    let layout = state.repos();
    if !layout.manifests().exists() {
        say("creating the git repositories (17 apps + k8s manifests) with a few weeks of history…");
    }
    tokio::task::spawn_blocking(move || repos::ensure(&layout)).await??;
    // Ports of environments not started yet are theirs: never handed out.
    crate::process::reserve(state.envs.values().flat_map(EnvState::ports).chain(state.oidc.as_ref().map(|o| o.port)));
    let ids = crate::oidc::Identities::ensure(&state)?;
    state.oidc = Some(crate::oidc::ensure_running(&parts, &state, &ids)?);
    state.save()?;
    for env in &envs {
        let es = up_env(&parts, &mut state, env).await.with_context(|| format!("bringing up {env}"))?;
        state.envs.insert(env.clone(), es);
        state.save()?;
    }
    write_mezame_config(&state)?;
    for env in &envs {
        wait_ready(&state, env, opts.wait).await?;
    }
    say(&format!("up in {:.1}s: {}", started.elapsed().as_secs_f64(), envs.join(", ")));
    Ok(state)
}

async fn up_env(parts: &Parts, state: &mut State, env: &str) -> Result<EnvState> {
    let spec = env_spec(env).expect("validated");
    let t = Instant::now();
    // 1. The control plane.
    if cluster::exists(state, env) {
        let answering = cluster::apiserver_port(state, env).is_ok_and(port_open);
        if !answering {
            say(&format!("{env}: starting the control plane again"));
            let p = parts.clone();
            let s = state.clone();
            let e = env.to_string();
            if tokio::task::spawn_blocking(move || cluster::start(&p, &s, &e)).await?.is_err() {
                say(&format!("{env}: the cluster could not start; recreating it"));
                recreate(parts, state, env).await?;
            }
        }
    } else {
        say(&format!("{env}: creating the control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok)"));
        recreate(parts, state, env).await?;
    }
    let apiserver_port = cluster::apiserver_port(state, env)?;
    let previous = state.envs.get(env).cloned();
    // A kept port must still be ours: held by the running controller's
    // processes, or free to bind again (otherwise something else took it
    // while the environment was down, and it gets a new one).
    let controller_alive =
        previous.as_ref().and_then(|p| p.controller_pid).is_some_and(|p| alive(p) && cmdline(p).is_some_and(|c| c.contains("controller")));
    let port = |p: Option<u16>| -> Result<u16> {
        match p {
            Some(p) if controller_alive || reusable(p) => Ok(p),
            Some(p) => {
                let new = free_port()?;
                say(&format!("{env}: port {p} cannot be kept (taken, or inside the ephemeral range); using {new}"));
                Ok(new)
            }
            None => free_port(),
        }
    };
    let mut es = EnvState {
        name: env.into(),
        cluster: cluster_name(env),
        apiserver_port,
        // moto runs on its own: step 2 checks its port.
        moto_port: previous.as_ref().map(|p| p.moto_port).map_or_else(free_port, Ok)?,
        aws_port: port(previous.as_ref().map(|p| p.aws_port).filter(|p| *p != 0))?,
        redis_port: port(previous.as_ref().map(|p| p.redis_port))?,
        repo_server_port: port(previous.as_ref().map(|p| p.repo_server_port))?,
        repo_server_metrics_port: port(previous.as_ref().map(|p| p.repo_server_metrics_port))?,
        controller_metrics_port: port(previous.as_ref().map(|p| p.controller_metrics_port))?,
        moto_pid: previous.as_ref().and_then(|p| p.moto_pid),
        controller_pid: previous.as_ref().and_then(|p| p.controller_pid),
    };
    // 2. moto, seeded.
    let logs = state.env_dir(env).join("logs");
    let moto_ok = es.moto_pid.is_some_and(|p| alive(p) && cmdline(p).is_some_and(|c| c.contains("moto"))) && port_open(es.moto_port);
    if !moto_ok {
        if let Some(pid) = es.moto_pid {
            stop(pid, Duration::from_secs(5));
        }
        if !reusable(es.moto_port) {
            es.moto_port = free_port()?;
        }
        say(&format!("{env}: starting moto (account {}) on port {}", spec.account_id, es.moto_port));
        es.moto_pid = Some(start_moto(&parts.moto_python, spec, es.moto_port, &logs.join("moto.log"))?);
    }
    let aws = Aws::connect(&es.moto_url()).await;
    seed(&aws, spec).await.context("seeding moto")?;
    // 3. What the cluster gets before GitOps takes over.
    let client = crate::kube::client(&state.cluster_kubeconfig(env)).await?;
    bootstrap::apply(&client, parts, state, spec, &es).await?;
    // 4. The sandbox controller (restarted when its binary changed).
    let exe = std::env::current_exe()?;
    let exe_stamp = std::fs::metadata(&exe)?.modified()?;
    let stamp_file = state.env_dir(env).join("controller.stamp");
    let stamp = format!("{}:{:?}", exe.display(), exe_stamp);
    let controller_ok = controller_alive && std::fs::read_to_string(&stamp_file).ok().as_deref() == Some(stamp.as_str());
    if !controller_ok {
        if let Some(pid) = es.controller_pid {
            stop(pid, Duration::from_secs(15));
        }
        state.envs.insert(env.into(), es.clone());
        state.save()?;
        let pid = spawn_detached(
            Command::new(&exe)
                .args(["controller", "--env", env, "--dir"])
                .arg(&state.dir)
                .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into())),
            &logs.join("controller.log"),
        )?;
        std::fs::write(&stamp_file, stamp)?;
        es.controller_pid = Some(pid);
    }
    say(&format!("{env}: control plane, moto, Argo CD config and controller ready in {:.1}s", t.elapsed().as_secs_f64()));
    Ok(es)
}

async fn recreate(parts: &Parts, state: &State, env: &str) -> Result<()> {
    let (p, s, e) = (parts.clone(), state.clone(), env.to_string());
    tokio::task::spawn_blocking(move || {
        if cluster::exists(&s, &e) {
            let _ = cluster::delete(&p, &s, &e);
        }
        cluster::create(&p, &s, &e)
    })
    .await?
}

/// Waits until every Application of `env` is Synced and Healthy with a
/// deploy history, printing progress.
pub async fn wait_ready(state: &State, env: &str, timeout: Duration) -> Result<()> {
    let client = crate::kube::client(&state.cluster_kubeconfig(env)).await?;
    let apps: Api<DynamicObject> = Api::namespaced_with(client, "argocd", &application_resource());
    let deadline = Instant::now() + timeout;
    let started = Instant::now();
    let mut last = String::new();
    loop {
        let list = apps.list(&ListParams::default().labels(bootstrap::APP_LABEL)).await;
        let (ready, total, pending) = match &list {
            Ok(l) => {
                let pending: Vec<String> = l
                    .items
                    .iter()
                    .filter(|a| !app_ready(a))
                    .map(|a| format!("{} ({})", a.metadata.name.clone().unwrap_or_default(), app_summary(a)))
                    .collect();
                (l.items.len() - pending.len(), l.items.len(), pending)
            }
            Err(e) => (0, 0, vec![e.to_string()]),
        };
        if total > 0 && pending.is_empty() {
            say(&format!("{env}: all {total} Applications Synced and Healthy ({:.0}s)", started.elapsed().as_secs_f64()));
            return Ok(());
        }
        let line = format!("{env}: {ready}/{total} Applications Synced and Healthy");
        if line != last {
            say(&line);
            last = line;
        }
        if Instant::now() >= deadline {
            bail!(
                "{env}: not every Application became Synced and Healthy within {}s; not ready: {}. Logs: {}",
                timeout.as_secs(),
                pending.join(", "),
                state.env_dir(env).join("logs").display()
            );
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// Synced, Healthy, and deployed at least once.
pub fn app_ready(app: &DynamicObject) -> bool {
    let status = &app.data["status"];
    status["sync"]["status"] == "Synced"
        && status["health"]["status"] == "Healthy"
        && status["history"].as_array().is_some_and(|h| !h.is_empty())
}

fn app_summary(app: &DynamicObject) -> String {
    let s = &app.data["status"];
    format!("{}/{}", s["sync"]["status"].as_str().unwrap_or("Unknown"), s["health"]["status"].as_str().unwrap_or("Unknown"))
}

/// The mezame configuration that points the panel at this sandbox.
fn write_mezame_config(state: &State) -> Result<()> {
    let mut out = format!(
        "# Written by `mezame-sandbox up`: the panel pointed at the sandbox in {dir}.\n\
         database = \"{db}\"\n\
         # Seal the Argo CD Secrets a sleep backs up (made once per sandbox).\n\
         backup_keys = [\"{key}\"]\n",
        dir = state.dir.display(),
        db = state.dir.join("mezame.db").display(),
        key = crate::config::backup_key(&state.dir)?,
    );
    if let Some(oidc) = &state.oidc {
        let envs: Vec<&str> = ENVS.iter().map(|e| e.name).filter(|e| state.envs.contains_key(*e)).collect();
        out.push_str(&crate::oidc::Identities::ensure(state)?.auth_toml(oidc, &envs));
    }
    let envs: Vec<&str> = state.envs.keys().map(String::as_str).collect();
    out.push_str(&crate::config::git_toml(state, &envs));
    for env in ENVS.iter().filter(|e| state.envs.contains_key(e.name)) {
        out.push_str(&crate::config::env_toml(state, env));
    }
    std::fs::write(state.mezame_config(), out)?;
    Ok(())
}

/// Stops every process of the sandbox in `dir` and removes its state.
pub fn down(dir: &Path) -> Result<()> {
    let Some(state) = State::load(dir)? else {
        say(&format!("no sandbox in {}", dir.display()));
        return Ok(());
    };
    // Never build anything just to stop it: without kwokctl, kill the recorded pids.
    let parts = parts::find();
    crate::oidc::stop_provider(&state);
    let mut pids = Vec::new();
    for (env, es) in &state.envs {
        if let Some(pid) = es.controller_pid {
            say(&format!("{env}: stopping the controller and Argo CD"));
            stop(pid, Duration::from_secs(20));
        }
        if let Some(pid) = es.moto_pid {
            stop(pid, Duration::from_secs(10));
        }
        pids.extend(cluster::pids(&state, env).into_iter().map(|(_, p)| p));
        say(&format!("{env}: deleting the control plane"));
        match &parts {
            Some(parts) => {
                if let Err(e) = cluster::delete(parts, &state, env) {
                    say(&format!("{env}: {e:#}; killing its processes"));
                }
            }
            None => say(&format!("{env}: kwokctl is not available; killing the processes")),
        }
    }
    for pid in pids {
        stop(pid, Duration::from_secs(10));
    }
    std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    say(&format!("down: removed {}", dir.display()));
    Ok(())
}

/// What `status` reports.
#[derive(Debug, Serialize)]
pub struct Status {
    pub dir: PathBuf,
    pub mezame_config: PathBuf,
    pub kubeconfig: PathBuf,
    pub repos: PathBuf,
    pub manifest_repo: PathBuf,
    /// The kubectl built with the sandbox's Kubernetes (same version as its API servers).
    pub kubectl: Option<PathBuf>,
    pub envs: BTreeMap<String, EnvStatus>,
    /// The OpenID provider mezame signs people in with.
    pub oidc: Option<OidcStatus>,
    /// One seeded user per role: sign in with name and password, or act as
    /// them with `Authorization: Bearer <token>`.
    pub users: Vec<crate::oidc::User>,
}

#[derive(Debug, Serialize)]
pub struct OidcStatus {
    pub issuer: String,
    pub pid: Option<u32>,
    pub running: bool,
    /// The provider's RSA signing key (PKCS#8 PEM), for tests that sign tokens.
    pub signing_key: PathBuf,
}

#[derive(Debug, Serialize)]
pub struct EnvStatus {
    pub context: String,
    pub apiserver: String,
    pub kubeconfig: PathBuf,
    /// mezame's AWS endpoint: a proxy in front of moto that injects faults on demand.
    pub aws_endpoint: String,
    /// moto itself.
    pub moto_endpoint: String,
    pub aws_account: String,
    pub aws_region: String,
    pub components: Vec<Component>,
}

#[derive(Debug, Serialize)]
pub struct Component {
    pub name: String,
    pub pid: Option<u32>,
    pub port: Option<u16>,
    pub running: bool,
}

pub fn status(dir: &Path) -> Result<Option<Status>> {
    let Some(state) = State::load(dir)? else { return Ok(None) };
    let mut envs = BTreeMap::new();
    for (env, es) in &state.envs {
        let spec = env_spec(env);
        let mut components: Vec<Component> = cluster::pids(&state, env)
            .into_iter()
            .map(|(name, pid)| Component {
                port: (name == "kube-apiserver").then_some(es.apiserver_port),
                running: alive(pid),
                name,
                pid: Some(pid),
            })
            .collect();
        let own = |name: &str, pid: Option<u32>, port: u16| Component {
            name: name.into(),
            running: pid.is_some_and(alive),
            pid,
            port: Some(port),
        };
        components.push(own("moto", es.moto_pid, es.moto_port));
        components.push(Component {
            name: "sandbox-controller".into(),
            pid: es.controller_pid,
            port: None,
            running: es.controller_pid.is_some_and(alive),
        });
        for (name, port) in [
            ("argocd-redis", es.redis_port),
            ("argocd-repo-server", es.repo_server_port),
            ("argocd-application-controller", es.controller_metrics_port),
        ] {
            let pid = find_process(&port.to_string(), name);
            components.push(Component { name: name.into(), running: pid.is_some(), pid, port: Some(port) });
        }
        envs.insert(
            env.clone(),
            EnvStatus {
                context: context_name(env),
                apiserver: es.apiserver_url(),
                kubeconfig: state.cluster_kubeconfig(env),
                aws_endpoint: es.aws_url(),
                moto_endpoint: es.moto_url(),
                aws_account: spec.map(|s| s.account_id.to_string()).unwrap_or_default(),
                aws_region: REGION.into(),
                components,
            },
        );
    }
    Ok(Some(Status {
        oidc: state.oidc.as_ref().map(|o| OidcStatus {
            issuer: o.issuer(),
            pid: o.pid,
            running: o.pid.is_some_and(alive) && port_open(o.port),
            signing_key: crate::oidc::signing_key_pem(&state),
        }),
        users: crate::oidc::users(&state),
        mezame_config: state.mezame_config(),
        kubeconfig: state.kubeconfig(),
        repos: state.repos().root,
        manifest_repo: state.repos().manifests(),
        kubectl: crate::parts::find().map(|p| p.bin("kubectl")),
        dir: state.dir,
        envs,
    }))
}

/// A process whose command line names `program` and contains `needle`.
fn find_process(needle: &str, program: &str) -> Option<u32> {
    let exe = if program == "argocd-redis" { "redis-server" } else { program };
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = cmdline(pid)?;
        (cmd.contains(exe) && cmd.contains(needle) && alive(pid)).then_some(pid)
    })
}
