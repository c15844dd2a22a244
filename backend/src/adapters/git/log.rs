//! Parsing `git log` output: commits with their trailers, and the lines a
//! commit adds and removes per file. Pure, so it is tested on text.

use chrono::{DateTime, Utc};

/// The `--format` of [`parse_commits`]: a record separator, then fields
/// separated by unit separators (neither appears in commit text in practice).
pub const FORMAT: &str = "%x1e%H%x1f%P%x1f%an <%ae>%x1f%at%x1f%cn <%ce>%x1f%ct%x1f%s%x1f%(trailers:only,unfold)";

/// One commit as `git log` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub sha: String,
    pub parents: Vec<String>,
    /// `Name <email>`.
    pub author: String,
    pub authored_at: DateTime<Utc>,
    pub committer: String,
    pub committed_at: DateTime<Utc>,
    pub subject: String,
    /// `Key: value` trailers of the message, in order.
    pub trailers: Vec<(String, String)>,
}

impl Commit {
    pub fn trailer(&self, key: &str) -> Option<&str> {
        self.trailers.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
    }
}

/// The lines one commit adds and removes in one file (`-U0`: no context).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileChange {
    pub path: String,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

pub fn parse_commits(out: &str) -> Vec<Commit> {
    out.split('\u{1e}')
        .filter_map(|record| {
            let f: Vec<&str> = record.trim_end_matches('\n').split('\u{1f}').collect();
            let [sha, parents, author, at, committer, cat, subject, trailers] = f[..] else { return None };
            let time = |s: &str| s.trim().parse::<i64>().ok().and_then(|t| DateTime::from_timestamp(t, 0));
            Some(Commit {
                sha: sha.trim().to_string(),
                parents: parents.split_whitespace().map(str::to_string).collect(),
                author: author.to_string(),
                authored_at: time(at)?,
                committer: committer.to_string(),
                committed_at: time(cat)?,
                subject: subject.to_string(),
                trailers: trailers
                    .lines()
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    .collect(),
            })
        })
        .collect()
}

/// `git log -p -U0 --format=%x1e%H` → per commit, its files' added and removed lines.
pub fn parse_changes(out: &str) -> Vec<(String, Vec<FileChange>)> {
    out.split('\u{1e}')
        .filter(|r| !r.trim().is_empty())
        .map(|record| {
            let mut lines = record.lines();
            let sha = lines.next().unwrap_or_default().trim().to_string();
            let mut files: Vec<FileChange> = Vec::new();
            let mut old_path = String::new();
            for line in lines {
                if let Some(p) = line.strip_prefix("--- ") {
                    old_path = p.strip_prefix("a/").unwrap_or(p).to_string();
                } else if let Some(p) = line.strip_prefix("+++ ") {
                    let path = if p == "/dev/null" { old_path.clone() } else { p.strip_prefix("b/").unwrap_or(p).to_string() };
                    files.push(FileChange { path, ..Default::default() });
                } else if line.starts_with("diff --git ") || line.starts_with("@@") {
                    continue;
                } else if let (Some(f), Some(l)) = (files.last_mut(), line.strip_prefix('+')) {
                    f.added.push(l.to_string());
                } else if let (Some(f), Some(l)) = (files.last_mut(), line.strip_prefix('-')) {
                    f.removed.push(l.to_string());
                }
            }
            (sha, files)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_with_trailers() {
        let out = "\u{1e}abc\u{1f}p1 p2\u{1f}CI <ci@x>\u{1f}1700000000\u{1f}Ann <a@x>\u{1f}1700000060\u{1f}ci(orders): deploy 1234567 to dev\u{1f}Argocd-reference-commit-sha: 1234567abc\nArgocd-reference-commit-subject: fix: a: b\n\n\u{1e}def\u{1f}\u{1f}A <a@x>\u{1f}1600000000\u{1f}A <a@x>\u{1f}1600000000\u{1f}Initial\u{1f}\n";
        let c = parse_commits(out);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].parents, ["p1", "p2"]);
        assert_eq!(c[0].trailer("argocd-reference-commit-sha"), Some("1234567abc"));
        assert_eq!(c[0].trailer("Argocd-reference-commit-subject"), Some("fix: a: b"));
        assert_eq!(c[0].committed_at.timestamp(), 1700000060);
        assert!(c[1].parents.is_empty() && c[1].trailers.is_empty());
    }

    #[test]
    fn changes_per_file() {
        let out = "\u{1e}aaa\n\ndiff --git a/dev/manifests/o/d.yaml b/dev/manifests/o/d.yaml\nindex 1..2 100644\n--- a/dev/manifests/o/d.yaml\n+++ b/dev/manifests/o/d.yaml\n@@ -20 +20 @@ spec:\n-        image: r/o-dev:old\n+        image: r/o-dev:new\n\u{1e}bbb\n\ndiff --git a/x b/x\ndeleted file mode 100644\n--- a/x\n+++ /dev/null\n@@ -1 +0,0 @@\n-gone\n";
        let c = parse_changes(out);
        assert_eq!(c[0].0, "aaa");
        assert_eq!(
            c[0].1,
            vec![FileChange {
                path: "dev/manifests/o/d.yaml".into(),
                added: vec!["        image: r/o-dev:new".into()],
                removed: vec!["        image: r/o-dev:old".into()]
            }]
        );
        assert_eq!(c[1].1[0].path, "x");
        assert_eq!(c[1].1[0].removed, ["gone"]);
    }
}
