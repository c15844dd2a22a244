//! Git repositories, read through local mirrors.
//!
//! Mirrors are kept with the `git` command (`clone --mirror`, `fetch
//! --prune`), as Argo CD's repo-server and Kargo do: the CLI speaks every
//! transport and credential scheme a platform uses, and it is on every machine
//! mezame runs on. Reading goes through the same command in one streaming
//! `git log` per range (10,000 commits parse in well under a second); nothing
//! walks history per request — the domain indexes new commits into the database.
//!
//! Credentials are passed by environment (`GIT_CONFIG_*`, `GIT_SSH_COMMAND`),
//! never on the command line (visible in `ps`) and never in an error.

mod log;
mod write;

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use tokio::process::Command;

pub use log::{Commit, FileChange, parse_changes, parse_commits};
pub use write::{Edit, Identity, Pushed};

use super::AdapterError;

/// How long one git command may run (a first clone of a large repository included).
const TIMEOUT: Duration = Duration::from_secs(300);

/// How git authenticates to a remote.
#[derive(Clone, Default)]
pub struct GitAuth {
    /// An HTTPS token (basic auth, user `x-access-token`).
    pub token: Option<String>,
    pub ssh_key: Option<PathBuf>,
}

impl std::fmt::Debug for GitAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitAuth").field("token", &self.token.as_ref().map(|_| "***")).field("ssh_key", &self.ssh_key).finish()
    }
}

/// A bare mirror of one remote repository.
#[derive(Debug, Clone)]
pub struct Mirror {
    /// The remote, as configured (shown redacted).
    pub url: String,
    pub dir: PathBuf,
    auth: GitAuth,
}

impl Mirror {
    pub fn new(url: &str, dir: &Path, auth: GitAuth) -> Mirror {
        Mirror { url: url.to_string(), dir: dir.to_path_buf(), auth }
    }

    /// Clones the mirror if it is absent, else fetches every ref (pruning deleted ones).
    pub async fn fetch(&self) -> Result<(), AdapterError> {
        if self.dir.join("HEAD").is_file() {
            self.git(&["fetch", "--prune", "--quiet", "origin", "+refs/*:refs/*"]).await.map(|_| ())
        } else {
            let _ = tokio::fs::remove_dir_all(&self.dir).await;
            if let Some(parent) = self.dir.parent() {
                tokio::fs::create_dir_all(parent).await.map_err(|e| self.error(&format!("cannot create {}: {e}", parent.display())))?;
            }
            let dir = self.dir.display().to_string();
            self.run(None, &["clone", "--mirror", "--quiet", "--", &self.url, &dir]).await.map(|_| ())
        }
    }

