//! The application state shared by every request handler.

use std::sync::Arc;
use std::time::Duration;

use crate::adapters::db::Db;
use crate::config::Config;
use crate::adapters::seal::Key;
use crate::domain::envs::Environments;
use crate::domain::lifecycle::Lifecycle;
use crate::domain::topology::Topologies;

/// Cheap to clone: every field is a shared handle.
#[derive(Clone)]
pub struct App {
    /// The configuration the server started with (read-only).
    pub config: Arc<Config>,
    /// The panel's database (pool).
    pub db: Db,
    /// Configured environments with their Kubernetes and AWS handles.
    pub envs: Arc<Environments>,
    /// The live topology (watch cache and feed) of each environment.
    pub topologies: Arc<Topologies>,
    /// Wake and sleep runs (and their runner tasks).
    pub lifecycle: Arc<Lifecycle>,
}

impl App {
    /// Connects the database (creating and migrating it) and prepares the
    /// environments' handles, starts watching every environment's cluster in
    /// the background, and resumes wake/sleep runs a previous process left running.
    pub async fn start(config: Config) -> anyhow::Result<App> {
        let db = Db::connect(&config.database).await.map_err(|e| {
            anyhow::anyhow!("cannot open the database {}: {e}", redact(&config.database))
        })?;
        let envs = Environments::new(
            &config.envs,
            Duration::from_millis(config.probe_timeout_ms),
        )
        .await;
        let topologies = Topologies::start(&envs);
        let key = match &config.backup_key {
            Some(k) => Some(Key::parse(k).map_err(|e| anyhow::anyhow!("backup_key {e}"))?),
            None => None,
        };
        let envs = Arc::new(envs);
        let lifecycle = Lifecycle::new(db.clone(), envs.clone(), key, Duration::from_secs(config.run_lease_secs));
        let resumed = lifecycle.resume().await?;
        if resumed > 0 {
            tracing::info!(runs = resumed, "resumed wake/sleep runs left running");
        }
        lifecycle.start_scheduler(Duration::from_millis(config.schedule_tick_ms));
        Ok(App {
            config: Arc::new(config),
            db,
            envs,
            topologies: Arc::new(topologies),
            lifecycle,
        })
    }
}

/// A database URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme + 3], &creds[..colon], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redact_hides_passwords_only() {
        assert_eq!(
            super::redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(super::redact("/var/lib/mezame.db"), "/var/lib/mezame.db");
    }
}
