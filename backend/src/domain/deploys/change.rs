//! Promote and roll back: one manifest commit that rewrites only one
//! microservice's `image:` tag in one environment's directory
//! (`rewrite.rs`) — or, for a move to spot or back (`spot.rs`), its pod
//! template's placement (`placement.rs`) —, pushed with the git CLI from the mirror. Into an
//! environment `[git] direct` lists, the commit goes straight onto the deployed
//! branch (a push the remote refuses because it moved on is made again on its
//! new tip); into any other — prod, deliberately — onto a new branch left for
//! a person to merge. Checked first, written after: a refusal (4xx) leaves the
//! repository as it was. Audited (`deploy.promote`, `deploy.rollback`,
//! `deploy.unfreeze`); a change that cannot be audited is taken back (the
//! branch deleted, or a revert on the deployed branch).
//!
//! A rollback freezes promotions of that microservice into that environment
//! (kept in the database, shown) until someone lifts the freeze or promotes
//! with `unfreeze` — on purpose.

use chrono::Utc;
use mezame_shared::audit::AuditOutcome;
use mezame_shared::deploys::{ChangeKind, DeployChange, Freeze, PromoteRequest, RollbackRequest};
use serde_json::json;

use super::index::own_tag;
use super::placement::{Refused, place};
use super::rewrite::{Rewrite, rewrite};
use super::versions::commit_ref;
use super::{Deploys, observe};
use crate::adapters::db::NewAuditEntry;
use crate::adapters::git::{Commit, Edit, Identity, Pushed};
use crate::adapters::kube::resources::Kind;
use crate::domain::DomainError;
use crate::domain::audit;
use crate::domain::envs::Environment;
use crate::domain::topology::Topologies;

/// How many times a direct commit is made again when the branch moved meanwhile.
const ATTEMPTS: usize = 3;
/// At most this many app commits are listed in a commit message.
const NOTES: usize = 30;
/// Longest reason kept.
const REASON_MAX: usize = 500;

/// What is being written, before the repository is read.
pub(super) struct Draft<'a> {
    pub(super) kind: ChangeKind,
    pub(super) env: &'a Environment,
    pub(super) topologies: &'a Topologies,
    pub(super) ms: &'a str,
    pub(super) tag: String,
    pub(super) from: Option<String>,
    pub(super) reason: Option<String>,
    pub(super) by: &'a str,
    pub(super) dry_run: bool,
}

impl Deploys {
    /// Promotes the tag `ms` runs in `req.from` to `env`.
    pub async fn promote(
        &self,
        env: &Environment,
        topologies: &Topologies,
        ms: &str,
        req: PromoteRequest,
        by: &str,
    ) -> Result<DeployChange, DomainError> {
        let to = env.config.name.as_str();
        self.known_microservice(ms).await?;
        if req.from == to {
            return Err(DomainError::Invalid(format!("from and to are both {to}: promote from another environment")));
        }
        if !req.dry_run {
            env.confirmed(req.confirm.as_deref())?;
        }
        if let Some(f) = self.db.freeze(to, ms).await?
            && !req.unfreeze
        {
            return Err(DomainError::Conflict {
                message: format!(
                    "promotions of {ms} into {to} are frozen since {} by {}, after a rollback to {}: \"{}\". Lift the freeze, or promote with \"unfreeze\": true",
                    f.at.format("%Y-%m-%d %H:%M UTC"),
                    f.by,
                    short(&f.tag),
                    f.reason
                ),
                run_id: None,
            });
        }
        if self.db.restore_point(to).await?.is_some() {
            return Err(DomainError::Conflict {
                message: format!("{to} is asleep (its workloads wait for the next wake at 0 replicas): wake it first, then promote"),
                run_id: None,
            });
        }
        let tag = self.running_tag(topologies, &req.from, ms).await?;
        self.built(ms, &tag).await?;
        let draft =
            Draft { kind: ChangeKind::Promote, env, topologies, ms, tag, from: Some(req.from), reason: None, by, dry_run: req.dry_run };
        let change = self.write(draft).await?;
        if req.unfreeze && !req.dry_run && self.db.lift_freeze(to, ms).await? {
            self.audit_unfreeze(to, ms, by, "promoted on purpose").await?;
        }
        Ok(change)
    }

