//! What runs where: microservices × environments (each cell the tag its
//! Deployment runs and that tag's app commit), and per microservice the app
//! commits a promotion would ship — those running in one environment and not
//! in the other. App repositories' commit graphs are held in memory, loaded
//! from the index once per repository and dropped when it indexes new commits.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use mezame_shared::deploys::{CommitRef, VersionCell, VersionMatrix, VersionRow};

use super::index::own_tag;
use super::{Deploys, observe};
use crate::adapters::git::Commit;
use crate::domain::DomainError;
use crate::domain::topology::Topologies;

/// One repository's commits by sha.
pub struct Graph {
    by_sha: HashMap<String, Commit>,
}

impl Graph {
    pub fn new(commits: Vec<Commit>) -> Graph {
        Graph { by_sha: commits.into_iter().map(|c| (c.sha.clone(), c)).collect() }
    }

    pub fn get(&self, sha: &str) -> Option<&Commit> {
        self.by_sha.get(sha)
    }

    /// Every commit reachable from `from`.
    fn ancestors(&self, from: &str) -> HashSet<&str> {
        let mut seen = HashSet::new();
        let mut todo = vec![from];
        while let Some(sha) = todo.pop() {
            let Some(c) = self.by_sha.get(sha) else { continue };
            if seen.insert(c.sha.as_str()) {
                todo.extend(c.parents.iter().map(String::as_str));
            }
        }
        seen
    }

    /// The commits reachable from `tip` and not from `base` (`base..tip`), newest first.
    pub fn between(&self, base: &str, tip: &str) -> Vec<&Commit> {
        let old = self.ancestors(base);
        let mut out: Vec<&Commit> =
            self.ancestors(tip).into_iter().filter(|s| !old.contains(s)).filter_map(|s| self.by_sha.get(s)).collect();
        out.sort_by(|a, b| b.committed_at.cmp(&a.committed_at).then_with(|| a.sha.cmp(&b.sha)));
        out
    }
}

pub(super) fn commit_ref(c: &Commit) -> CommitRef {
    CommitRef { sha: c.sha.clone(), subject: c.subject.clone(), author: super::chain::name(&c.author), at: c.authored_at }
}

impl Deploys {
    /// The graph of `ms`'s app repository (loaded from the index on first use).
    pub(super) async fn graph(&self, ms: &str) -> Result<Arc<Graph>, DomainError> {
        let repo = format!("app:{ms}");
        let cached = || self.graphs.lock().unwrap_or_else(|p| p.into_inner()).get(&repo).cloned();
        if let Some(g) = cached() {
            return Ok(g);
        }
        // One load at a time: a burst of first requests loads each graph once.
        let _loading = self.loading.lock().await;
        if let Some(g) = cached() {
            return Ok(g);
        }
        let g = Arc::new(Graph::new(self.db.all_commits(&repo).await?));
        self.graphs.lock().unwrap_or_else(|p| p.into_inner()).insert(repo, g.clone());
        Ok(g)
    }

    /// Drops the graph of a repository that indexed new commits.
    pub(super) fn forget_graph(&self, repo: &str) {
        self.graphs.lock().unwrap_or_else(|p| p.into_inner()).remove(repo);
    }

    /// The matrix of `envs` (in order), with what promoting `from` → `to` would
    /// ship: made once per change (of the index, or of an environment's
    /// topology), not once per request.
    pub async fn versions(&self, topologies: &Topologies, envs: &[String], from: &str, to: &str) -> Result<VersionMatrix, DomainError> {
        // Read before the matrix is made: a change meanwhile makes the next request compute again.
        let generation = *self.generation.borrow();
        let revisions: Vec<u64> = envs.iter().map(|e| topologies.get(e).map_or(0, |l| l.feed.snapshot().revision)).collect();
        let key = (envs.to_vec(), from.to_string(), to.to_string());
        if let Some((g, r, m)) = self.matrices.lock().unwrap_or_else(|p| p.into_inner()).get(&key)
            && *g == generation
            && *r == revisions
        {
            return Ok(VersionMatrix::clone(m));
        }
        let matrix = self.make_versions(topologies, envs, from, to).await?;
        let mut cache = self.matrices.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= super::PAGES {
            cache.clear();
        }
        cache.insert(key, (generation, revisions, Arc::new(matrix.clone())));
        Ok(matrix)
    }

