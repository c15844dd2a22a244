//! `[[env.notify]]`: webhooks told when a wake or sleep of the environment
//! succeeded or failed, and before a scheduled sleep. A Slack incoming
//! webhook's URL is its credential: give it by reference (`url_env`).

use serde::{Deserialize, Serialize};

use super::{Config, ConfigError, Secret};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Shown on the run beside its delivery; default `<kind>-<position>`.
    #[serde(default)]
    pub name: Option<String>,
    /// `slack` (a Slack-compatible incoming webhook: `{"text": …}`) or
    /// `json` (mezame's own event, see the README).
    pub kind: NotifyKind,
    /// The webhook's URL (prefer `url_env`: it is usually a credential).
    #[serde(default)]
    pub url: Option<Secret>,
    /// The name of an environment variable holding the URL.
    #[serde(default)]
    pub url_env: Option<String>,
    /// What is sent; default every event.
    #[serde(default = "every_event")]
    pub events: Vec<NotifyEvent>,
    /// How long before a scheduled sleep "goes to sleep soon" is sent, in minutes.
    #[serde(default = "warning_mins")]
    pub sleep_warning_mins: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotifyKind {
    Slack,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotifyEvent {
    /// A wake or a sleep succeeded.
    Succeeded,
    /// A wake or a sleep failed (or was cancelled).
    Failed,
    /// A scheduled sleep (or the end of a keep-awake, or an idle sleep) is `sleep_warning_mins` away.
    SleepSoon,
}

fn every_event() -> Vec<NotifyEvent> {
    vec![NotifyEvent::Succeeded, NotifyEvent::Failed, NotifyEvent::SleepSoon]
}

fn warning_mins() -> u32 {
    15
}

impl NotifyConfig {
    /// Its name (given, else `<kind>-<position>` from 1).
    pub fn name_at(&self, position: usize) -> String {
        self.name.clone().unwrap_or_else(|| format!("{}-{}", if self.kind == NotifyKind::Slack { "slack" } else { "json" }, position + 1))
    }

    /// The URL (after [`Config::settle_notify`], always set).
    pub fn url(&self) -> &str {
        self.url.as_ref().map(Secret::expose).unwrap_or_default()
    }
}

impl Config {
    /// Reads each `url_env`, names every entry, and checks the rules.
    pub(super) fn settle_notify(&mut self) -> Result<(), ConfigError> {
        for env in &mut self.envs {
            let mut names = Vec::new();
            for (i, n) in env.notify.iter_mut().enumerate() {
                let name = n.name_at(i);
                let rule = |m: String| Err(ConfigError::Rule(format!("environment {:?}: [[env.notify]] {name}: {m}", env.name)));
                if names.contains(&name) {
                    return rule("the name is used twice".into());
                }
                match (&n.url, &n.url_env) {
                    (Some(_), Some(_)) => return rule("give url or url_env, not both".into()),
                    (None, None) => return rule("give url_env (the name of a variable holding the webhook's URL) or url".into()),
                    (None, Some(var)) => match std::env::var(var) {
                        Ok(u) if !u.trim().is_empty() => n.url = Some(Secret(u.trim().to_string())),
                        _ => return rule(format!("url_env: the variable {var} is not set")),
                    },
                    (Some(_), None) => {}
                }
                if !(n.url().starts_with("https://") || n.url().starts_with("http://")) {
                    return rule("the URL must start with https:// (or http://)".into());
                }
                if n.events.is_empty() {
                    return rule("events is empty: list succeeded, failed or sleep-soon".into());
                }
                if !(1..=24 * 60).contains(&n.sleep_warning_mins) {
                    return rule("sleep_warning_mins must be between 1 and 1440".into());
                }
                n.name = Some(name.clone());
                names.push(name);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(notify: &str) -> Result<Config, ConfigError> {
        crate::config::load_toml(&format!("auth = \"none\"\n[[env]]\nname = \"dev\"\n[env.kubernetes]\n[env.aws]\n{notify}\n"))
    }

    #[test]
    fn notify_rules() {
        let ok = with("[[env.notify]]\nkind = \"slack\"\nurl = \"https://hooks.example/T/B/x\"\n[[env.notify]]\nkind = \"json\"\nurl = \"http://127.0.0.1:9/hook\"\nevents = [\"failed\"]").unwrap();
        let n = &ok.envs[0].notify;
        assert_eq!((n[0].name.as_deref(), n[1].name.as_deref()), (Some("slack-1"), Some("json-2")));
        assert_eq!(n[0].sleep_warning_mins, 15);
        assert!(!format!("{:?}", ok.envs[0]).contains("hooks.example"), "the URL is never printed");
        let bad = |t: &str| with(t).unwrap_err().to_string();
        assert!(bad("[[env.notify]]\nkind = \"slack\"").contains("url_env"));
        assert!(bad("[[env.notify]]\nkind = \"slack\"\nurl_env = \"MEZAME_TEST_NO_SUCH_VARIABLE\"").contains("not set"));
        assert!(bad("[[env.notify]]\nkind = \"json\"\nurl = \"ftp://x\"").contains("https://"));
        assert!(bad("[[env.notify]]\nname = \"a\"\nkind = \"json\"\nurl = \"http://x\"\n[[env.notify]]\nname = \"a\"\nkind = \"json\"\nurl = \"http://y\"").contains("twice"));
        assert!(bad("[[env.notify]]\nkind = \"teams\"\nurl = \"http://x\"").contains("kind"));
    }
}
