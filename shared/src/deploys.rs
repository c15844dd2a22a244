//! Deploys: the chain a change goes through — app commit → image tag →
//! manifest commit → Argo CD sync → rollout — one row per manifest change of
//! a microservice in an environment.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Answer of `GET /api/envs/{env}/deploys`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeployList {
    pub env: String,
    pub deploys: Vec<Deploy>,
    /// The repositories as last read: when, and what failed (the last index is kept).
    pub index: IndexState,
    /// Promotions and rollbacks made through mezame on a branch, not merged yet.
    #[serde(default)]
    pub pending: Vec<DeployChange>,
    /// Microservices whose promotions into this environment are frozen (after a rollback).
    #[serde(default)]
    pub freezes: Vec<Freeze>,
}

/// How current the index of the repositories is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IndexState {
    /// When the repositories were last fetched and indexed (none yet: still indexing).
    pub indexed_at: Option<DateTime<Utc>>,
    /// Commits indexed so far, all repositories.
    pub commits: u64,
    /// Why the last fetch or index failed, per repository.
    pub errors: Vec<String>,
}

/// One deploy: a manifest commit that changed a microservice's image in an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deploy {
    pub env: String,
    pub ms: String,
    /// The image tag the manifests now name.
    pub tag: String,
    /// The tag before (none: the microservice's first manifests).
    pub previous_tag: Option<String>,
    /// The app commit the image was built from (from the manifest commit's
    /// `Argocd-reference-commit-*` trailers, else the tag taken as a commit).
    pub app: Option<AppCommit>,
    pub manifest: ManifestCommit,
    /// The first Argo CD sync whose revision contains the manifest commit.
    pub sync: Option<SyncLink>,
    /// The ReplicaSet running that image, when it is the one rolled out.
    pub rollout: Option<RolloutLink>,
    /// Why the chain stops where it does ("not synced: auto-sync is off", …); none when complete.
    pub waiting: Option<String>,
    /// App commit → the last link reached, in seconds.
    pub lead_time_secs: Option<i64>,
    /// Synced before the sync history mezame observed (Argo CD keeps 10
    /// entries and loses them with the Application): known from the manifest
    /// repository only.
    pub before_observed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppCommit {
    pub sha: String,
    pub subject: String,
    pub author: String,
    pub at: DateTime<Utc>,
    /// Where it was read: the trailers of the manifest commit, or the app repository.
    pub source: LinkSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LinkSource {
    Trailers,
    AppRepo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManifestCommit {
    /// The commit on the deployed branch (a merge, when a person merged it).
    pub sha: String,
    pub subject: String,
    pub author: String,
    pub at: DateTime<Utc>,
    /// The files of the microservice it changed.
    pub files: Vec<String>,
    /// Who merged it, when it came from a branch (prod's manual merge).
    pub merged_by: Option<String>,
    /// A promotion or rollback made through mezame (from the commit's `Mezame-*` trailers).
    #[serde(default)]
    pub action: Option<ManifestAction>,
}

/// What a manifest commit made through mezame did, as its trailers say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManifestAction {
    /// `promote` or `rollback`.
    pub kind: ChangeKind,
    /// Who asked for it in mezame.
    pub by: String,
    /// A promotion's source environment.
    pub from: Option<String>,
    /// A rollback's reason, as typed.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncLink {
    /// Argo CD's history id (restarts when the Application is re-created).
    pub id: i64,
    pub revision: String,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: DateTime<Utc>,
    /// Who started it (none: automated).
    pub initiated_by: Option<String>,
    /// Other manifest commits of this microservice the same sync picked up.
    pub also_deployed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolloutLink {
    pub replica_set: String,
    /// `deployment.kubernetes.io/revision`.
    pub revision: i64,
    pub created_at: Option<DateTime<Utc>>,
    /// The Deployment runs this image now (else a later deploy replaced it).
    pub current: bool,
    /// All replicas of the Deployment updated and available (when current).
    pub complete: bool,
    /// When it completed (the Deployment's `NewReplicaSetAvailable`), when current and complete.
    pub completed_at: Option<DateTime<Utc>>,
    pub ready: i32,
    pub replicas: i32,
    /// The Deployment's condition when it is stuck (`ProgressDeadlineExceeded`).
    pub problem: Option<String>,
}

/// Answer of `GET /api/versions`: what runs where — microservices × environments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionMatrix {
    /// The environments shown (those the caller may read), in configuration order.
    pub envs: Vec<String>,
    /// The promotion the `pending` commits are of: from this environment…
    pub from: String,
    /// …to this one.
    pub to: String,
    pub rows: Vec<VersionRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionRow {
    pub ms: String,
    /// One per environment of `envs`, in that order.
    pub cells: Vec<VersionCell>,
    /// App commits running in `from` and not in `to`, newest first: the
    /// release notes of the next promotion.
    pub pending: Vec<CommitRef>,
    /// `to` runs an image `from` never ran (no deploy of that tag there).
    pub to_never_ran_in_from: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionCell {
    pub env: String,
    /// The tag its Deployment runs (none: not deployed there, or not seen).
    pub tag: Option<String>,
    /// That tag's app commit, when the app repository has it.
    pub commit: Option<CommitRef>,
    /// The manifests name another tag than what runs (not synced or not rolled out yet).
    pub manifest_tag: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommitRef {
    pub sha: String,
    pub subject: String,
    pub author: String,
    pub at: DateTime<Utc>,
}

/// A change of the manifests made through mezame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Promote,
    Rollback,
    /// A microservice moved to spot: its pods tolerate and prefer the spot nodes.
    Spot,
    /// Back to on-demand: mezame's spot placement taken out.
    OnDemand,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Promote => "promote",
            ChangeKind::Rollback => "rollback",
            ChangeKind::Spot => "spot",
            ChangeKind::OnDemand => "on_demand",
        }
    }

    pub fn parse(s: &str) -> Option<ChangeKind> {
        [ChangeKind::Promote, ChangeKind::Rollback, ChangeKind::Spot, ChangeKind::OnDemand].into_iter().find(|k| k.as_str() == s)
    }

    /// A move to spot or back (not a new tag).
    pub fn is_placement(self) -> bool {
        matches!(self, ChangeKind::Spot | ChangeKind::OnDemand)
    }
}

/// Body of `POST /api/envs/{env}/deploys/{ms}/promote`: the tag that runs in
/// `from` goes to `{env}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PromoteRequest {
    pub from: String,
    /// Only say what would change (the lines, the commits it ships); nothing is written.
    #[serde(default)]
    pub dry_run: bool,
    /// Promote although a rollback froze promotions of this microservice here (lifts the freeze).
    #[serde(default)]
    pub unfreeze: bool,
    /// In a protected environment: its name, typed by the person.
    #[serde(default)]
    pub confirm: Option<String>,
}

