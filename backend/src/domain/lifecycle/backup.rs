//! Argo CD's settings, backed up on sleep and restored on wake where missing
//! (the disaster-recovery export/import of Argo CD, done through the API):
//! Applications, AppProjects, `argocd-cm`, `argocd-rbac-cm`, and repository and
//! cluster Secrets — each sealed on its own with the backup key (the
//! environment and the Secret's name as associated data), never stored in
//! clear; a wake opens only the Secrets it restores.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ctx::{Ctx, StepError, StepResult};
use super::steps::find::name;
use crate::adapters::kube::resources::{self, Kind};

const CONFIG_MAPS: [&str; 2] = ["argocd-cm", "argocd-rbac-cm"];
const SECRET_TYPES: &str = "argocd.argoproj.io/secret-type in (repository,repo-creds,cluster)";

#[derive(Debug, Serialize, Deserialize)]
struct Backup {
    /// (kind, manifest) of everything but Secrets.
    objects: Vec<(Kind, Value)>,
    /// Earlier format: every Secret's manifest in one sealed JSON array.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed_secrets: Option<String>,
    /// (name, sealed manifest) of each Secret.
    #[serde(default)]
    secrets: Vec<(String, String)>,
}

/// What a Secret is sealed for: it opens only as that Secret of that environment.
fn context(env: &str, secret: &str) -> String {
    format!("{env}/argocd-secret/{secret}")
}

pub struct Taken {
    pub text: String,
    pub summary: String,
    pub names: Vec<String>,
}

pub async fn take(ctx: &Ctx<'_>) -> StepResult<Taken> {
    let ns = ctx.settings.argocd_namespace.clone();
    let mut objects = Vec::new();
    for kind in [Kind::Application, Kind::AppProject] {
        for o in ctx.kube().list(kind, Some(&ns), None).await? {
            objects.push((kind, resources::manifest(&o)));
        }
    }
    for cm in CONFIG_MAPS {
        if let Some(o) = ctx.kube().get(Kind::ConfigMap, Some(&ns), cm).await? {
            objects.push((Kind::ConfigMap, resources::manifest(&o)));
        }
    }
    let secrets: Vec<Value> = ctx.kube().list(Kind::Secret, Some(&ns), Some(SECRET_TYPES)).await?.iter().map(resources::manifest).collect();
    let mut sealed = Vec::new();
    if !secrets.is_empty() {
        let keys = ctx.keys.ok_or_else(|| {
            StepError::fatal(format!(
                "refusing to back up {} Argo CD Secrets (repositories, clusters) without encryption: set backup_keys in the \
                 configuration (each base64 of 32 bytes, e.g. `openssl rand -base64 32`) or MEZAME_BACKUP_KEYS, restart, and retry the run",
                secrets.len()
            ))
        })?;
        for secret in &secrets {
            let n = name(secret).to_string();
            sealed.push((n.clone(), keys.seal(&serde_json::to_vec(secret).unwrap_or_default(), &context(ctx.name(), &n))?));
        }
    }
    let mut names: Vec<String> = objects.iter().map(|(k, o)| format!("{} {}", k.name(), name(o))).collect();
    names.extend(secrets.iter().map(|s| format!("secret {} (sealed)", name(s))));
    let summary = format!("{} objects backed up, {} Secrets sealed", objects.len(), secrets.len());
    let text =
        serde_json::to_string(&Backup { objects, sealed_secrets: None, secrets: sealed }).map_err(|e| StepError::fatal(e.to_string()))?;
    Ok(Taken { text, summary, names })
}

/// Creates what the backup has and the cluster lacks; returns what it created.
/// Applications come back without automated sync: the wake restores each
/// one's recorded `syncPolicy` later, once the workloads are back.
pub async fn restore(ctx: &Ctx<'_>, text: &str) -> StepResult<Vec<String>> {
    let ns = ctx.settings.argocd_namespace.clone();
    let backup: Backup = serde_json::from_str(text).map_err(|e| StepError::fatal(format!("the Argo CD backup is unreadable: {e}")))?;
    let mut all: Vec<(Kind, Value)> = backup.objects;
    let keys = || {
        ctx.keys.ok_or_else(|| {
            StepError::fatal(
                "the Argo CD backup holds sealed Secrets but no backup_keys are configured: configure the key used when sleeping and retry",
            )
        })
    };
    if let Some(sealed) = &backup.sealed_secrets {
        let secrets: Vec<Value> =
            serde_json::from_slice(&keys()?.open(sealed, "")?).map_err(|e| StepError::fatal(format!("sealed Secrets unreadable: {e}")))?;
        all.extend(secrets.into_iter().map(|s| (Kind::Secret, s)));
    }
    // Only the Secrets that are missing are opened.
    for (n, sealed) in &backup.secrets {
        if ctx.kube().get(Kind::Secret, Some(&ns), n).await?.is_some() {
            continue;
        }
        let secret: Value = serde_json::from_slice(&keys()?.open(sealed, &context(ctx.name(), n))?)
            .map_err(|e| StepError::fatal(format!("sealed Secret {n} unreadable: {e}")))?;
        all.push((Kind::Secret, secret));
    }
    // Projects before the Applications that name them.
    all.sort_by_key(|(k, _)| match k {
        Kind::AppProject => 0,
        Kind::Application => 2,
        _ => 1,
    });
    let mut created = Vec::new();
    for (kind, mut o) in all {
        let n = name(&o).to_string();
        if ctx.kube().get(kind, Some(&ns), &n).await?.is_some() {
            continue;
        }
        if kind == Kind::Application
            && let Some(p) = o.pointer_mut("/spec/syncPolicy").and_then(Value::as_object_mut)
        {
            p.remove("automated");
        }
        ctx.kube().create(kind, Some(&ns), &o).await?;
        created.push(format!("{} {n}", kind.name()));
    }
    Ok(created)
}
