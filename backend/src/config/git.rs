//! `[git]`: the repositories of the delivery flow — the manifest repository
//! (one directory per environment) and one app repository per microservice.
//! Credentials only by reference (an environment variable's name, a key's
//! path): never in the file's values, the database, logs or API answers.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Config, ConfigError, expand_home};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GitConfig {
    /// URL of the manifest repository ("k8s repo"); none: no deploys page.
    pub manifests: Option<String>,
    /// The branch the environments deploy from.
    pub branch: String,
    /// Where a microservice's manifests of an environment are: `{env}` and `{ms}` are replaced.
    pub path: String,
    /// URL of a microservice's app repository, `{ms}` replaced (none: the
    /// app commits come only from the manifest commits' trailers).
    pub apps: Option<String>,
    /// Microservice directories whose images are not built from an app
    /// repository of ours (a gateway, an operator): their deploys show, without
    /// an app commit, and no app repository is fetched for them.
    pub external: Vec<String>,
    /// Local mirrors; default: `git/` next to a SQLite database, else `~/.cache/mezame/git`.
    pub mirrors: Option<PathBuf>,
    /// How often the mirrors are fetched (and on `POST /api/hooks/git`), in seconds.
    pub fetch_interval_secs: u64,
    /// The name of an environment variable holding an HTTPS token (sent as a
    /// basic-auth password, as GitHub and GitLab accept).
    pub token_env: Option<String>,
    /// Path of an SSH private key for `ssh://` and `git@` URLs.
    pub ssh_key: Option<PathBuf>,
    /// Environments whose promotions and rollbacks mezame commits straight to
    /// `branch`; every other environment's go on a new branch for a person to
    /// merge. A protected environment may not be listed (its changes are
    /// merged by a person, deliberately).
    pub direct: Vec<String>,
    /// Who commits what mezame writes (`Name <email>`); the author is the person who asked.
    pub committer: String,
    /// The name of an environment variable holding the secret push webhooks
    /// are signed with (`X-Hub-Signature-256`); none: `POST /api/hooks/git` is off.
    pub webhook_secret_env: Option<String>,
    /// The taint of the spot nodes (`key=value:Effect`): a microservice moved
    /// to spot tolerates it.
    pub spot_taint: String,
    /// The label of the spot nodes (`key=value`): a microservice moved to spot prefers it.
    pub spot_label: String,
    /// A deploy whose Application went Degraded within this many minutes of
    /// arriving (and before the next deploy) counts as a failed change in DORA.
    pub degraded_within_mins: u32,
}

/// The spot nodes as a move to spot writes them: `[git] spot_taint` and `spot_label`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpotNodes {
    pub taint_key: String,
    pub taint_value: String,
    pub taint_effect: String,
    pub label_key: String,
    pub label_value: String,
}

impl Default for GitConfig {
    fn default() -> Self {
        GitConfig {
            manifests: None,
            branch: "master".into(),
            path: "{env}/manifests/{ms}".into(),
            apps: None,
            external: Vec::new(),
            mirrors: None,
            fetch_interval_secs: 60,
            token_env: None,
            ssh_key: None,
            direct: Vec::new(),
            committer: "mezame <mezame@localhost>".into(),
            webhook_secret_env: None,
            spot_taint: "node.kubernetes.io/lifecycle=spot:NoSchedule".into(),
            spot_label: "node.kubernetes.io/lifecycle=spot".into(),
            degraded_within_mins: 30,
        }
    }
}

