//! Deploys: what got deployed where and when, as the chain app commit →
//! image → manifest commit → Argo CD sync → rollout.
//!
//! A task keeps local mirrors of the manifest repository and the app
//! repositories fetched (every `fetch_interval_secs`, and when poked) and
//! indexes what is new into the database, one pass at a time: the deployed
//! branch's first-parent line and the deploys on it (`index.rs`), every app
//! commit. The same pass records the Argo CD sync history entries the watch
//! cache holds (Argo CD keeps 10 and loses them with the Application). A
//! request reads one page of deploys from the database and joins it with the
//! cache (`chain.rs`, pure) — it never walks git history.
//!
//! - `index.rs`: which commits are deploys (an `image:` retagged under
//!   `{env}/manifests/{ms}`), pure.
//! - `chain.rs`: the join, pure.
//! - `observe.rs`: the cache's Applications, their syncs and Deployments, as the join needs them.
//! - `versions.rs`: what runs where, and the app commits a promotion would ship.
//! - `change.rs`: promote and roll back — one manifest commit, pushed (directly,
//!   or on a branch for a person to merge), audited; a rollback's freeze.
//!   `rewrite.rs` (pure): the `image:` lines that commit rewrites.
//! - `spot.rs`: move a microservice to spot or back — a commit through
//!   `change.rs` whose edit is `placement.rs`'s (pure): a marked block
//!   tolerating and preferring the spot nodes in each Deployment's pod template.
//! - `diff.rs`: what changed between two deploys (app commits, manifest diff).
//! - `dora.rs`: DORA's four keys of one microservice in one environment, from
//!   the chains (`figures` is pure).

pub mod chain;
mod change;
mod diff;
pub mod dora;
pub mod index;
mod observe;
pub mod placement;
pub mod rewrite;
mod spot;
pub mod versions;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use mezame_shared::deploys::{DeployList, IndexState};
use tokio::sync::Notify;

use crate::adapters::AdapterError;
use crate::adapters::db::{Db, HealthRow, RepoIndex};
use crate::adapters::git::{GitAuth, Mirror};
use crate::config::git::GitConfig;
use crate::domain::DomainError;
use crate::domain::changes::Changes;
use crate::domain::topology::{Live, Topologies};

/// The manifest repository's name in the index.
const MANIFESTS: &str = "manifests";

/// The deploy index and its background task (state handle shared by requests).
pub struct Deploys {
    config: GitConfig,
    db: Db,
    manifests: Mirror,
    mirrors: PathBuf,
    auth: GitAuth,
    /// The secret push webhooks are signed with (none: webhooks are off).
    webhook_secret: Option<String>,
    /// What the last pass did; read by every `GET`.
    state: Mutex<PassState>,
    /// Wakes the task before its interval (a webhook, a promote).
    poke: Notify,
    /// App repositories' commit graphs, loaded on first use, dropped when re-indexed.
    graphs: Mutex<HashMap<String, Arc<versions::Graph>>>,
    /// Held while a graph is loaded from the database.
    loading: tokio::sync::Mutex<()>,
    /// Bumped whenever what a page shows may have changed in the database or
    /// the index's state (a pass ended, syncs were recorded, a freeze moved);
    /// pages' streams follow it.
    generation: tokio::sync::watch::Sender<u64>,
    /// Pages answered, by (env, ms, limit), with the generation and the
    /// environment's topology revision they were made at: a page polled by
    /// many viewers is joined once per change, not once per request.
    pages: Mutex<HashMap<PageKey, Page>>,
    /// Matrices answered, by (environments, from, to), with the generation
    /// and the environments' topology revisions they were made at.
    matrices: Mutex<HashMap<MatrixKey, Matrix>>,
    /// Held while the manifest mirror is fetched or a change is written to
    /// it: one git writer at a time on the mirror per process (two fetches at
    /// once fail on ref locks; replicas are kept apart by the remote refusing
    /// a push that is not a fast-forward).
    writing: tokio::sync::Mutex<()>,
}

type PageKey = (String, Option<String>, u32);
/// (generation, topology revision, the page).
type Page = (u64, u64, Arc<DeployList>);