    /// Rolls `ms` back in `env` to the tag of an earlier deploy, and freezes its promotions there.
    pub async fn rollback(
        &self,
        env: &Environment,
        topologies: &Topologies,
        ms: &str,
        req: RollbackRequest,
        by: &str,
    ) -> Result<DeployChange, DomainError> {
        let name = env.config.name.as_str();
        self.known_microservice(ms).await?;
        let reason = req.reason.trim().replace(['\n', '\r'], " ");
        if reason.is_empty() {
            return Err(DomainError::Invalid(
                "a rollback needs a reason (\"reason\"): it goes into the commit, the freeze and the audit log".into(),
            ));
        }
        if reason.chars().count() > REASON_MAX {
            return Err(DomainError::Invalid(format!("the reason is longer than {REASON_MAX} characters")));
        }
        if !req.dry_run {
            env.confirmed(req.confirm.as_deref())?;
        }
        let target = self.one_deploy(name, ms, req.to_deploy.trim(), "to_deploy").await?;
        let draft = Draft {
            kind: ChangeKind::Rollback,
            env,
            topologies,
            ms,
            tag: target.tag.clone(),
            from: None,
            reason: Some(reason.clone()),
            by,
            dry_run: req.dry_run,
        };
        let change = self.write(draft).await?;
        if !req.dry_run {
            let freeze =
                Freeze { env: name.to_string(), ms: ms.to_string(), tag: change.tag.clone(), reason, by: by.to_string(), at: change.at };
            self.db.put_freeze(&freeze).await?;
            self.changed();
        }
        Ok(change)
    }

    /// Lifts the freeze a rollback left on `ms`'s promotions into `env`.
    pub async fn lift_freeze(&self, env: &Environment, ms: &str, by: &str, confirm: Option<&str>) -> Result<Freeze, DomainError> {
        let name = env.config.name.as_str();
        env.confirmed(confirm)?;
        let Some(freeze) = self.db.freeze(name, ms).await? else {
            return Err(DomainError::NotFound(format!("promotions of {ms} into {name} are not frozen")));
        };
        self.audit_unfreeze(name, ms, by, "lifted").await?;
        self.db.lift_freeze(name, ms).await?;
        self.changed();
        Ok(freeze)
    }

    async fn audit_unfreeze(&self, env: &str, ms: &str, by: &str, how: &str) -> Result<(), DomainError> {
        let entry = NewAuditEntry {
            actor: by.to_string(),
            action: "deploy.unfreeze".into(),
            env: Some(env.to_string()),
            target: Some(format!("ms/{ms}")),
            before: Some(json!({ "frozen": true })),
            after: Some(json!({ "frozen": false })),
            outcome: AuditOutcome::Ok,
            message: Some(how.to_string()),
        };
        audit::record(&self.db, entry).await
    }

    pub(super) async fn known_microservice(&self, ms: &str) -> Result<(), DomainError> {
        if self.db.deployed_microservices().await?.contains(ms) {
            return Ok(());
        }
        Err(DomainError::NotFound(format!("no microservice {ms:?} in the manifest repository's index")))
    }

    /// The tag `ms` runs in `env` (its Deployment's), else the one its manifests name.
    pub(super) async fn running_tag(&self, topologies: &Topologies, env: &str, ms: &str) -> Result<String, DomainError> {
        if topologies.get(env).is_none() {
            return Err(DomainError::NotFound(format!("no environment {env:?} to promote from")));
        }
        let one = std::collections::BTreeSet::from([ms]);
        let running = observe::apps(topologies, env, &self.config, &one).remove(ms).and_then(|a| a.deployment).and_then(|d| {
            let images: Vec<&str> = d.images.iter().map(String::as_str).collect();
            own_tag(&images, ms).map(str::to_string)
        });
        if let Some(t) = running {
            return Ok(t);
        }
        let declared = self.db.latest_deploys(env).await?.into_iter().find(|d| d.ms == ms).map(|d| d.tag);
        declared.ok_or_else(|| DomainError::Conflict { message: format!("{ms} runs nowhere in {env}: nothing to promote"), run_id: None })
    }