    async fn make_versions(&self, topologies: &Topologies, envs: &[String], from: &str, to: &str) -> Result<VersionMatrix, DomainError> {
        let services = self.db.deployed_microservices().await?;
        let names: BTreeSet<&str> = services.iter().map(String::as_str).collect();
        // Per environment: what each microservice runs, and what its manifests say.
        let mut running: HashMap<&str, HashMap<String, String>> = HashMap::new();
        let mut declared: HashMap<&str, HashMap<String, String>> = HashMap::new();
        for env in envs {
            let apps = observe::apps(topologies, env, &self.config, &names);
            let tags = apps
                .into_iter()
                .filter_map(|(ms, a)| {
                    let images = a.deployment?.images;
                    own_tag(&images.iter().map(String::as_str).collect::<Vec<_>>(), &ms).map(|t| (ms, t.to_string()))
                })
                .collect();
            running.insert(env, tags);
            declared.insert(env, self.db.latest_deploys(env).await?.into_iter().map(|d| (d.ms, d.tag)).collect());
        }
        // Which of `to`'s tags `from` ever deployed: one query.
        let to_tags: Vec<String> = running.get(to).map(|m| m.values().cloned().collect()).unwrap_or_default();
        let in_from = self.db.ever_deployed(from, &to_tags).await?;
        let mut rows = Vec::new();
        for ms in &services {
            let graph = self.graph(ms).await?;
            let cells = envs
                .iter()
                .map(|env| {
                    let tag = running.get(env.as_str()).and_then(|m| m.get(ms)).cloned();
                    let manifest = declared.get(env.as_str()).and_then(|m| m.get(ms)).cloned();
                    VersionCell {
                        env: env.clone(),
                        commit: tag.as_deref().and_then(|t| graph.get(t)).map(commit_ref),
                        manifest_tag: manifest.filter(|m| tag.as_ref() != Some(m)),
                        tag,
                    }
                })
                .collect();
            let tag_in = |env: &str| running.get(env).and_then(|m| m.get(ms));
            let pending = match (tag_in(from), tag_in(to)) {
                (Some(f), Some(t)) => graph.between(t, f).into_iter().map(commit_ref).collect(),
                _ => vec![],
            };
            let to_never_ran_in_from = tag_in(to).is_some_and(|t| !in_from.contains(&(ms.clone(), t.clone())));
            rows.push(VersionRow { ms: ms.clone(), cells, pending, to_never_ran_in_from });
        }
        Ok(VersionMatrix { envs: envs.to_vec(), from: from.to_string(), to: to.to_string(), rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn c(sha: &str, parents: &[&str], min: i64) -> Commit {
        let t = DateTime::from_timestamp(1_700_000_000 + min * 60, 0).unwrap();
        Commit {
            sha: sha.into(),
            parents: parents.iter().map(|p| p.to_string()).collect(),
            author: "A <a@x>".into(),
            authored_at: t,
            committer: "A <a@x>".into(),
            committed_at: t,
            subject: sha.into(),
            trailers: vec![],
        }
    }

    #[test]
    fn between_is_reachable_from_the_tip_and_not_from_the_base() {
        // development: d1 - d2 - d3 - d4; master: m0 - M1 (merges d2) .
        let g = Graph::new(vec![
            c("m0", &[], 0),
            c("d1", &["m0"], 1),
            c("d2", &["d1"], 2),
            c("M1", &["m0", "d2"], 3),
            c("d3", &["d2"], 4),
            c("d4", &["d3"], 5),
        ]);
        let shas = |v: Vec<&Commit>| v.into_iter().map(|c| c.sha.clone()).collect::<Vec<_>>();
        assert_eq!(shas(g.between("M1", "d4")), ["d4", "d3"], "dev ahead of prod: the commits after the release");
        assert_eq!(shas(g.between("d4", "M1")), ["M1"], "the release's merge commit itself never ran in dev");
        assert!(g.between("d4", "d4").is_empty());
        assert_eq!(shas(g.between("unknown", "d2")), ["d2", "d1", "m0"]);
    }
}
