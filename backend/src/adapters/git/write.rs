//! Writing: one commit made in the bare mirror without a work tree (a
//! temporary index on top of a fetched commit), pushed to the remote with
//! `git push` — never forced. A push the remote refuses (it moved on, its work
//! tree is dirty, a protected branch) comes back as [`Pushed::Rejected`] with
//! the remote's words, and nothing is left half-done: the commit stays an
//! unreferenced object in the mirror.

use std::sync::atomic::{AtomicU64, Ordering};

use super::Mirror;
use crate::adapters::AdapterError;

/// A file of the repository, replaced whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub path: String,
    pub content: String,
}

/// A commit's author or committer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

impl Identity {
    /// `Name <email>`.
    pub fn parse(s: &str) -> Option<Identity> {
        let (name, rest) = s.split_once(" <")?;
        let email = rest.strip_suffix('>')?;
        (!name.trim().is_empty() && !email.contains(['<', '>']))
            .then(|| Identity { name: name.trim().to_string(), email: email.to_string() })
    }
}

/// How a push ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed {
    Done,
    /// The remote refused, in its words.
    Rejected(String),
}

static SCRATCH: AtomicU64 = AtomicU64::new(0);

/// A scratch file removed when dropped.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(what: &str) -> Scratch {
        let n = SCRATCH.fetch_add(1, Ordering::Relaxed);
        Scratch(std::env::temp_dir().join(format!("mezame-git-{what}-{}-{n}", std::process::id())))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Mirror {
    /// The files below `dir` at `rev`, with their contents (text).
    pub async fn read_files(&self, rev: &str, dir: &str) -> Result<Vec<(String, String)>, AdapterError> {
        let names = self.git(&["ls-tree", "-r", "--name-only", rev, "--", dir]).await?;
        let mut out = Vec::new();
        for path in names.lines().filter(|p| !p.is_empty()) {
            let content = self.git(&["cat-file", "blob", &format!("{rev}:{path}")]).await?;
            out.push((path.to_string(), content));
        }
        Ok(out)
    }

    /// A new commit on `parent` with `edits` applied; returns its sha. Nothing
    /// is pushed and no ref moves.
    pub async fn commit_on(
        &self,
        parent: &str,
        edits: &[Edit],
        message: &str,
        author: &Identity,
        committer: &Identity,
    ) -> Result<String, AdapterError> {
        let index = Scratch::new("index");
        let index_path = index.0.display().to_string();
        let env = [("GIT_INDEX_FILE", index_path.as_str())];
        self.git_env(&["read-tree", parent], &env).await?;
        for e in edits {
            if e.path.starts_with('/') || e.path.split('/').any(|p| p == ".." || p.is_empty()) {
                return Err(self.error(&format!("refusing to write {:?}", e.path)));
            }
            let blob_file = Scratch::new("blob");
            tokio::fs::write(&blob_file.0, &e.content).await.map_err(|err| self.error(&format!("cannot write a scratch file: {err}")))?;
            let blob = self.git(&["hash-object", "-w", "--", &blob_file.0.display().to_string()]).await?;
            self.git_env(&["update-index", "--add", "--cacheinfo", &format!("100644,{},{}", blob.trim(), e.path)], &env).await?;
        }
        let tree = self.git_env(&["write-tree"], &env).await?;
        let who = [
            ("GIT_AUTHOR_NAME", author.name.as_str()),
            ("GIT_AUTHOR_EMAIL", author.email.as_str()),
            ("GIT_COMMITTER_NAME", committer.name.as_str()),
            ("GIT_COMMITTER_EMAIL", committer.email.as_str()),
        ];
        let sha = self.git_env(&["commit-tree", tree.trim(), "-p", parent, "-m", message], &who).await?;
        Ok(sha.trim().to_string())
    }

    /// Pushes `sha` to the remote's `branch` (created if absent; else only a fast-forward).
    pub async fn push(&self, sha: &str, branch: &str) -> Result<Pushed, AdapterError> {
        let refspec = format!("{sha}:refs/heads/{branch}");
        self.push_refspec(&refspec).await
    }

    /// Deletes the remote's `branch`.
    pub async fn delete_branch(&self, branch: &str) -> Result<Pushed, AdapterError> {
        self.push_refspec(&format!(":refs/heads/{branch}")).await
    }

    async fn push_refspec(&self, refspec: &str) -> Result<Pushed, AdapterError> {
        // To the URL, not to `origin`: a mirror's remote pushes every ref.
        match self.git(&["push", "--quiet", "--no-verify", "--", &self.url, refspec]).await {
            Ok(_) => Ok(Pushed::Done),
            Err(AdapterError::Git(m)) if m.contains("rejected]") || m.contains("failed to push") => Ok(Pushed::Rejected(m)),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_read_as_git_writes_them() {
        assert_eq!(
            Identity::parse("mezame <mezame@localhost>"),
            Some(Identity { name: "mezame".into(), email: "mezame@localhost".into() })
        );
        assert_eq!(Identity::parse("no email"), None);
        assert_eq!(Identity::parse(" <a@b>"), None);
    }
}
