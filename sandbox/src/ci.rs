//! `mezame-sandbox ci <ms> --env dev`: what the platform's CI does on a merge
//! to `development` — a new commit in the app repository, the image tag
//! rewritten in the manifest repository (the `sed`), committed by the CI bot —
//! followed by what the Git webhook does: ask Argo CD to refresh the
//! Application, so the real Argo CD rolls it out.

use anyhow::{Context, Result, bail};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use serde::Serialize;

use crate::git::Repo;
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
