//! The platform's repositories: one app repository per microservice (branches
//! `feature`, `development`, `master`) and the shared manifest repository "k8s"
//! (`master`), seeded with a few weeks of realistic history: developers commit
//! to `development` (each commit deployed to dev by CI), releases merge into
//! `master` (deployed to qa, then to prod through a human-merged manifest change).

use std::path::{Path, PathBuf};

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};

use crate::git::{Person, Repo};
use crate::manifests::{gateway_files, microservice_files, ms_dir, rewrite_image_tag};
use crate::platform::{AUTHORS, CI_BOT, ENVS, EnvSpec, MICROSERVICES, Microservice, env_spec};

/// Where the repositories live under the sandbox state.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn app(&self, ms: &str) -> PathBuf {
        self.root.join("apps").join(ms)
    }
    pub fn manifests(&self) -> PathBuf {
        self.root.join("k8s")
    }
}

/// A small deterministic PRNG (splitmix64), so every sandbox has the same shape of history.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn author(&mut self) -> Person {
        AUTHORS[self.below(AUTHORS.len() as u64) as usize]
    }
}

const CHANGES: [&str; 12] = [
    "fix: handle empty tenant id in request validation",
    "feat: add pagination to list endpoint",
    "chore: bump dependencies",
    "fix: retry SQS receive on throttling",
    "feat: expose /metrics for Datadog",
    "perf: cache device lookups in Redis",
    "fix: close DB connections on shutdown",
    "feat: support bulk updates",
    "refactor: split handlers into modules",
    "fix: time zone of scheduled runs",
    "feat: add audit fields to responses",
    "chore: tune connection pool size",
];

/// One deploy in the seeded history.
struct Deploy {
    at: DateTime<Utc>,
    env: &'static str,
    ms: &'static str,
    commit: AppCommit,
    /// Who merged it (prod); CI deploys dev and qa by itself.
    merged_by: Option<Person>,
}

/// The app commit an image is built from, as CI describes it in the manifest
/// commit's trailers.
#[derive(Debug, Clone)]
pub struct AppCommit {
    pub sha: String,
    pub subject: String,
    pub author: Person,
    pub at: DateTime<Utc>,
    /// The app repository's URL.
    pub repo: String,
}

/// Creates every repository with its history, unless they already exist.
pub fn ensure(layout: &Layout) -> Result<()> {
    if !layout.manifests().join(".git").is_dir() {
        seed(layout)?;
    }
    // What mezame pushes to master (a promotion or rollback into dev or qa) lands
    // in the work tree CI commits in, as a push to a hosted repository would.
    Repo::open(&layout.manifests())?.git(&["config", "receive.denyCurrentBranch", "updateInstead"])?;
    Ok(())
}

fn seed(layout: &Layout) -> Result<()> {
    let _ = std::fs::remove_dir_all(&layout.root);
    let now = Utc::now();
    let start = now - Duration::days(42);
    let mut deploys = Vec::new();
    let mut initial = Vec::new();
    for (i, ms) in MICROSERVICES.iter().enumerate() {
        let mut rng = Rng(0x6d657a616d65 + i as u64);
        let (first, ms_deploys) = seed_app(&layout.app(ms.name), ms, start, now, &mut rng)?;
        initial.push((ms, first));
        deploys.extend(ms_deploys);
    }
    deploys.sort_by_key(|d| d.at);
    seed_manifests(&layout.manifests(), &initial, &deploys, start)?;
    Ok(())
}

fn app_files(ms: &Microservice) -> Vec<(String, String)> {
    let ext = match ms.language {
        "kotlin" => "kt",
        "python" => "py",
        _ => "go",
    };
    vec![
        ("README.md".into(), format!("# {}\n\nPart of the IoT inventory/ordering platform.\n", ms.name)),
        (format!("src/main.{ext}"), format!("// {} entry point\n", ms.name)),
        ("Dockerfile".into(), "FROM gcr.io/distroless/base\nCOPY app /app\nENTRYPOINT [\"/app/bin/server\"]\n".into()),
        (
            ".github/workflows/ci.yaml".into(),
            "on:\n  push:\n    branches: [development, master]\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n    - uses: actions/checkout@v4\n    - run: make image push manifest\n".into(),
        ),
        ("CHANGELOG.md".into(), "# Changelog\n".into()),
    ]
}