    /// Refuses a tag that is no commit of `ms`'s app repository (not built by CI).
    async fn built(&self, ms: &str, tag: &str) -> Result<(), DomainError> {
        if self.config.app_url(ms).is_none() || self.graph(ms).await?.get(tag).is_some() {
            return Ok(());
        }
        Err(DomainError::Unprocessable(format!(
            "tag {tag} of {ms} is not a commit of its app repository: no image was built from it (or the repository is not indexed yet)"
        )))
    }

    /// Reads the environment's manifests, rewrites them, and (unless a dry
    /// run) commits, pushes, audits and records.
    pub(super) async fn write(&self, d: Draft<'_>) -> Result<DeployChange, DomainError> {
        let _one = self.writing.lock().await;
        let env = d.env.config.name.as_str();
        let dir = self.config.ms_path(env, d.ms);
        let direct = self.config.direct.iter().any(|e| e == env) && !d.env.config.protected;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.manifests.fetch().await.map_err(unavailable)?;
            let branch = &self.config.branch;
            let tip = self
                .manifests
                .resolve(&format!("refs/heads/{branch}"))
                .await?
                .ok_or_else(|| DomainError::Unavailable(format!("the manifest repository has no branch {branch}")))?;
            let files = self.manifests.read_files(&tip, &dir).await?;
            if files.is_empty() {
                return Err(DomainError::NotFound(format!("no manifests of {} in {env} ({dir}/ on {branch})", d.ms)));
            }
            let r = self.edit(&d, &dir, &files)?;
            let mut change = self.describe(&d, &r).await?;
            if d.dry_run {
                return Ok(change);
            }
            let target = if direct { branch.clone() } else { new_branch(&d) };
            let message = self.message(&d, &change).await?;
            let author = identity_of(d.by);
            let committer = self.committer();
            let sha = self.manifests.commit_on(&tip, &r.edits, &message, &author, &committer).await?;
            match self.manifests.push(&sha, &target).await? {
                Pushed::Done => {}
                Pushed::Rejected(why) if direct && attempt < ATTEMPTS => {
                    tracing::info!(%why, attempt, "the deployed branch moved: committing again on its new tip");
                    continue;
                }
                Pushed::Rejected(why) => {
                    return Err(DomainError::Conflict {
                        message: format!("the manifest repository refused the push to {target} (nothing was changed): {why}"),
                        run_id: None,
                    });
                }
            }
            change.commit = Some(sha.clone());
            change.branch = Some(target.clone());
            change.needs_merge = !direct;
            self.audit_change(&change, &r.edits, &files).await?;
            if let Err(e) = self.db.record_change(&sha, &change, direct).await {
                tracing::warn!(error = %e, "recording a pushed change (it shows once indexed)");
            }
            self.poke();
            if direct {
                self.refresh(&d, &dir).await;
            }
            return Ok(change);
        }
    }

    /// The edit a change makes to the directory's files; refused when there is nothing to change.
    fn edit(&self, d: &Draft<'_>, dir: &str, files: &[(String, String)]) -> Result<Rewrite, DomainError> {
        let env = d.env.config.name.as_str();
        if d.kind.is_placement() {
            let spot =
                self.config.spot_nodes().ok_or_else(|| DomainError::Unavailable("[git] spot_taint or spot_label is malformed".into()))?;
            return place(files, &spot, d.kind == ChangeKind::Spot).map_err(|r| match r {
                Refused::Nothing(m) => DomainError::Conflict { message: format!("nothing to change: {m}"), run_id: None },
                Refused::Unsupported(m) => DomainError::Unprocessable(format!("{} in {env}: {m}", d.ms)),
            });
        }
        let r = rewrite(files, d.ms, &d.tag);
        if r.images == 0 {
            return Err(DomainError::Unprocessable(format!("no image: line of {} under {dir}/ names its own image with a tag", d.ms)));
        }
        if r.edits.is_empty() {
            return Err(DomainError::Conflict {
                message: format!("nothing to change: {env}'s manifests of {} already name {}", d.ms, d.tag),
                run_id: None,
            });
        }
        Ok(r)
    }

    /// Asks Argo CD to read git now (as the repository's webhook would) instead
    /// of at its next poll, minutes away. A failure only delays the sync: said, not fatal.
    async fn refresh(&self, d: &Draft<'_>, dir: &str) {
        let env = d.env.config.name.as_str();
        let Some((namespace, name)) = observe::application_at(d.topologies, env, dir) else {
            tracing::info!(env, dir, "no Application deploys this directory: nothing to refresh");
            return;
        };
        let patch = json!({ "metadata": { "annotations": { "argocd.argoproj.io/refresh": "normal" } } });
        let refreshed = match d.env.cluster().await {
            Ok(c) => c.merge_patch(Kind::Application, Some(&namespace), &name, &patch).await,
            Err(e) => Err(e),
        };
        if let Err(e) = refreshed {
            tracing::warn!(env, application = name, error = %e, "asking Argo CD to refresh (it syncs at its next poll)");
        }
    }

    /// The change as the answer shows it (no commit yet).
    async fn describe(&self, d: &Draft<'_>, r: &Rewrite) -> Result<DeployChange, DomainError> {
        let commits = match (&r.previous_tag, self.config.app_url(d.ms)) {
            (Some(prev), Some(_)) => {
                let g = self.graph(d.ms).await?;
                let (base, tip) =
                    if d.kind == ChangeKind::Promote { (prev.as_str(), d.tag.as_str()) } else { (d.tag.as_str(), prev.as_str()) };
                g.between(base, tip).into_iter().map(commit_ref).collect()
            }
            _ => vec![],
        };
        Ok(DeployChange {
            kind: d.kind,
            env: d.env.config.name.clone(),
            ms: d.ms.to_string(),
            tag: d.tag.clone(),
            previous_tag: r.previous_tag.clone(),
            from: d.from.clone(),
            reason: d.reason.clone(),
            lines: r.lines.clone(),
            commits,
            commit: None,
            branch: None,
            needs_merge: false,
            by: d.by.to_string(),
            at: Utc::now(),
        })
    }

    /// The commit message: what and why, the app commits, the app commit in
    /// Argo CD's trailers (as CI writes them) and mezame's own.
    async fn message(&self, d: &Draft<'_>, c: &DeployChange) -> Result<String, DomainError> {
        let env = &c.env;
        let mut m = match d.kind {
            ChangeKind::Promote => format!("promote({}): {} to {env} from {}\n\n", d.ms, short(&d.tag), d.from.as_deref().unwrap_or("?")),
            ChangeKind::Rollback => {
                format!("rollback({}): {env} back to {}\n\nReason: {}\n\n", d.ms, short(&d.tag), c.reason.as_deref().unwrap_or(""))
            }
            ChangeKind::Spot => format!(
                "spot({}): {env} may run on spot nodes\n\nIts pods tolerate the spot nodes' taint and prefer them; they stay schedulable on on-demand nodes.\n\n",
                d.ms
            ),
            ChangeKind::OnDemand => format!("spot({}): {env} back to on-demand nodes\n\nmezame's spot placement taken out.\n\n", d.ms),
        };
        if !c.commits.is_empty() {
            let what = if d.kind == ChangeKind::Promote { "ships" } else { "takes back" };
            m.push_str(&format!("It {what} {} app commit(s):\n", c.commits.len()));
            for x in c.commits.iter().take(NOTES) {
                m.push_str(&format!("- {} {} ({})\n", short(&x.sha), x.subject, x.author));
            }
            m.push('\n');
        }
        let app = match self.config.app_url(d.ms).filter(|_| !d.kind.is_placement()) {
            Some(url) => self.graph(d.ms).await?.get(&d.tag).map(|c| (url, c.clone())),
            None => None,
        };
        if let Some((url, a)) = app {
            m.push_str(&reference_trailers(&url, &a));
        }
        m.push_str(&format!("Mezame-Action: {}\nMezame-By: {}\n", d.kind.as_str(), one_line(d.by)));
        if let Some(from) = &d.from {
            m.push_str(&format!("Mezame-From: {from}\n"));
        }
        if let Some(reason) = &d.reason {
            m.push_str(&format!("Mezame-Reason: {}\n", one_line(reason)));
        }
        Ok(m)
    }

    /// Audits a pushed change; if the entry cannot be written, takes it back.
    async fn audit_change(&self, c: &DeployChange, edits: &[Edit], before: &[(String, String)]) -> Result<(), DomainError> {
        let (action, was_json, is_json) = if c.kind.is_placement() {
            let (was, is) = if c.kind == ChangeKind::Spot { ("on_demand", "spot") } else { ("spot", "on_demand") };
            let after = json!({ "placement": is, "commit": c.commit, "branch": c.branch, "needs_merge": c.needs_merge });
            (format!("capacity.{}", c.kind.as_str()), json!({ "placement": was }), after)
        } else {
            let after = json!({ "tag": c.tag, "commit": c.commit, "branch": c.branch, "from": c.from, "needs_merge": c.needs_merge });
            (format!("deploy.{}", c.kind.as_str()), json!({ "tag": c.previous_tag }), after)
        };
        let entry = NewAuditEntry {
            actor: c.by.clone(),
            action,
            env: Some(c.env.clone()),
            target: Some(format!("ms/{}", c.ms)),
            before: Some(was_json),
            after: Some(is_json),
            outcome: AuditOutcome::Ok,
            message: c.reason.clone(),
        };
        let (sha, branch) = (c.commit.clone().unwrap_or_default(), c.branch.clone().unwrap_or_default());
        audit::record_or_undo(&self.db, entry, true, || async move {
            if c.needs_merge {
                return self.manifests.delete_branch(&branch).await.map(|_| ());
            }
            // On the deployed branch: a commit putting the files back.
            let put_back: Vec<Edit> = edits
                .iter()
                .filter_map(|e| before.iter().find(|(p, _)| *p == e.path).map(|(p, old)| Edit { path: p.clone(), content: old.clone() }))
                .collect();
            let committer = self.committer();
            let revert = self
                .manifests
                .commit_on(&sha, &put_back, &format!("revert {}: it could not be audited", short(&sha)), &committer, &committer)
                .await?;
            self.manifests.push(&revert, &branch).await.map(|_| ())
        })
        .await
    }
}