type MatrixKey = (Vec<String>, String, String);
/// (generation, each environment's topology revision, the matrix).
type Matrix = (u64, Vec<u64>, Arc<mezame_shared::deploys::VersionMatrix>);

/// At most this many pages are kept; beyond, all are dropped.
const PAGES: usize = 256;

#[derive(Default)]
struct PassState {
    indexed_at: Option<DateTime<Utc>>,
    errors: Vec<String>,
    commits: u64,
}

impl Deploys {
    /// Starts indexing, unless no manifest repository is configured.
    pub fn start(config: &GitConfig, mirrors: PathBuf, db: Db, topologies: Arc<Topologies>) -> Option<Arc<Deploys>> {
        let url = config.manifests.clone()?;
        let auth = GitAuth {
            token: config.token_env.as_ref().and_then(|v| std::env::var(v).ok()).filter(|t| !t.is_empty()),
            ssh_key: config.ssh_key.clone(),
        };
        let deploys = Arc::new(Deploys {
            manifests: Mirror::new(&url, &mirrors.join("manifests.git"), auth.clone()),
            config: config.clone(),
            db,
            mirrors,
            auth,
            webhook_secret: config.webhook_secret_env.as_ref().and_then(|v| std::env::var(v).ok()).filter(|s| !s.is_empty()),
            state: Mutex::new(PassState::default()),
            poke: Notify::new(),
            graphs: Mutex::new(HashMap::new()),
            loading: tokio::sync::Mutex::new(()),
            generation: tokio::sync::watch::Sender::new(0),
            pages: Mutex::new(HashMap::new()),
            matrices: Mutex::new(HashMap::new()),
            writing: tokio::sync::Mutex::new(()),
        });
        tokio::spawn(deploys.clone().run(topologies));
        Some(deploys)
    }

    /// Asks for a fetch and index now.
    pub fn poke(&self) {
        self.poke.notify_one();
    }

    /// Checks a push webhook's signature (`sha256=…` of the body under the secret).
    pub fn check_hook(&self, body: &[u8], signature: Option<&str>) -> Result<(), DomainError> {
        let Some(secret) = &self.webhook_secret else {
            let why = match &self.config.webhook_secret_env {
                Some(v) => format!("webhooks are off: the variable {v} ([git] webhook_secret_env) is not set"),
                None => "webhooks are off: set [git] webhook_secret_env to the name of a variable holding the secret".into(),
            };
            return Err(DomainError::NotFound(why));
        };
        match signature {
            Some(s) if crate::adapters::secrets::hmac_sha256_signed(secret.as_bytes(), body, s) => Ok(()),
            Some(_) => Err(DomainError::Unauthenticated("X-Hub-Signature-256 is not the body's signature under the webhook secret".into())),
            None => Err(DomainError::Unauthenticated("no X-Hub-Signature-256: the webhook must be signed with its secret".into())),
        }
    }

    /// Says that what a page shows may have changed (a pass over git, new
    /// syncs recorded, a freeze set or lifted): caches go, cues go out.
    fn changed(&self) {
        self.generation.send_modify(|g| *g += 1);
    }

    async fn run(self: Arc<Self>, topologies: Arc<Topologies>) {
        let every = Duration::from_secs(self.config.fetch_interval_secs);
        let mut next_fetch = Instant::now();
        let mut passes = 0u64;
        let mut recorded = Recorded::default();
        // Argo CD's syncs and health arrive through the watch caches: read
        // them on each change (a burst: once per gap), else every SYNC_EVERY.
        let mut watched = Changes::new(topologies.iter().map(|l| l.applied.subscribe()).collect(), WATCH_GAP);
        loop {
            if Instant::now() >= next_fetch {
                let t = Instant::now();
                let errors = self.pass(passes).await;
                tracing::debug!(took_ms = t.elapsed().as_millis() as u64, errors = errors.len(), "deploy index pass");
                for e in &errors {
                    tracing::warn!(error = %e, "deploy index");
                }
                // A page says "indexed" once the syncs the watch caches hold are
                // recorded too: the first waits (a while at most) for the caches.
                if passes == 0 {
                    caches_synced(&topologies).await;
                }
                self.record_syncs(&topologies, &mut recorded).await;
                let commits = self.db.commit_count().await.ok();
                let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
                s.indexed_at = Some(Utc::now());
                s.errors = errors;
                s.commits = commits.unwrap_or(s.commits);
                drop(s);
                self.changed();
                passes += 1;
                next_fetch = Instant::now() + every;
            } else if self.record_syncs(&topologies, &mut recorded).await {
                // Argo CD synced something new: its commit is in the repository now.
                next_fetch = Instant::now();
            }
            tokio::select! {
                _ = self.poke.notified() => next_fetch = Instant::now(),
                Some(()) = watched.next() => {}
                _ = tokio::time::sleep(SYNC_EVERY) => {}
            }
        }
    }

