//! Rows of the deploy index: git commits and refs, the deployed branch's
//! line, the deploys found on it, and the Argo CD syncs observed.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::Db;
use crate::adapters::AdapterError;
use crate::adapters::git::Commit;

/// A manifest commit that changed one microservice's image in one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployRow {
    pub sha: String,
    pub env: String,
    pub ms: String,
    /// Position on the deployed branch's first-parent line.
    pub seq: i64,
    pub tag: String,
    pub previous_tag: Option<String>,
    pub files: Vec<String>,
    pub at: DateTime<Utc>,
}

/// One entry of an Application's sync history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRow {
    pub env: String,
    pub app: String,
    pub path: String,
    pub revision: String,
    pub finished: DateTime<Utc>,
    pub history_id: i64,
    pub started: Option<DateTime<Utc>>,
    pub initiated_by: Option<String>,
    /// The revision's place on the deployed branch (none: not on it, or not indexed yet).
    pub seq: Option<i64>,
}

impl SyncRow {
    /// What identifies an entry (Argo CD's ids restart with the Application).
    pub fn key(&self) -> (String, String, String, DateTime<Utc>) {
        (self.env.clone(), self.app.clone(), self.revision.clone(), self.finished)
    }
}

/// An Application's health since a time (`status.health`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HealthRow {
    pub env: String,
    pub app: String,
    pub path: String,
    pub status: String,
    pub at: DateTime<Utc>,
}

/// What one pass indexed in a repository.
pub struct RepoIndex<'a> {
    pub repo: &'a str,
    pub commits: &'a [Commit],
    /// The repository's refs now (replacing those recorded).
    pub refs: &'a [(String, String)],
    /// For the manifest repository: the new part of the deployed line and its deploys.
    pub line: &'a [(String, i64)],
    pub deploys: &'a [DeployRow],
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn time(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(v).unwrap_or_default()
}

impl Db {
    /// The refs a repository was indexed up to.
    pub async fn git_refs(&self, repo: &str) -> Result<Vec<(String, String)>, AdapterError> {
        let rows = sqlx::query("SELECT name, sha FROM git_refs WHERE repo = $1").bind(repo).fetch_all(self.pool()).await?;
        Ok(rows.iter().map(|r| (r.get::<String, _>(0), r.get::<String, _>(1))).collect())
    }