/// Seeds one app repository; returns its first commit and the deploys it caused.
fn seed_app(
    path: &Path,
    ms: &'static Microservice,
    start: DateTime<Utc>,
    now: DateTime<Utc>,
    rng: &mut Rng,
) -> Result<(String, Vec<Deploy>)> {
    let repo = Repo::init(path, "master")?;
    for (rel, content) in app_files(ms) {
        repo.write(&rel, &content)?;
    }
    let mut t = start + Duration::hours(rng.below(24) as i64);
    let founder = rng.author();
    let first = repo.commit("Initial commit", founder, founder, Some(t))?;
    repo.branch("development")?;
    repo.checkout("development")?;
    let mut deploys = Vec::new();
    let mut changelog = String::from("# Changelog\n");
    // More than Argo CD's 10 history entries of dev deploys for every microservice.
    let commits = 11 + rng.below(4);
    let span = (now - Duration::hours(6) - t).num_minutes().max(60);
    let step = span / (commits as i64 + 1);
    let mut release = 0;
    for k in 0..commits {
        t += Duration::minutes(step * 3 / 4 + rng.below((step / 2).max(1) as u64) as i64);
        let author = rng.author();
        let change = CHANGES[rng.below(CHANGES.len() as u64) as usize];
        changelog.push_str(&format!("- {change}\n"));
        repo.write("CHANGELOG.md", &changelog)?;
        let sha = repo.commit(change, author, author, Some(t))?;
        let commit = AppCommit { sha, subject: change.to_string(), author, at: t, repo: repo.url() };
        deploys.push(Deploy { at: t + Duration::minutes(3), env: "dev", ms: ms.name, commit, merged_by: None });
        // Every second change is released: merged to master, deployed to qa, then prod.
        if k % 2 == 1 {
            release += 1;
            repo.checkout("master")?;
            let releaser = rng.author();
            let merge_at = t + Duration::hours(2);
            let subject = format!("Release {}.{release}.0", 1 + (rng.below(2)));
            let sha = repo.merge("development", &subject, releaser, Some(merge_at))?;
            let merged = AppCommit { sha, subject, author: releaser, at: merge_at, repo: repo.url() };
            repo.checkout("development")?;
            deploys.push(Deploy { at: merge_at + Duration::minutes(3), env: "qa", ms: ms.name, commit: merged.clone(), merged_by: None });
            let approver = rng.author();
            deploys.push(Deploy {
                at: merge_at + Duration::hours(20),
                env: "prod",
                ms: ms.name,
                commit: merged,
                merged_by: Some(approver),
            });
        }
    }
    // Work in progress on `feature`, not deployed anywhere.
    repo.branch("feature")?;
    repo.checkout("feature")?;
    repo.write("src/WIP.md", "work in progress\n")?;
    let dev = rng.author();
    repo.commit("wip: next feature", dev, dev, Some(t + Duration::minutes(30)))?;
    repo.checkout("development")?;
    deploys.retain(|d| d.at < now);
    Ok((first, deploys))
}

fn seed_manifests(path: &Path, initial: &[(&'static Microservice, String)], deploys: &[Deploy], start: DateTime<Utc>) -> Result<()> {
    let repo = Repo::init(path, "master")?;
    repo.write(
        "README.md",
        "# k8s\n\nManifests of every environment, one directory per environment:\n\
         `<env>/manifests/<ms>/<ms>-<env>-*.yaml`. CI rewrites the `image:` tags; prod changes are merged by a human.\n",
    )?;
    for env in &ENVS {
        for (ms, first) in initial {
            for (rel, content) in microservice_files(env, ms, first) {
                repo.write(&rel, &content)?;
            }
        }
        for (rel, content) in gateway_files(env) {
            repo.write(&rel, &content)?;
        }
    }
    let platform_team = AUTHORS[0];
    // After every app's first commit (within 24 h of the start), which it names; before any deploy (days later).
    repo.commit("Initial manifests for dev, qa and prod", platform_team, platform_team, Some(start + Duration::hours(24)))?;
    for d in deploys {
        let env = env_spec(d.env).expect("seeded envs exist");
        match d.merged_by {
            None => {
                rewrite_ms(&repo, env, d.ms, &d.commit.sha)?;
                repo.commit(&deploy_message(d.ms, env.name, &d.commit), CI_BOT, CI_BOT, Some(d.at))?;
            }
            Some(approver) => {
                let branch = format!("deploy/{}/{}-{}", env.name, d.ms, &d.commit.sha[..7]);
                repo.git(&["checkout", "--quiet", "-b", &branch])?;
                rewrite_ms(&repo, env, d.ms, &d.commit.sha)?;
                repo.commit(&deploy_message(d.ms, env.name, &d.commit), CI_BOT, CI_BOT, Some(d.at - Duration::hours(1)))?;
                repo.checkout("master")?;
                repo.merge(&branch, &format!("Merge {branch}: deploy {} to {}", d.ms, env.name), approver, Some(d.at))?;
                repo.git(&["branch", "--quiet", "-d", &branch])?;
            }
        }
    }
    Ok(())
}

/// The commit message CI uses for a deploy, with the app commit in Argo CD's
/// `Argocd-reference-commit-*` trailers (read into its revision metadata since 3.1).
pub fn deploy_message(ms: &str, env: &str, c: &AppCommit) -> String {
    format!(
        "ci({ms}): deploy {short} to {env}\n\n\
         Argocd-reference-commit-sha: {sha}\n\
         Argocd-reference-commit-author: {name} <{email}>\n\
         Argocd-reference-commit-date: {date}\n\
         Argocd-reference-commit-subject: {subject}\n\
         Argocd-reference-commit-repourl: {repo}\n",
        short = &c.sha[..7.min(c.sha.len())],
        sha = c.sha,
        name = c.author.0,
        email = c.author.1,
        date = c.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        subject = c.subject,
        repo = c.repo,
    )
}

/// Rewrites every image tag of `ms` in `env` to `tag` (the CI `sed`); returns
/// how many files changed.
pub fn rewrite_ms(repo: &Repo, env: &EnvSpec, ms: &str, tag: &str) -> Result<usize> {
    let dir = repo.path.join(ms_dir(env.name, ms));
    let mut changed = 0;
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        let content = std::fs::read_to_string(&path)?;
        if let Some(updated) = rewrite_image_tag(&content, env, ms, tag)
            && updated != content
        {
            std::fs::write(&path, updated)?;
            changed += 1;
        }
    }
    Ok(changed)
}
