//! The application state shared by every request handler.

use std::sync::Arc;
use std::time::Duration;

use std::net::SocketAddr;

use crate::adapters::db::Db;
use crate::adapters::seal::Keys;
use crate::config::Config;
use crate::domain::auth::Auth;
use crate::domain::capacity::Capacities;
use crate::domain::capacity::prices::PriceTable;
use crate::domain::deploys::Deploys;
use crate::domain::envs::Environments;
use crate::domain::lifecycle::Lifecycle;
use crate::domain::notify::Outbox;
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
    /// Node groups and their nodes (AWS described in the background).
    pub capacities: Arc<Capacities>,
    /// The deploy index (git mirrors indexed in the background); none without `[git] manifests`.
    pub deploys: Option<Arc<Deploys>>,
    /// Wake and sleep runs (and their runner tasks).
    pub lifecycle: Arc<Lifecycle>,
    /// Sign-in, tokens and roles.
    pub auth: Arc<Auth>,
    /// Open event streams (topology, runs), bounded by `max_event_streams`.
    pub streams: Arc<tokio::sync::Semaphore>,
    /// Set when the server shuts down: event streams end.
    closing: Arc<tokio::sync::watch::Sender<bool>>,
}

impl App {
    /// Connects the database (creating and migrating it) and prepares the
    /// environments' handles, starts watching every environment's cluster in
    /// the background, and resumes wake/sleep runs a previous process left
    /// running. `listen` is the address the server is bound to.
    pub async fn start(config: Config, listen: SocketAddr) -> anyhow::Result<App> {
        let db = Db::connect(&config.database.0).await.map_err(|e| anyhow::anyhow!("cannot open the database {}: {e}", config.database))?;
        let runner_db = Db::connect_runner_pool(&config.database.0)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open the database {}: {e}", config.database))?;
        let auth = Arc::new(Auth::new(&config, db.clone(), listen).map_err(|e| anyhow::anyhow!("[auth]: {e}"))?);
        auth.start_purger();
        let envs = Environments::new(&config.envs, Duration::from_millis(config.probe_timeout_ms)).await;
        let topologies = Topologies::start(&envs);
        let prices = PriceTable::new(config.prices.on_demand.clone()).map_err(|e| anyhow::anyhow!("{e}"))?;
        let capacities = Capacities::start(&envs, db.clone(), prices);
        // Parsed once, here: a key that is not base64 of 32 bytes stops the start.
        let keys = Keys::parse(config.backup_keys.iter().map(|k| k.expose())).map_err(|e| anyhow::anyhow!("{e}"))?;
        let envs = Arc::new(envs);
        let topologies = Arc::new(topologies);
        tokio::spawn(crate::domain::topology::interruptions::keep(topologies.clone(), db.clone()));
        let deploys = Deploys::start(&config.git, config.git_mirrors(), db.clone(), topologies.clone());
        let lifecycle = Lifecycle::new(
            db.clone(),
            runner_db,
            envs.clone(),
            keys,
            Duration::from_secs(config.run_lease_secs),
            Duration::from_secs(config.drain_timeout_secs),
            Outbox::start(db.clone(), envs.clone(), config.auth_table().and_then(|a| a.public_url.clone())),
        );
        let resumed = lifecycle.resume().await?;
        if resumed > 0 {
            tracing::info!(runs = resumed, "resumed wake/sleep runs left running");
        }
        lifecycle.start_scheduler(Duration::from_millis(config.schedule_tick_ms));
        Ok(App {
            streams: Arc::new(tokio::sync::Semaphore::new(config.max_event_streams)),
            closing: Arc::new(tokio::sync::watch::Sender::new(false)),
            config: Arc::new(config),
            db,
            envs,
            topologies,
            deploys,
            capacities: Arc::new(capacities),
            lifecycle,
            auth,
        })
    }
}

impl App {
    /// The deploy index, or the 404 that says what to configure.
    pub fn deploys(&self) -> Result<&Arc<Deploys>, crate::domain::DomainError> {
        self.deploys
            .as_ref()
            .ok_or_else(|| crate::domain::DomainError::NotFound("no manifest repository is configured: set [git] manifests".into()))
    }

    /// Becomes true when the server shuts down.
    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Shutting down: event streams end, runners release their runs.
    pub async fn close(&self, deadline: Duration) {
        self.closing.send_replace(true);
        self.lifecycle.shutdown(deadline).await;
    }
}