/// Body of `POST /api/envs/{env}/deploys/{ms}/rollback`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    /// The manifest commit of the earlier deploy whose tag comes back (a deploy of this microservice here).
    pub to_deploy: String,
    /// Why (required; kept in the commit, the freeze and the audit log).
    pub reason: String,
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub confirm: Option<String>,
}

/// Body of `POST /api/envs/{env}/capacity/placement/{ms}`: move a
/// microservice's pods to spot (`spot: true`) or back to on-demand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PlacementRequest {
    pub spot: bool,
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub confirm: Option<String>,
}

/// One line a change rewrites (an `image:` line; for a placement, the pod
/// spec's `spec:` line and the block under it added or taken out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineChange {
    pub path: String,
    /// 1-based.
    pub line: usize,
    pub before: String,
    pub after: String,
}

/// A promotion or rollback: what it changes, and where it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeployChange {
    pub kind: ChangeKind,
    pub env: String,
    pub ms: String,
    /// The tag the environment's manifests name after the change.
    pub tag: String,
    /// The tag they named before.
    pub previous_tag: Option<String>,
    /// A promotion's source environment.
    pub from: Option<String>,
    pub reason: Option<String>,
    pub lines: Vec<LineChange>,
    /// The app commits it ships (a promotion's release notes; a rollback's: those it takes away), newest first.
    pub commits: Vec<CommitRef>,
    /// The manifest commit (none for a dry run).
    pub commit: Option<String>,
    /// The branch it was pushed to: the deployed branch itself (a direct
    /// commit), or a new branch left for a person to merge.
    pub branch: Option<String>,
    /// True when the change waits for a person to merge `branch`.
    pub needs_merge: bool,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// Promotions of a microservice into an environment stopped by a rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Freeze {
    pub env: String,
    pub ms: String,
    /// The tag rolled back to.
    pub tag: String,
    pub reason: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// Answer of `POST /api/hooks/git`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HookAccepted {
    /// True when a fetch and index of the repositories was asked for (a `ping` asks none).
    pub fetching: bool,
}

/// Answer of `GET /api/envs/{env}/deploys/{ms}/diff`: what changed between two deploys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeployDiff {
    pub env: String,
    pub ms: String,
    pub from: DiffEnd,
    pub to: DiffEnd,
    /// `to` is older than `from`: the commits are those going back takes away.
    pub backwards: bool,
    /// The app commits between the two tags, newest first (none for an external image).
    pub commits: Vec<CommitRef>,
    /// The manifest diff of the microservice's directory, per file.
    pub files: Vec<FileDiff>,
    /// The diff was longer than the answer keeps (the files after the cut are left out).
    pub truncated: bool,
}

/// One side of a diff: a deploy's manifest commit and its tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiffEnd {
    pub sha: String,
    pub tag: String,
    pub at: DateTime<Utc>,
}

/// A file's unified diff (`git diff -U3`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileDiff {
    pub path: String,
    pub patch: String,
}
