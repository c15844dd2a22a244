//! Node capacity per environment: the EKS managed node groups and the Auto
//! Scaling groups of its cluster, with their nodes.
//!
//! AWS is described in the background, every [`REFRESH`], never per request: a
//! `GET` joins the last description with the topology's watch cache of nodes
//! and pods ([`view::join`]). A failed description keeps the last groups and
//! says why.
//!
//! A change made here (`change.rs`, `nodes.rs`) asks for a new description
//! at once.
//!
//! - `view.rs`: the join, pure (the actual mix, warnings, totals).
//! - `change.rs`: new sizes and spot mix of a group — checked, shown before →
//!   after, done, audited.
//! - `nodes.rs`: cordoning and uncordoning a node.
//! - `drain.rs`: draining a node — its preflight, and the steps of the drain
//!   run (the lifecycle's runner drives it like a wake).
//! - `scale_in.rs`: lowering an Auto Scaling group's desired safely — the
//!   nodes chosen, drained (a drain's steps), then exactly their instances
//!   terminated.

pub mod change;
pub mod drain;
pub mod nodes;
pub mod scale_in;
pub mod view;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use mezame_shared::capacity::Capacity;
use mezame_shared::power::PowerSettings;
use tokio::sync::Notify;

use crate::adapters::db::Db;
use crate::domain::envs::{Environment, Environments};
use crate::domain::lifecycle::settings::own_cluster;
use crate::domain::topology::Live;
use view::Described;

/// How often AWS is described when nothing asks sooner.
pub const REFRESH: Duration = Duration::from_secs(30);
/// A description that takes longer is abandoned (and reported).
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(60);

/// One environment's last AWS description and the way to ask for a new one.
struct EnvCapacity {
    /// `None` when the configuration names no EKS cluster.
    cluster: Option<String>,
    /// Written only by the environment's refresh task.
    described: ArcSwap<Described>,
    /// Wakes the refresh task before its next tick (after a change).
    poke: Notify,
}

/// The capacity of every environment.
pub struct Capacities {
    by_env: HashMap<String, Arc<EnvCapacity>>,
    /// Where changes are audited.
    db: Db,
}

impl Capacities {
    /// Starts one refresh task per environment. Must be called within a Tokio runtime.
    pub fn start(envs: &Environments, db: Db) -> Capacities {
        let by_env = envs
            .iter()
            .map(|env| {
                let cap = Arc::new(EnvCapacity {
                    cluster: own_cluster(env).map(str::to_string),
                    described: ArcSwap::from_pointee(Described::default()),
                    poke: Notify::new(),
                });
                tokio::spawn(refresh_loop(env.clone(), cap.clone()));
                (env.config.name.clone(), cap)
            })
            .collect();
        Capacities { by_env, db }
    }

    /// Asks the environment's refresh task to describe AWS now.
    pub fn refresh(&self, env: &str) {
        if let Some(c) = self.by_env.get(env) {
            c.poke.notify_one();
        }
    }

    /// The environment's capacity: the last AWS description joined with the
    /// live nodes and pods; `settings` give the awake sizes of groups.
    pub fn view(&self, env: &Environment, live: &Live, settings: Option<&PowerSettings>) -> Capacity {
        let name = env.config.name.as_str();
        let cap = self.by_env.get(name);
        let described = cap.map(|c| c.described.load_full()).unwrap_or_default();
        let cluster = cap.and_then(|c| c.cluster.clone());
        let mut described = (*described).clone();
        if cluster.is_none() {
            described.error = Some(format!("{name} names no EKS cluster ([env.aws] eks_cluster): its node groups cannot be described"));
        }
        let objects = live.objects.read().unwrap_or_else(|p| p.into_inner());
        view::join(name, cluster.as_deref().unwrap_or_default(), &described, &objects, settings)
    }
}

async fn refresh_loop(env: Arc<Environment>, cap: Arc<EnvCapacity>) {
    let Some(cluster) = cap.cluster.clone() else { return };
    loop {
        let previous = cap.described.load_full();
        let next = match tokio::time::timeout(DESCRIBE_TIMEOUT, env.aws().describe_groups(&cluster)).await {
            Ok(Ok(groups)) => Described { at: Some(chrono::Utc::now()), groups, error: None },
            Ok(Err(e)) => Described { error: Some(e.to_string()), ..(*previous).clone() },
            Err(_) => Described {
                error: Some(format!("AWS did not describe {cluster}'s groups within {} s", DESCRIBE_TIMEOUT.as_secs())),
                ..(*previous).clone()
            },
        };
        if let Some(e) = &next.error {
            tracing::warn!(env = env.config.name, error = e, "cannot describe the node groups");
        }
        cap.described.store(Arc::new(next));
        tokio::select! {
            _ = tokio::time::sleep(REFRESH) => {}
            _ = cap.poke.notified() => {}
        }
    }
}
