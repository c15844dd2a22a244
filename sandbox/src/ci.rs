//! `mezame-sandbox ci <ms> --env dev`: what the platform's CI does on a merge
//! to `development` — a new commit in the app repository, the image tag
//! rewritten in the manifest repository (the `sed`), committed by the CI bot —
//! followed by what the Git webhook does: ask Argo CD to refresh the
//! Application, so the real Argo CD rolls it out.
//!
//! `--broken`: the build's pods never start. Its manifest commit also names a
//! scheduler nobody runs in the pod template (the pods stay Pending) and sets
//! a 20 s progress deadline, so the rollout stalls (`ProgressDeadlineExceeded`)
//! and Argo CD calls the Application Degraded; the next run without it
//! removes both lines (each marked `# ci --broken`).

use anyhow::{Context, Result, bail};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use serde::Serialize;

use crate::git::Repo;
use crate::manifests::ms_dir;
use crate::platform::{AUTHORS, CI_BOT, env_spec, microservice};
use crate::repos::{AppCommit, deploy_message, rewrite_ms};
use crate::state::State;

/// What a CI run produced.
#[derive(Debug, Clone, Serialize)]
pub struct CiRun {
    pub ms: String,
    pub env: String,
    /// The new app commit = the image tag.
    pub app_commit: String,
    /// The manifest repository commit that deploys it.
    pub manifest_commit: String,
    pub image: String,
}

/// The Argo CD `Application` resource.
pub fn application_resource() -> ApiResource {
    ApiResource {
        group: "argoproj.io".into(),
        version: "v1alpha1".into(),
        api_version: "argoproj.io/v1alpha1".into(),
        kind: "Application".into(),
        plural: "applications".into(),
    }
}

pub async fn run(state: &State, ms: &str, env: &str, message: Option<&str>) -> Result<CiRun> {
    run_as(state, ms, env, message, false).await
}

/// A CI run whose image crashes on start when `broken` (see the module's doc).
pub async fn run_as(state: &State, ms: &str, env: &str, message: Option<&str>, broken: bool) -> Result<CiRun> {
    let spec = env_spec(env).with_context(|| format!("unknown environment {env}"))?;
    let es = state.env(env)?;
    if microservice(ms).is_none() {
        bail!("unknown microservice {ms}; see `mezame-sandbox status` for the list");
    }
    let layout = state.repos();
    // 1. A developer's change lands on `development`.
    let app = Repo::open(&layout.app(ms))?;
    app.checkout("development")?;
    let now = chrono::Utc::now();
    let author = AUTHORS[(now.timestamp() as usize) % AUTHORS.len()];
    let mut changelog = app.read("CHANGELOG.md").unwrap_or_default();
    let message = message.unwrap_or("feat: small improvement");
    changelog.push_str(&format!("- {message} ({})\n", now.format("%Y-%m-%d %H:%M:%S")));
    app.write("CHANGELOG.md", &changelog)?;
    let sha = app.commit(message, author, author, Some(now))?;
    let commit = AppCommit { sha: sha.clone(), subject: message.to_string(), author, at: now, repo: app.url() };
    let app_commit = sha;
    // 2. CI builds the image and rewrites the manifests' image tag.
    let manifests = Repo::open(&layout.manifests())?;
    manifests.checkout("master")?;
    if rewrite_ms(&manifests, spec, ms, &app_commit)? == 0 {
        bail!("no image of {ms} found in {env}'s manifests");
    }
    mark_broken(&manifests, env, ms, broken)?;
    let manifest_commit = manifests.commit(&deploy_message(ms, env, &commit), CI_BOT, CI_BOT, None)?;
    // 3. The webhook: Argo CD refreshes the Application now instead of in 3 minutes.
    let client = crate::kube::client(&state.cluster_kubeconfig(&es.name)).await?;
    let apps: Api<DynamicObject> = Api::namespaced_with(client, "argocd", &application_resource());
    apps.patch(
        ms,
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}})),
    )
    .await
    .with_context(|| format!("annotating Application {ms} for a refresh"))?;
    Ok(CiRun { ms: ms.into(), env: env.into(), image: spec.image(ms, &app_commit), app_commit, manifest_commit })
}

/// The marker of the lines `--broken` adds.
const BROKEN: &str = "# ci --broken";
/// The scheduler `--broken` names: none runs by that name (a DNS-1123
/// subdomain, as the API server requires of `schedulerName`).
const NO_SCHEDULER: &str = "sandbox-no-scheduler";

/// Adds (`broken`) or removes the lines that make `ms`'s pods fail and its
/// rollout stall, in the file of its Deployment.
fn mark_broken(repo: &Repo, env: &str, ms: &str, broken: bool) -> Result<()> {
    let dir = repo.path.join(ms_dir(env, ms));
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        let content = std::fs::read_to_string(&path)?;
        if !content.contains("\nkind: Deployment\n") {
            continue;
        }
        let mut out = String::new();
        let (mut deployment, mut in_template) = (false, false);
        for line in content.lines().filter(|l| !l.ends_with(BROKEN)) {
            out.push_str(line);
            out.push('\n');
            if line == "---" || line.starts_with("kind: ") {
                (deployment, in_template) = (line == "kind: Deployment", false);
            }
            if !broken || !deployment {
                continue;
            }
            if line == "spec:" {
                out.push_str(&format!("  progressDeadlineSeconds: 20 {BROKEN}\n"));
            }
            in_template |= line == "  template:";
            if in_template && line == "    spec:" {
                out.push_str(&format!("      schedulerName: {NO_SCHEDULER} {BROKEN}\n"));
                in_template = false;
            }
        }
        if out != content {
            std::fs::write(&path, out)?;
        }
    }
    Ok(())
}