    /// Records the syncs and health transitions in the watch caches not
    /// recorded yet (more often than git is fetched); says whether there was
    /// a new sync. `recorded` keeps only what the caches still hold: it stays
    /// as small as they are.
    async fn record_syncs(&self, topologies: &Arc<Topologies>, recorded: &mut Recorded) -> bool {
        // Read off the async workers: a rebuild thread, at low priority, may
        // hold the cache's lock, and a worker blocked on it stalls every
        // request queued behind it (seen in the topology bench's tail).
        let caches = topologies.clone();
        let Ok((seen, health)) = tokio::task::spawn_blocking(move || (observe::syncs(&caches), observe::healths(&caches))).await else {
            return false;
        };
        let held: HashSet<_> = seen.iter().map(|s| s.key()).collect();
        recorded.syncs.retain(|k| held.contains(k));
        let new: Vec<_> = seen.into_iter().filter(|s| !recorded.syncs.contains(&s.key())).collect();
        let mut synced = false;
        if !new.is_empty() {
            match self.db.record_syncs(&new).await {
                Ok(()) => {
                    recorded.syncs.extend(new.iter().map(|s| s.key()));
                    synced = true;
                    self.changed();
                }
                Err(e) => tracing::warn!(error = %e, "recording Argo CD syncs"),
            }
        }
        let health: HashSet<_> = health.into_iter().collect();
        let new: Vec<_> = health.difference(&recorded.health).cloned().collect();
        if new.is_empty() {
            recorded.health = health;
        } else {
            match self.db.record_health(&new).await {
                Ok(()) => {
                    recorded.health = health;
                    self.changed();
                }
                Err(e) => tracing::warn!(error = %e, "recording Argo CD health"),
            }
        }
        synced
    }

    /// One pass over git: the manifest repository, then the app repositories
    /// of the microservices it just deployed (all of them on the first pass
    /// and every [`APPS_EVERY`] passes). Each repository fails alone (and is
    /// said); what the others indexed is kept.
    async fn pass(&self, n: u64) -> Vec<String> {
        let mut errors = Vec::new();
        let deployed = match self.index_manifests().await {
            Ok(d) => d,
            Err(e) => {
                errors.push(e.to_string());
                BTreeSet::new()
            }
        };
        if let Err(e) = self.mark_merged().await {
            errors.push(e.to_string());
        }
        let services = if n.is_multiple_of(APPS_EVERY) { self.db.deployed_microservices().await.unwrap_or_default() } else { deployed };
        for ms in &services {
            if let Some(url) = self.config.app_url(ms)
                && let Err(e) = self.index_app(ms, &url).await
            {
                errors.push(e.to_string());
            }
        }
        errors
    }

