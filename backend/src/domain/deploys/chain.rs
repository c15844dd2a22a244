//! The chain of each deploy, joined from what is indexed and what the cluster
//! shows. Pure: the inputs are read first (database, watch cache), so the
//! join is tested on values.
//!
//! - app commit: the manifest commit's `Argocd-reference-commit-*` trailers
//!   (a merge's: its merged branch's), else the app repository's commit named
//!   by the tag;
//! - sync: the first observed sync whose revision is at or after the manifest
//!   commit on the deployed branch's first-parent line. The earliest sync
//!   observed of an Application only deploys its own tag: what came before it
//!   on the line was synced before the history mezame saw;
//! - rollout: the ReplicaSet of the microservice's Deployment running the tag.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use mezame_shared::deploys::{AppCommit, ChangeKind, Deploy, LinkSource, ManifestAction, ManifestCommit, RolloutLink, SyncLink};

use super::index::{env_ms_of, tag_of};
use crate::adapters::db::{DeployRow, SyncRow};
use crate::adapters::git::Commit;

/// An Argo CD Application of a microservice, as the watch cache has it.
#[derive(Debug, Clone, Default)]
pub struct AppState {
    pub name: String,
    pub auto_sync: bool,
    /// `Synced`, `OutOfSync`, `Unknown`.
    pub sync: String,
    /// The last operation's phase and message.
    pub operation: Option<(String, String)>,
    pub deployment: Option<Rollouts>,
}

/// A Deployment and its ReplicaSets.
#[derive(Debug, Clone, Default)]
pub struct Rollouts {
    /// The images of its pod template now.
    pub images: Vec<String>,
    pub replicas: i32,
    pub updated: i32,
    pub available: i32,
    pub ready: i32,
    /// `Progressing` is `False` (`ProgressDeadlineExceeded`): its message.
    pub problem: Option<String>,
    /// `Progressing` with reason `NewReplicaSetAvailable`: when it was last updated.
    pub completed_at: Option<DateTime<Utc>>,
    pub replica_sets: Vec<ReplicaSetState>,
}

#[derive(Debug, Clone, Default)]
pub struct ReplicaSetState {
    pub name: String,
    pub revision: i64,
    pub images: Vec<String>,
    pub created: Option<DateTime<Utc>>,
}

/// What the join reads.
pub struct Inputs<'a> {
    /// `[git] path`.
    pub pattern: &'a str,
    /// Newest first.
    pub rows: &'a [DeployRow],
    /// Manifest commits by sha: the rows' and their merged branches' tips.
    pub manifest_commits: &'a HashMap<String, Commit>,
    /// App commits by (microservice, sha).
    pub app_commits: &'a HashMap<(String, String), Commit>,
    /// The observed syncs of the rows' microservices' Applications.
    pub syncs: &'a [SyncRow],
    /// By microservice.
    pub apps: &'a HashMap<String, AppState>,
}

const TRAILER_SHA: &str = "Argocd-reference-commit-sha";

pub fn chains(i: &Inputs) -> Vec<Deploy> {
    // Each microservice's syncs on the line, oldest first.
    let mut syncs: HashMap<String, Vec<&SyncRow>> = HashMap::new();
    for s in i.syncs.iter().filter(|s| s.seq.is_some()) {
        if let Some((_, ms)) = env_ms_of(i.pattern, &format!("{}/-", s.path.trim_end_matches('/'))) {
            syncs.entry(ms).or_default().push(s);
        }
    }
    for v in syncs.values_mut() {
        v.sort_by_key(|s| s.finished);
    }
    // Which observed sync first deployed each row (by index), and the rows each sync deployed.
    let firsts: Vec<Option<&SyncRow>> =
        i.rows.iter().map(|d| first_sync(d, i.rows, syncs.get(&d.ms).map(Vec::as_slice).unwrap_or(&[]))).collect();
    i.rows
        .iter()
        .zip(&firsts)
        .map(|(d, sync)| {
            let also: Vec<String> = i
                .rows
                .iter()
                .zip(&firsts)
                .filter(|(o, s)| o.ms == d.ms && o.sha != d.sha && sync.is_some() && same(s, sync))
                .map(|(o, _)| o.sha.clone())
                .collect();
            let before_observed =
                sync.is_none() && syncs.get(&d.ms).and_then(|v| v.iter().filter_map(|s| s.seq).max()).is_some_and(|top| top >= d.seq);
            chain(i, d, *sync, also, before_observed)
        })
        .collect()
}

fn same(a: &Option<&SyncRow>, b: &Option<&SyncRow>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.app == b.app && a.revision == b.revision && a.finished == b.finished,
        _ => false,
    }
}

/// The first sync at or after `d` on the line; the earliest observed one only
/// for the newest deploy it covers (older ones were synced before it).
fn first_sync<'a>(d: &DeployRow, rows: &[DeployRow], syncs: &[&'a SyncRow]) -> Option<&'a SyncRow> {
    let (k, s) = syncs.iter().enumerate().find(|(_, s)| s.seq.is_some_and(|q| q >= d.seq))?;
    if k > 0 {
        let prev = syncs[..k].iter().filter_map(|s| s.seq).max().unwrap_or(i64::MIN);
        return (d.seq > prev).then_some(*s);
    }
    // The earliest observed: did it deploy this very deploy (none newer of this microservice below it)?
    let seq = s.seq.unwrap_or_default();
    let newer_below = rows.iter().any(|o| o.ms == d.ms && o.env == d.env && o.seq > d.seq && o.seq <= seq);
    (!newer_below).then_some(*s)
}