    /// The last commit of the deployed line indexed, and its place.
    pub async fn manifest_line_tip(&self) -> Result<Option<(String, i64)>, AdapterError> {
        let row = sqlx::query("SELECT sha, seq FROM manifest_line ORDER BY seq DESC LIMIT 1").fetch_optional(self.pool()).await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// Forgets the deployed line and its deploys (the branch was rewritten).
    pub async fn reset_manifest_line(&self) -> Result<(), AdapterError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM deploys").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM manifest_line").execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes one pass over a repository, all or nothing: a pass that fails
    /// half-way is done again whole (every insert ignores what exists).
    pub async fn index_repo(&self, ix: &RepoIndex<'_>) -> Result<(), AdapterError> {
        let mut tx = self.pool().begin().await?;
        for c in ix.commits {
            sqlx::query(
                "INSERT INTO git_commits (repo, sha, parents, author, authored_ms, committer, committed_ms, subject, trailers_json) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
            )
            .bind(ix.repo)
            .bind(&c.sha)
            .bind(c.parents.join(" "))
            .bind(&c.author)
            .bind(ms(c.authored_at))
            .bind(&c.committer)
            .bind(ms(c.committed_at))
            .bind(&c.subject)
            .bind(serde_json::to_string(&c.trailers).unwrap_or_default())
            .execute(&mut *tx)
            .await?;
        }
        for (sha, seq) in ix.line {
            sqlx::query("INSERT INTO manifest_line (sha, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(sha)
                .bind(seq)
                .execute(&mut *tx)
                .await?;
        }
        for d in ix.deploys {
            sqlx::query(
                "INSERT INTO deploys (sha, env, ms, seq, tag, previous_tag, files_json, at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            )
            .bind(&d.sha)
            .bind(&d.env)
            .bind(&d.ms)
            .bind(d.seq)
            .bind(&d.tag)
            .bind(&d.previous_tag)
            .bind(serde_json::to_string(&d.files).unwrap_or_default())
            .bind(ms(d.at))
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM git_refs WHERE repo = $1").bind(ix.repo).execute(&mut *tx).await?;
        for (name, sha) in ix.refs {
            sqlx::query("INSERT INTO git_refs (repo, name, sha) VALUES ($1, $2, $3)")
                .bind(ix.repo)
                .bind(name)
                .bind(sha)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records sync history entries not seen before.
    pub async fn record_syncs(&self, rows: &[SyncRow]) -> Result<(), AdapterError> {
        let mut tx = self.pool().begin().await?;
        for s in rows {
            sqlx::query(
                "INSERT INTO argocd_syncs (env, app, path, revision, finished_ms, history_id, started_ms, initiated_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            )
            .bind(&s.env)
            .bind(&s.app)
            .bind(&s.path)
            .bind(&s.revision)
            .bind(ms(s.finished))
            .bind(s.history_id)
            .bind(s.started.map(ms))
            .bind(&s.initiated_by)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records health transitions not seen before.
    pub async fn record_health(&self, rows: &[HealthRow]) -> Result<(), AdapterError> {
        let mut tx = self.pool().begin().await?;
        for h in rows {
            sqlx::query("INSERT INTO argocd_health (env, app, path, status, at_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING")
                .bind(&h.env)
                .bind(&h.app)
                .bind(&h.path)
                .bind(&h.status)
                .bind(ms(h.at))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// When the Application deploying `path` in `env` became `status`, oldest first.
    pub async fn health_since(&self, env: &str, path: &str, status: &str) -> Result<Vec<DateTime<Utc>>, AdapterError> {
        let sql = "SELECT at_ms FROM argocd_health WHERE env = $1 AND path = $2 AND status = $3 ORDER BY at_ms";
        let rows = sqlx::query(sql).bind(env).bind(path).bind(status).fetch_all(self.pool()).await?;
        Ok(rows.iter().map(|r| time(r.get(0))).collect())
    }

    /// Deploys of `env` (of one microservice if `ms`), newest first, at most `limit`.
    pub async fn deploys(&self, env: &str, ms: Option<&str>, limit: u32) -> Result<Vec<DeployRow>, AdapterError> {
        let sql = "SELECT sha, env, ms, seq, tag, previous_tag, files_json, at_ms FROM deploys \
                   WHERE env = $1 AND ($2 = '' OR ms = $2) ORDER BY seq DESC LIMIT $3";
        let rows = sqlx::query(sql).bind(env).bind(ms.unwrap_or("")).bind(i64::from(limit)).fetch_all(self.pool()).await?;
        rows.iter().map(deploy_row).collect()
    }

    /// The syncs observed in `env` of the Applications whose source path is
    /// one of `paths`, each with its revision's place on the deployed line.
    pub async fn syncs(&self, env: &str, paths: &[String]) -> Result<Vec<SyncRow>, AdapterError> {
        if paths.is_empty() {
            return Ok(vec![]);
        }
        let list = placeholders(paths.len(), 2);
        let sql = format!(
            "SELECT s.env, s.app, s.path, s.revision, s.finished_ms, s.history_id, s.started_ms, s.initiated_by, l.seq \
             FROM argocd_syncs s LEFT JOIN manifest_line l ON l.sha = s.revision WHERE s.env = $1 AND s.path IN ({list}) \
             ORDER BY s.finished_ms"
        );
        let mut q = sqlx::query(&sql).bind(env);
        for p in paths {
            q = q.bind(p);
        }
        let rows = q.fetch_all(self.pool()).await?;
        Ok(rows
            .iter()
            .map(|r| SyncRow {
                env: r.get(0),
                app: r.get(1),
                path: r.get(2),
                revision: r.get(3),
                finished: time(r.get(4)),
                history_id: r.get(5),
                started: r.get::<Option<i64>, _>(6).map(time),
                initiated_by: r.get(7),
                seq: r.get(8),
            })
            .collect())
    }

    /// Commits by sha in any repository whose name starts with `prefix`, with that name.
    pub async fn commits_by_sha(&self, prefix: &str, shas: &[String]) -> Result<Vec<(String, Commit)>, AdapterError> {
        let mut out = Vec::new();
        for chunk in shas.chunks(200) {
            let list = placeholders(chunk.len(), 1);
            let sql = format!("SELECT {COMMIT_COLUMNS}, repo FROM git_commits WHERE sha IN ({list})");
            let mut q = sqlx::query(&sql);
            for s in chunk {
                q = q.bind(s);
            }
            for r in q.fetch_all(self.pool()).await? {
                let repo: String = r.get(8);
                if repo.starts_with(prefix) {
                    out.push((repo, commit_row(&r)?));
                }
            }
        }
        Ok(out)
    }

    /// Commits of `repo` by sha (those indexed).
    pub async fn commits(&self, repo: &str, shas: &[String]) -> Result<Vec<Commit>, AdapterError> {
        let mut out = Vec::new();
        // Bounded statement size whatever the page holds.
        for chunk in shas.chunks(200) {
            let list = placeholders(chunk.len(), 2);
            let sql = format!("SELECT {COMMIT_COLUMNS} FROM git_commits WHERE repo = $1 AND sha IN ({list})");
            let mut q = sqlx::query(&sql).bind(repo);
            for s in chunk {
                q = q.bind(s);
            }
            for r in q.fetch_all(self.pool()).await? {
                out.push(commit_row(&r)?);
            }
        }
        Ok(out)
    }

    /// The microservices with deploys, any environment.
    pub async fn deployed_microservices(&self) -> Result<std::collections::BTreeSet<String>, AdapterError> {
        let rows = sqlx::query("SELECT DISTINCT ms FROM deploys").fetch_all(self.pool()).await?;
        Ok(rows.iter().map(|r| r.get::<String, _>(0)).collect())
    }

    /// Every commit of `repo` indexed (to hold its graph in memory).
    pub async fn all_commits(&self, repo: &str) -> Result<Vec<Commit>, AdapterError> {
        let sql = format!("SELECT {COMMIT_COLUMNS} FROM git_commits WHERE repo = $1");
        sqlx::query(&sql).bind(repo).fetch_all(self.pool()).await?.iter().map(commit_row).collect()
    }

    /// The newest deploy of each microservice in `env`.
    pub async fn latest_deploys(&self, env: &str) -> Result<Vec<DeployRow>, AdapterError> {
        let sql = "SELECT sha, env, ms, seq, tag, previous_tag, files_json, at_ms FROM deploys \
                   WHERE env = $1 AND seq IN (SELECT MAX(seq) FROM deploys WHERE env = $1 GROUP BY ms)";
        sqlx::query(sql).bind(env).fetch_all(self.pool()).await?.iter().map(deploy_row).collect()
    }

    /// Which of these tags were ever deployed in `env`, as `(ms, tag)`.
    pub async fn ever_deployed(&self, env: &str, tags: &[String]) -> Result<std::collections::BTreeSet<(String, String)>, AdapterError> {
        let mut out = std::collections::BTreeSet::new();
        for chunk in tags.chunks(200) {
            let list = placeholders(chunk.len(), 2);
            let sql = format!("SELECT DISTINCT ms, tag FROM deploys WHERE env = $1 AND tag IN ({list})");
            let mut q = sqlx::query(&sql).bind(env);
            for t in chunk {
                q = q.bind(t);
            }
            out.extend(q.fetch_all(self.pool()).await?.iter().map(|r| (r.get::<String, _>(0), r.get::<String, _>(1))));
        }
        Ok(out)
    }

    /// How many commits are indexed, all repositories.
    pub async fn commit_count(&self) -> Result<u64, AdapterError> {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM git_commits").fetch_one(self.pool()).await?.get(0);
        Ok(n.max(0) as u64)
    }
}

/// `$first, $first+1, …`: `count` placeholders for an `IN (…)` list.
fn placeholders(count: usize, first: usize) -> String {
    (first..first + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

const COMMIT_COLUMNS: &str = "sha, parents, author, authored_ms, committer, committed_ms, subject, trailers_json";

fn commit_row(r: &AnyRow) -> Result<Commit, AdapterError> {
    Ok(Commit {
        sha: r.get(0),
        parents: r.get::<String, _>(1).split_whitespace().map(str::to_string).collect(),
        author: r.get(2),
        authored_at: time(r.get(3)),
        committer: r.get(4),
        committed_at: time(r.get(5)),
        subject: r.get(6),
        trailers: serde_json::from_str(&r.get::<String, _>(7))
            .map_err(|e| AdapterError::Corrupt(format!("git_commits.trailers_json: {e}")))?,
    })
}

pub(super) fn deploy_row(r: &AnyRow) -> Result<DeployRow, AdapterError> {
    Ok(DeployRow {
        sha: r.get(0),
        env: r.get(1),
        ms: r.get(2),
        seq: r.get(3),
        tag: r.get(4),
        previous_tag: r.get(5),
        files: serde_json::from_str(&r.get::<String, _>(6)).map_err(|e| AdapterError::Corrupt(format!("deploys.files_json: {e}")))?,
        at: time(r.get(7)),
    })
}
