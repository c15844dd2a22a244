//! Real git repositories on disk, driven through the `git` command.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};

/// A person (or bot) in a commit.
pub type Person = (&'static str, &'static str);

/// A non-bare repository.
#[derive(Debug, Clone)]
pub struct Repo {
    pub path: PathBuf,
}

impl Repo {
    /// Creates an empty repository whose first branch is `branch`.
    pub fn init(path: &Path, branch: &str) -> Result<Repo> {
        std::fs::create_dir_all(path)?;
        let repo = Repo { path: path.to_path_buf() };
        repo.git(&["init", "--quiet", "--initial-branch", branch])?;
        Ok(repo)
    }

    pub fn open(path: &Path) -> Result<Repo> {
        if !path.join(".git").is_dir() {
            bail!("{} is not a git repository", path.display());
        }
        Ok(Repo { path: path.to_path_buf() })
    }

    /// Runs git in the repository; returns trimmed stdout.
    pub fn git(&self, args: &[&str]) -> Result<String> {
        self.git_as(args, None, None)
    }

    fn git_as(&self, args: &[&str], who: Option<(Person, Person)>, when: Option<DateTime<Utc>>) -> Result<String> {
        let mut cmd = Command::new("git");
        cmd.arg("-C")
            .arg(&self.path)
            .args([
                "-c",
                "commit.gpgsign=false",
                "-c",
                "core.hooksPath=/dev/null",
                "-c",
                "user.name=mezame-sandbox",
                "-c",
                "user.email=sandbox@mezame.invalid",
            ])
            .args(args)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE");
        if let Some((author, committer)) = who {
            cmd.env("GIT_AUTHOR_NAME", author.0)
                .env("GIT_AUTHOR_EMAIL", author.1)
                .env("GIT_COMMITTER_NAME", committer.0)
                .env("GIT_COMMITTER_EMAIL", committer.1);
        }
        if let Some(when) = when {
            let stamp = format!("@{} +0000", when.timestamp());
            cmd.env("GIT_AUTHOR_DATE", &stamp).env("GIT_COMMITTER_DATE", &stamp);
        }
        let out = cmd.output().context("cannot run git")?;
        if !out.status.success() {
            bail!("git {} in {}: {}", args.join(" "), self.path.display(), String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Writes a file of the working tree.
    pub fn write(&self, rel: &str, content: &str) -> Result<()> {
        let path = self.path.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))
    }

    pub fn read(&self, rel: &str) -> Result<String> {
        let path = self.path.join(rel);
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
    }

    /// Stages everything and commits; returns the new commit's hash.
    pub fn commit(&self, message: &str, author: Person, committer: Person, when: Option<DateTime<Utc>>) -> Result<String> {
        self.git(&["add", "--all"])?;
        self.git_as(&["commit", "--quiet", "--allow-empty", "-m", message], Some((author, committer)), when)?;
        self.head()
    }

    /// Merges `branch` into the current branch with a merge commit.
    pub fn merge(&self, branch: &str, message: &str, who: Person, when: Option<DateTime<Utc>>) -> Result<String> {
        self.git_as(&["merge", "--quiet", "--no-ff", "-m", message, branch], Some((who, who)), when)?;
        self.head()
    }

    pub fn checkout(&self, branch: &str) -> Result<()> {
        self.git(&["checkout", "--quiet", branch]).map(|_| ())
    }

    pub fn branch(&self, name: &str) -> Result<()> {
        self.git(&["branch", name]).map(|_| ())
    }

    pub fn head(&self) -> Result<String> {
        self.git(&["rev-parse", "HEAD"])
    }

    /// The commit a branch points to.
    pub fn rev(&self, rev: &str) -> Result<String> {
        self.git(&["rev-parse", rev])
    }

    /// `file://` URL of the repository (what Argo CD is given).
    pub fn url(&self) -> String {
        format!("file://{}", self.path.display())
    }
}