fn chain(i: &Inputs, d: &DeployRow, sync: Option<&SyncRow>, also_deployed: Vec<String>, before_observed: bool) -> Deploy {
    let mc = i.manifest_commits.get(&d.sha);
    // A merge brings a branch: its tip says what was deployed, and by whom it was merged.
    let branch_tip = mc.filter(|c| c.parents.len() > 1).and_then(|c| i.manifest_commits.get(&c.parents[1]));
    let described = branch_tip.or(mc);
    let manifest = ManifestCommit {
        sha: d.sha.clone(),
        subject: described.map(|c| c.subject.clone()).unwrap_or_default(),
        author: described.map(|c| name(&c.author)).unwrap_or_default(),
        at: d.at,
        files: d.files.clone(),
        merged_by: branch_tip.and(mc).map(|c| name(&c.author)),
        action: described.and_then(action_of),
    };
    let app = described.and_then(from_trailers).or_else(|| {
        i.app_commits.get(&(d.ms.clone(), d.tag.clone())).map(|c| AppCommit {
            sha: c.sha.clone(),
            subject: c.subject.clone(),
            author: name(&c.author),
            at: c.authored_at,
            source: LinkSource::AppRepo,
        })
    });
    let state = i.apps.get(&d.ms);
    let rollout = state.and_then(|a| a.deployment.as_ref()).and_then(|r| rollout(r, &d.tag));
    let sync_link = sync.map(|s| SyncLink {
        id: s.history_id,
        revision: s.revision.clone(),
        started_at: s.started,
        finished_at: s.finished,
        initiated_by: s.initiated_by.clone(),
        also_deployed,
    });
    let waiting = if before_observed { None } else { waiting(state, sync.is_some(), rollout.as_ref(), &d.env) };
    let reached = rollout.as_ref().and_then(|r| r.completed_at).or(sync.map(|s| s.finished)).or(Some(d.at).filter(|_| !before_observed));
    Deploy {
        env: d.env.clone(),
        ms: d.ms.clone(),
        tag: d.tag.clone(),
        previous_tag: d.previous_tag.clone(),
        lead_time_secs: app.as_ref().zip(reached).map(|(a, t)| (t - a.at).num_seconds()),
        app,
        manifest,
        sync: sync_link,
        rollout,
        waiting,
        before_observed,
    }
}

/// Why a chain stops where it does; none when it is complete.
fn waiting(app: Option<&AppState>, synced: bool, rollout: Option<&RolloutLink>, env: &str) -> Option<String> {
    let Some(app) = app else { return Some(format!("no Argo CD Application in {env} deploys this microservice's manifests")) };
    if !synced {
        return Some(match &app.operation {
            Some((phase, message)) if phase == "Failed" || phase == "Error" => format!("sync failed: {message}"),
            _ if !app.auto_sync => "manifest changed, not synced: auto-sync is off".into(),
            _ if app.sync == "OutOfSync" => "manifest changed, Argo CD has not synced it yet".into(),
            _ => "manifest changed, Argo CD has not noticed it yet".into(),
        });
    }
    match rollout {
        None => Some(match app.deployment.as_ref().and_then(|d| d.problem.clone()) {
            Some(p) => format!("rollout stuck: {p}"),
            None => "synced, the rollout has not started".into(),
        }),
        Some(r) if !r.current => None,
        Some(r) if r.complete => None,
        Some(r) => Some(match &r.problem {
            Some(p) => format!("rollout stuck: {p}"),
            None => format!("rolling out: {}/{} ready", r.ready, r.replicas),
        }),
    }
}

fn rollout(r: &Rollouts, tag: &str) -> Option<RolloutLink> {
    let has = |images: &[String]| images.iter().any(|i| tag_of(i) == Some(tag));
    let rs = r.replica_sets.iter().filter(|s| has(&s.images)).max_by_key(|s| s.revision)?;
    let current = has(&r.images);
    let complete = current && r.updated >= r.replicas && r.available >= r.replicas && r.problem.is_none();
    Some(RolloutLink {
        replica_set: rs.name.clone(),
        revision: rs.revision,
        created_at: rs.created,
        current,
        complete,
        completed_at: if complete { r.completed_at.or(rs.created) } else { None },
        ready: if current { r.ready } else { 0 },
        replicas: r.replicas,
        problem: if current { r.problem.clone() } else { None },
    })
}

/// The app commit the trailers describe.
fn from_trailers(c: &Commit) -> Option<AppCommit> {
    let sha = c.trailer(TRAILER_SHA)?.to_string();
    let at = c
        .trailer("Argocd-reference-commit-date")
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(c.authored_at);
    Some(AppCommit {
        sha,
        subject: c.trailer("Argocd-reference-commit-subject").unwrap_or_default().to_string(),
        author: c.trailer("Argocd-reference-commit-author").map(name).unwrap_or_default(),
        at,
        source: LinkSource::Trailers,
    })
}

/// A change made through mezame, as its `Mezame-*` trailers say.
fn action_of(c: &Commit) -> Option<ManifestAction> {
    Some(ManifestAction {
        kind: ChangeKind::parse(c.trailer("Mezame-Action")?)?,
        by: c.trailer("Mezame-By").unwrap_or_default().to_string(),
        from: c.trailer("Mezame-From").map(str::to_string),
        reason: c.trailer("Mezame-Reason").map(str::to_string),
    })
}

/// `Name <email>` → `Name`.
pub(super) fn name(person: &str) -> String {
    person.split(" <").next().unwrap_or(person).trim().to_string()
}

#[cfg(test)]
mod tests;