    /// Indexes what is new on the manifest repository; returns the
    /// microservices it found new deploys of.
    async fn index_manifests(&self) -> Result<BTreeSet<String>, AdapterError> {
        {
            let _mirror = self.writing.lock().await;
            self.manifests.fetch().await?;
        }
        let branch = &self.config.branch;
        let Some(tip) = self.manifests.resolve(&format!("refs/heads/{branch}")).await? else {
            return Err(AdapterError::Git(format!("the manifest repository has no branch {branch}")));
        };
        let mut last = self.db.manifest_line_tip().await?;
        if let Some((sha, _)) = &last {
            if *sha == tip {
                return Ok(BTreeSet::new());
            }
            if !self.manifests.is_ancestor(sha, &tip).await? {
                tracing::warn!(branch, "the deployed branch was rewritten: indexing it again");
                self.db.reset_manifest_line().await?;
                last = None;
            }
        }
        let known: Vec<String> = self.db.git_refs(MANIFESTS).await?.into_iter().map(|(_, s)| s).collect();
        let branches = self.manifests.branches().await?;
        let tips: Vec<String> = branches.iter().map(|(_, s)| s.clone()).collect();
        let commits = self.manifests.commits(&tips, &known).await?;
        let pathspec = self.config.path.replace("{env}", "*").replace("{ms}", "*");
        let line = self.manifests.first_parent_changes(&tip, last.as_ref().map(|(s, _)| s.as_str()), &pathspec).await?;
        let first = last.map_or(0, |(_, seq)| seq + 1);
        let at: HashMap<&str, DateTime<Utc>> = commits.iter().map(|c| (c.sha.as_str(), c.committed_at)).collect();
        let mut seqs = Vec::with_capacity(line.len());
        let mut rows = Vec::new();
        for (k, (sha, files)) in line.iter().enumerate() {
            let seq = first + k as i64;
            seqs.push((sha.clone(), seq));
            if !files.is_empty() {
                let when = at.get(sha.as_str()).copied().unwrap_or_else(Utc::now);
                rows.extend(index::deploys_of(&self.config.path, sha, seq, when, files));
            }
        }
        self.db.index_repo(&RepoIndex { repo: MANIFESTS, commits: &commits, refs: &branches, line: &seqs, deploys: &rows }).await?;
        Ok(rows.into_iter().map(|r| r.ms).collect())
    }

    /// Marks the changes mezame pushed on a branch that reached the deployed branch.
    async fn mark_merged(&self) -> Result<(), AdapterError> {
        let pending = self.db.pending_changes(None).await?;
        if pending.is_empty() {
            return Ok(());
        }
        let Some(tip) = self.manifests.resolve(&format!("refs/heads/{}", self.config.branch)).await? else { return Ok(()) };
        for c in pending {
            let Some(sha) = &c.commit else { continue };
            // Merged — or its branch deleted without a merge: no longer waiting either way.
            let gone = match &c.branch {
                Some(b) => self.manifests.resolve(&format!("refs/heads/{b}")).await?.is_none(),
                None => false,
            };
            if gone || self.manifests.is_ancestor(sha, &tip).await.unwrap_or(false) {
                self.db.change_merged(sha, Utc::now().timestamp_millis()).await?;
            }
        }
        Ok(())
    }

    async fn index_app(&self, ms: &str, url: &str) -> Result<(), AdapterError> {
        let mirror = Mirror::new(url, &self.mirrors.join("apps").join(format!("{ms}.git")), self.auth.clone());
        mirror.fetch().await?;
        let repo = format!("app:{ms}");
        let known: Vec<String> = self.db.git_refs(&repo).await?.into_iter().map(|(_, s)| s).collect();
        let branches = mirror.branches().await?;
        let tips: Vec<String> = branches.iter().map(|(_, s)| s.clone()).collect();
        if tips.iter().all(|t| known.contains(t)) && tips.len() == known.len() {
            return Ok(());
        }
        let commits = mirror.commits(&tips, &known).await?;
        self.db.index_repo(&RepoIndex { repo: &repo, commits: &commits, refs: &branches, line: &[], deploys: &[] }).await?;
        self.forget_graph(&repo);
        Ok(())
    }

    /// Cues when `env`'s deploys page may have changed: the index moved, or
    /// the environment's watch cache (syncs, rollouts) did; at most one per second.
    pub fn changes(&self, live: &Live) -> Changes {
        Changes::new(vec![self.generation.subscribe(), live.applied.subscribe()], Duration::from_secs(1))
    }