impl GitConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let rule = |m: String| Err(ConfigError::Rule(format!("[git] {m}")));
        if !(self.path.contains("{env}") && self.path.contains("{ms}")) {
            return rule(format!("path {:?} must contain {{env}} and {{ms}}", self.path));
        }
        if self.path.starts_with('/') || self.path.split('/').any(|p| p == "..") {
            return rule(format!("path {:?} must be relative to the repository, without '..'", self.path));
        }
        if let Some(apps) = &self.apps
            && !apps.contains("{ms}")
        {
            return rule(format!("apps {apps:?} must contain {{ms}}"));
        }
        if self.fetch_interval_secs == 0 {
            return rule("fetch_interval_secs must be at least 1".into());
        }
        if !(1..=1440).contains(&self.degraded_within_mins) {
            return rule(format!("degraded_within_mins must be 1 to 1440 (a day), got {}", self.degraded_within_mins));
        }
        for url in self.manifests.iter().chain(&self.apps) {
            if userinfo(url).is_some_and(|u| u.contains(':')) {
                return rule(format!("{} holds a password in its URL: name an environment variable in token_env instead", redact(url)));
            }
        }
        if !self.committer.ends_with('>') || !self.committer.contains(" <") {
            return rule(format!("committer {:?} must read `Name <email>`", self.committer));
        }
        if self.branch.is_empty() || self.branch.starts_with('-') {
            return rule(format!("branch {:?} is not a branch name", self.branch));
        }
        if self.spot_nodes().is_none() {
            return rule(format!(
                "spot_taint {:?} must read key=value:NoSchedule (or PreferNoSchedule, NoExecute) and spot_label {:?} key=value",
                self.spot_taint, self.spot_label
            ));
        }
        Ok(())
    }

    /// `spot_taint` and `spot_label`, read (none if either is malformed).
    pub fn spot_nodes(&self) -> Option<SpotNodes> {
        let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
        let (taint, effect) = self.spot_taint.split_once(':')?;
        let (taint_key, taint_value) = taint.split_once('=')?;
        let (label_key, label_value) = self.spot_label.split_once('=')?;
        let all = [taint_key, taint_value, label_key, label_value];
        (all.iter().all(|w| word(w)) && ["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect)).then(|| SpotNodes {
            taint_key: taint_key.into(),
            taint_value: taint_value.into(),
            taint_effect: effect.into(),
            label_key: label_key.into(),
            label_value: label_value.into(),
        })
    }

    /// The directory of `ms`'s manifests in `env`.
    pub fn ms_path(&self, env: &str, ms: &str) -> String {
        self.path.replace("{env}", env).replace("{ms}", ms)
    }

    /// The app repository of `ms` (none for an external one).
    pub fn app_url(&self, ms: &str) -> Option<String> {
        self.apps.as_ref().filter(|_| !self.external.iter().any(|e| e == ms)).map(|a| a.replace("{ms}", ms))
    }
}

impl Config {
    /// Where the git mirrors are kept: `[git] mirrors`, else `git/` next to a
    /// SQLite database file, else `~/.cache/mezame/git`.
    pub fn git_mirrors(&self) -> PathBuf {
        if let Some(d) = &self.git.mirrors {
            return expand_home(&d.display().to_string());
        }
        let db = &self.database.0;
        if !db.contains("://")
            && !db.starts_with("sqlite:")
            && let Some(dir) = expand_home(db).parent().filter(|d| !d.as_os_str().is_empty())
        {
            return dir.join("git");
        }
        expand_home("~/.cache/mezame/git")
    }
}

/// The `user[:password]` part of a URL's authority.
fn userinfo(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    authority.rsplit_once('@').map(|(u, _)| u)
}

/// A URL with any `user:password@` part hidden.
pub fn redact(url: &str) -> String {
    match (userinfo(url), url.split_once("://")) {
        (Some(u), Some((scheme, rest))) => format!("{scheme}://***{}", &rest[u.len()..]),
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_urls_are_checked() {
        let ok = GitConfig {
            manifests: Some("file:///srv/k8s".into()),
            apps: Some("https://git.example/{ms}.git".into()),
            ..Default::default()
        };
        ok.validate().unwrap();
        assert_eq!(ok.ms_path("dev", "orders"), "dev/manifests/orders");
        assert_eq!(ok.app_url("orders").unwrap(), "https://git.example/orders.git");
        let gateway = GitConfig { external: vec!["ambassador".into()], ..ok.clone() };
        assert_eq!(gateway.app_url("ambassador"), None);
        let bad = |g: GitConfig| g.validate().unwrap_err().to_string();
        assert!(bad(GitConfig { path: "{env}/x".into(), ..Default::default() }).contains("{ms}"));
        assert!(bad(GitConfig { path: "../{env}/{ms}".into(), ..Default::default() }).contains(".."));
        assert!(bad(GitConfig { apps: Some("https://git.example/app.git".into()), ..Default::default() }).contains("{ms}"));
        let leaked = bad(GitConfig { manifests: Some("https://bot:hunter2@git.example/k8s.git".into()), ..Default::default() });
        assert!(leaked.contains("token_env") && !leaked.contains("hunter2"), "{leaked}");
        assert_eq!(ok.spot_nodes().unwrap().taint_effect, "NoSchedule");
        assert!(bad(GitConfig { spot_taint: "spot:Sometimes".into(), ..Default::default() }).contains("spot_taint"));
        assert!(bad(GitConfig { spot_label: "a=b: x".into(), ..Default::default() }).contains("spot_label"));
    }

    #[test]
    fn redaction_hides_only_the_user_part() {
        assert_eq!(redact("https://bot:x@git.example/k8s"), "https://***@git.example/k8s");
        assert_eq!(redact("https://git.example/a@b"), "https://git.example/a@b");
        assert_eq!(redact("file:///srv/k8s"), "file:///srv/k8s");
    }
}