    /// The commit `rev` names, if it exists.
    pub async fn resolve(&self, rev: &str) -> Result<Option<String>, AdapterError> {
        match self.git(&["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")]).await {
            Ok(sha) => Ok(Some(sha.trim().to_string())),
            Err(AdapterError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every branch and its commit.
    pub async fn branches(&self) -> Result<Vec<(String, String)>, AdapterError> {
        let out = self.git(&["for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads"]).await?;
        Ok(out.lines().filter_map(|l| l.split_once(' ')).map(|(b, s)| (b.to_string(), s.to_string())).collect())
    }

    /// The commits reachable from `tips` and not from `known`, oldest first.
    pub async fn commits(&self, tips: &[String], known: &[String]) -> Result<Vec<Commit>, AdapterError> {
        if tips.is_empty() {
            return Ok(vec![]);
        }
        // `--ignore-missing`: a known commit gone from the mirror (a deleted branch, a re-clone) is skipped, not an error.
        let mut args = vec![
            "log".to_string(),
            "--reverse".into(),
            "--topo-order".into(),
            "--ignore-missing".into(),
            format!("--format={}", log::FORMAT),
        ];
        args.extend(tips.iter().cloned());
        if !known.is_empty() {
            args.push("--not".into());
            args.extend(known.iter().cloned());
        }
        args.push("--".into());
        let out = self.git(&args.iter().map(String::as_str).collect::<Vec<_>>()).await?;
        Ok(parse_commits(&out))
    }

    /// The first-parent line of `tip` after `since` (exclusive), oldest first,
    /// each commit with the lines it adds or removes under `pathspec` (a
    /// merge against its first parent: what it brought to the branch).
    pub async fn first_parent_changes(
        &self,
        tip: &str,
        since: Option<&str>,
        pathspec: &str,
    ) -> Result<Vec<(String, Vec<FileChange>)>, AdapterError> {
        let range = match since {
            Some(s) => format!("{s}..{tip}"),
            None => tip.to_string(),
        };
        let out = self
            .git(&[
                "log",
                "--reverse",
                "--first-parent",
                "--diff-merges=first-parent",
                "--no-renames",
                "--no-color",
                "--no-ext-diff",
                "-p",
                "-U0",
                "--format=%x1e%H",
                &range,
                "--",
                pathspec,
            ])
            .await?;
        let changed = parse_changes(&out);
        // Every commit of the line, changed or not: a sync's revision is any of them.
        let line = self.git(&["rev-list", "--reverse", "--first-parent", &range]).await?;
        let mut by_sha: std::collections::HashMap<String, Vec<FileChange>> = changed.into_iter().collect();
        Ok(line.lines().map(|sha| (sha.to_string(), by_sha.remove(sha).unwrap_or_default())).collect())
    }

    /// The unified diff of the directory `dir` between the trees of two commits
    /// (bounded: two trees, one directory — no history is walked).
    pub async fn diff(&self, a: &str, b: &str, dir: &str) -> Result<String, AdapterError> {
        self.git(&["diff", "--no-color", "--no-ext-diff", "--no-renames", "-U3", a, b, "--", dir]).await
    }

    /// Whether `ancestor` is an ancestor of (or is) `of`.
    pub async fn is_ancestor(&self, ancestor: &str, of: &str) -> Result<bool, AdapterError> {
        match self.git(&["merge-base", "--is-ancestor", ancestor, of]).await {
            Ok(_) => Ok(true),
            Err(AdapterError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn git(&self, args: &[&str]) -> Result<String, AdapterError> {
        self.git_env(args, &[]).await
    }

    /// Runs git on the mirror with more environment variables.
    async fn git_env(&self, args: &[&str], env: &[(&str, &str)]) -> Result<String, AdapterError> {
        let dir = self.dir.display().to_string();
        let mut all = vec!["--git-dir", dir.as_str()];
        all.extend_from_slice(args);
        self.run_env(Some(args), &all, env).await
    }

    async fn run(&self, shown: Option<&[&str]>, args: &[&str]) -> Result<String, AdapterError> {
        self.run_env(shown, args, &[]).await
    }

    /// Runs git; `shown` is what an error names (never the URL's secrets).
    async fn run_env(&self, shown: Option<&[&str]>, args: &[&str], env: &[(&str, &str)]) -> Result<String, AdapterError> {
        let mut cmd = Command::new("git");
        cmd.args(args)
            .envs(env.iter().copied())
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_ASKPASS", "true")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .kill_on_drop(true)
            .stdin(std::process::Stdio::null());
        if let Some(token) = &self.auth.token {
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"));
            cmd.env("GIT_CONFIG_COUNT", "1")
                .env("GIT_CONFIG_KEY_0", "http.extraHeader")
                .env("GIT_CONFIG_VALUE_0", format!("Authorization: Basic {basic}"));
        }
        if let Some(key) = &self.auth.ssh_key {
            cmd.env("GIT_SSH_COMMAND", format!("ssh -i '{}' -o IdentitiesOnly=yes -o BatchMode=yes", key.display()));
        }
        let what = shown.map(|a| a.join(" ")).unwrap_or_else(|| "clone".into());
        let out = tokio::time::timeout(TIMEOUT, cmd.output())
            .await
            .map_err(|_| self.error(&format!("git {what} took more than {} s", TIMEOUT.as_secs())))?
            .map_err(|e| self.error(&format!("cannot run git: {e}")))?;
        if out.status.success() {
            return String::from_utf8(out.stdout).map_err(|_| self.error(&format!("git {what}: output is not UTF-8")));
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        // `rev-parse --verify --quiet` and `merge-base --is-ancestor` answer "no" with status 1 and nothing said.
        if out.status.code() == Some(1) && stderr.trim().is_empty() {
            return Err(AdapterError::NotFound(format!("git {what}: no")));
        }
        let secret = self.auth.token.as_deref().unwrap_or("\u{0}");
        Err(self.error(&format!("git {what}: {}", stderr.trim().replace(secret, "***"))))
    }

    fn error(&self, m: &str) -> AdapterError {
        AdapterError::Git(format!("{}: {m}", crate::config::git::redact(&self.url)))
    }
}
