//! What changed between two deploys of a microservice: the app commits
//! between their tags (from the commit graph in memory) and the manifest diff
//! of its directory (`git diff` of the two commits' trees in the mirror — two
//! trees, one directory, never history).

use mezame_shared::deploys::{DeployDiff, DiffEnd, FileDiff};

use super::Deploys;
use super::versions::commit_ref;
use crate::adapters::db::DeployRow;
use crate::domain::DomainError;

/// At most this much diff text is answered.
const MAX_PATCH: usize = 256 * 1024;

impl Deploys {
    /// The diff from the deploy at manifest commit `from` to the one at `to` (shas or prefixes).
    pub async fn diff(&self, env: &str, ms: &str, from: &str, to: &str) -> Result<DeployDiff, DomainError> {
        let a = self.one_deploy(env, ms, from, "from").await?;
        let b = self.one_deploy(env, ms, to, "to").await?;
        let backwards = a.seq > b.seq;
        let (old, new) = if backwards { (&b, &a) } else { (&a, &b) };
        let commits = match self.config.app_url(ms) {
            Some(_) => self.graph(ms).await?.between(&old.tag, &new.tag).into_iter().map(commit_ref).collect(),
            None => vec![],
        };
        let patch = self
            .manifests
            .diff(&a.sha, &b.sha, &self.config.ms_path(env, ms))
            .await
            .map_err(|e| DomainError::Unavailable(format!("the manifest mirror cannot diff the two commits: {e}")))?;
        let (files, truncated) = split(&patch);
        let end = |d: &DeployRow| DiffEnd { sha: d.sha.clone(), tag: d.tag.clone(), at: d.at };
        Ok(DeployDiff { env: env.into(), ms: ms.into(), from: end(&a), to: end(&b), backwards, commits, files, truncated })
    }

    /// The one deploy of `ms` in `env` at manifest commit `sha` (or a prefix of at least 7 digits).
    pub(super) async fn one_deploy(&self, env: &str, ms: &str, sha: &str, what: &str) -> Result<DeployRow, DomainError> {
        if sha.len() < 7 || sha.len() > 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DomainError::Invalid(format!("{what} {sha:?} is not a commit sha (at least 7 hexadecimal digits)")));
        }
        let mut found = self.db.deploys_at(env, ms, sha).await?;
        match found.len() {
            0 => Err(DomainError::NotFound(format!("{what}: no deploy of {ms} in {env} at manifest commit {sha}"))),
            1 => Ok(found.remove(0)),
            _ => Err(DomainError::Invalid(format!("{what}: {sha} names more than one deploy of {ms} in {env}: give more digits"))),
        }
    }
}

/// A `git diff` output cut into files; true when it was longer than [`MAX_PATCH`].
fn split(patch: &str) -> (Vec<FileDiff>, bool) {
    let mut files: Vec<FileDiff> = Vec::new();
    let mut size = 0;
    let mut truncated = false;
    for line in patch.split_inclusive('\n') {
        if let Some(header) = line.strip_prefix("diff --git ") {
            if size > MAX_PATCH {
                truncated = true;
                break;
            }
            let path = header.trim_end().rsplit_once(" b/").map(|(_, p)| p.to_string()).unwrap_or_default();
            files.push(FileDiff { path, patch: String::new() });
        }
        if let Some(f) = files.last_mut() {
            f.patch.push_str(line);
            size += line.len();
        }
    }
    (files, truncated)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_diff_is_cut_per_file() {
        let patch = "diff --git a/dev/x/a.yaml b/dev/x/a.yaml\nindex 1..2 100644\n--- a/dev/x/a.yaml\n+++ b/dev/x/a.yaml\n@@ -1 +1 @@\n-image: r/x:1\n+image: r/x:2\ndiff --git a/dev/x/b.yaml b/dev/x/b.yaml\n--- a/dev/x/b.yaml\n+++ b/dev/x/b.yaml\n";
        let (files, truncated) = super::split(patch);
        assert!(!truncated);
        assert_eq!(files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(), ["dev/x/a.yaml", "dev/x/b.yaml"]);
        assert!(files[0].patch.contains("+image: r/x:2") && !files[0].patch.contains("b.yaml"));
        assert_eq!(files.iter().map(|f| f.patch.len()).sum::<usize>(), patch.len(), "every byte kept, once");
    }
}