fn unavailable(e: crate::adapters::AdapterError) -> DomainError {
    DomainError::Unavailable(format!("the manifest repository cannot be fetched: {e}"))
}

impl Deploys {
    /// `[git] committer` (its form is checked when the configuration is read).
    fn committer(&self) -> Identity {
        Identity::parse(&self.config.committer).unwrap_or_else(|| identity_of("mezame"))
    }
}

/// `Argocd-reference-commit-*`: the app commit, as CI writes it for Argo CD.
fn reference_trailers(url: &str, a: &Commit) -> String {
    format!(
        "Argocd-reference-commit-sha: {}\nArgocd-reference-commit-author: {}\nArgocd-reference-commit-date: {}\n\
         Argocd-reference-commit-subject: {}\nArgocd-reference-commit-repourl: {}\n",
        a.sha,
        one_line(&a.author),
        a.authored_at.to_rfc3339(),
        one_line(&a.subject),
        crate::config::git::redact(url)
    )
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(8)]
}

/// The branch a change waits on: `mezame/<kind>/<env>/<ms>-<tag>-<time>`.
fn new_branch(d: &Draft<'_>) -> String {
    let tag = if d.kind.is_placement() || d.tag.is_empty() { String::new() } else { format!("{}-", short(&d.tag)) };
    format!("mezame/{}/{}/{}-{tag}{}", d.kind.as_str(), d.env.config.name, d.ms, Utc::now().format("%Y%m%d%H%M%S"))
}

/// The author of a commit mezame makes for a person: their name, and their address if the name is one.
fn identity_of(who: &str) -> Identity {
    let name = one_line(who).replace(['<', '>'], "");
    let email = if name.contains('@') { name.clone() } else { format!("{}@mezame.invalid", name.replace(' ', ".")) };
    Identity { name, email }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_persons_identity() {
        assert_eq!(identity_of("alice@example.com").email, "alice@example.com");
        assert_eq!(identity_of("Bob <x>").name, "Bob x");
        assert_eq!(identity_of("carol").email, "carol@mezame.invalid");
    }
}