    /// A page of `env`'s deploys (of one microservice if `ms`), newest first, with their chains.
    pub async fn list(&self, env: &str, topologies: &Topologies, ms: Option<&str>, limit: u32) -> Result<DeployList, DomainError> {
        // Read before the page is made: a change meanwhile makes the next request join again.
        let generation = *self.generation.borrow();
        let revision = topologies.get(env).map_or(0, |l| l.feed.snapshot().revision);
        let key: PageKey = (env.to_string(), ms.map(str::to_string), limit);
        if let Some((g, r, page)) = self.pages.lock().unwrap_or_else(|p| p.into_inner()).get(&key)
            && (*g, *r) == (generation, revision)
        {
            return Ok(DeployList::clone(page));
        }
        let page = self.join(env, topologies, ms, limit).await?;
        let mut pages = self.pages.lock().unwrap_or_else(|p| p.into_inner());
        if pages.len() >= PAGES {
            pages.clear();
        }
        pages.insert(key, (generation, revision, Arc::new(page.clone())));
        Ok(page)
    }

    async fn join(&self, env: &str, topologies: &Topologies, ms: Option<&str>, limit: u32) -> Result<DeployList, DomainError> {
        let rows = self.db.deploys(env, ms, limit).await?;
        let services: BTreeSet<&str> = rows.iter().map(|r| r.ms.as_str()).collect();
        // The rows' manifest commits, and the branches merges brought.
        let mut commits: HashMap<String, _> = self
            .db
            .commits(MANIFESTS, &rows.iter().map(|r| r.sha.clone()).collect::<Vec<_>>())
            .await?
            .into_iter()
            .map(|c| (c.sha.clone(), c))
            .collect();
        let merged: Vec<String> = commits.values().filter_map(|c| c.parents.get(1).cloned()).collect();
        if !merged.is_empty() {
            commits.extend(self.db.commits(MANIFESTS, &merged).await?.into_iter().map(|c| (c.sha.clone(), c)));
        }
        // The tags as app commits, one query for every repository.
        let tags: Vec<String> = rows.iter().map(|r| r.tag.clone()).collect::<BTreeSet<_>>().into_iter().collect();
        let app_commits: HashMap<(String, String), _> = self
            .db
            .commits_by_sha("app:", &tags)
            .await?
            .into_iter()
            .map(|(repo, c)| ((repo.trim_start_matches("app:").to_string(), c.sha.clone()), c))
            .collect();
        let paths: Vec<String> = services.iter().map(|s| self.config.ms_path(env, s)).collect();
        let syncs = self.db.syncs(env, &paths).await?;
        let apps = observe::apps(topologies, env, &self.config, &services);
        let deploys = chain::chains(&chain::Inputs {
            pattern: &self.config.path,
            rows: &rows,
            manifest_commits: &commits,
            app_commits: &app_commits,
            syncs: &syncs,
            apps: &apps,
        });
        let index = {
            let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            IndexState { indexed_at: s.indexed_at, commits: s.commits, errors: s.errors.clone() }
        };
        let pending = self.db.pending_changes(Some(env)).await?.into_iter().filter(|c| ms.is_none_or(|m| m == c.ms)).collect();
        let freezes = self.db.freezes(env).await?.into_iter().filter(|f| ms.is_none_or(|m| m == f.ms)).collect();
        Ok(DeployList { env: env.to_string(), deploys, index, pending, freezes })
    }
}

/// What the watch caches held that is recorded already.
#[derive(Default)]
struct Recorded {
    syncs: HashSet<(String, String, String, DateTime<Utc>)>,
    health: HashSet<HealthRow>,
}

/// How often the syncs the cache holds are recorded when it did not change.
const SYNC_EVERY: Duration = Duration::from_secs(2);
/// The least time between two readings of the watch caches on their changes.
const WATCH_GAP: Duration = Duration::from_millis(200);
/// How long the first pass waits for the watch caches' first lists (an
/// environment down is not waited for longer: its syncs come when it is back).
const CACHES_WAIT: Duration = Duration::from_secs(30);
/// Every this many passes, every app repository is fetched (else only those just deployed).
const APPS_EVERY: u64 = 10;

/// Waits until every environment's watch cache has listed what it watches,
/// [`CACHES_WAIT`] at most.
async fn caches_synced(topologies: &Topologies) {
    let until = Instant::now() + CACHES_WAIT;
    while Instant::now() < until && !topologies.iter().all(|l| l.objects.read().unwrap_or_else(|p| p.into_inner()).source().synced) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
