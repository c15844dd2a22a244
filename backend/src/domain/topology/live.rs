//! The live topology of each environment: a task per environment that runs
//! the watches, folds their updates into the cache in small batches, rebuilds
//! the topology and publishes what changed.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use mezame_shared::topology::{SourceHealth, Topology};
use tokio::sync::mpsc;

use super::build::build;
use super::feed::Feed;
use super::store::Objects;
use crate::adapters::kube::watch;
use crate::domain::envs::{Environment, Environments};

/// Updates arriving within this window are applied as one batch.
pub const COALESCE: Duration = Duration::from_millis(50);
/// Wait before retrying a cluster whose client could not be built.
const RECONNECT: Duration = Duration::from_secs(5);
/// How often a down environment's API server is probed, and how long it may
/// answer while a watch still reports it unreachable before the watches are
/// restarted (a request sent while the server restarted can hang for minutes).
const WATCHDOG: Duration = Duration::from_secs(5);
const STUCK_AFTER: Duration = Duration::from_secs(10);

/// One environment's watch cache and feed.
pub struct Live {
    pub env: String,
    /// The cached objects; written only by the environment's task.
    pub objects: RwLock<Objects>,
    pub feed: Feed,
}

/// The live topologies of all environments.
pub struct Topologies {
    by_env: HashMap<String, Arc<Live>>,
}

impl Topologies {
    /// Starts one task per environment. Must be called within a Tokio runtime.
    pub fn start(envs: &Environments) -> Topologies {
        let by_env = envs
            .iter()
            .map(|env| {
                let live = Arc::new(Live {
                    env: env.config.name.clone(),
                    objects: RwLock::new(Objects::default()),
                    feed: Feed::new(empty(&env.config.name)),
                });
                tokio::spawn(run(env.clone(), live.clone()));
                (env.config.name.clone(), live)
            })
            .collect();
        Topologies { by_env }
    }

    pub fn get(&self, env: &str) -> Option<&Arc<Live>> {
        self.by_env.get(env)
    }
}

fn empty(env: &str) -> Topology {
    Topology {
        env: env.to_string(),
        revision: 0,
        source: SourceHealth { synced: false, connected: false, error: None, kinds: vec![] },
        ingresses: vec![],
        gateways: vec![],
        services: vec![],
        unresolved: vec![],
    }
}

impl Live {
    fn rebuild(&self, objects: &Objects) {
        self.feed.publish(build(&self.env, objects));
    }
}

async fn run(env: Arc<Environment>, live: Arc<Live>) {
    let cluster = loop {
        match env.cluster().await {
            Ok(c) => break c.clone(),
            Err(e) => {
                {
                    let mut o = live.objects.write().unwrap();
                    if o.set_connect_error(e) {
                        live.rebuild(&o);
                    }
                }
                tokio::time::sleep(RECONNECT).await;
            }
        }
    };
    let (tx, mut rx) = mpsc::channel(4096);
    // Dropping the set (when replaced, or when this task ends) stops the watchers.
    let mut watches = watch::spawn_all(cluster.watch_client().clone(), tx.clone());
    let mut tick = tokio::time::interval(WATCHDOG);
    let mut answering_since: Option<tokio::time::Instant> = None;
    loop {
        let first = tokio::select! {
            update = rx.recv() => match update {
                Some(u) => u,
                None => return,
            },
            _ = tick.tick() => {
                let down = !live.feed.snapshot().source.connected;
                if !down || cluster.probe().await.is_err() {
                    answering_since = None;
                    continue;
                }
                let since = *answering_since.get_or_insert_with(tokio::time::Instant::now);
                if since.elapsed() >= STUCK_AFTER {
                    tracing::warn!(env = live.env, "the API server answers but a watch still fails: restarting the watches");
                    watches.abort_all();
                    watches = watch::spawn_all(cluster.watch_client().clone(), tx.clone());
                    answering_since = None;
                }
                continue;
            }
        };
        tokio::time::sleep(COALESCE).await;
        let mut o = live.objects.write().unwrap();
        let mut changed = o.apply(first);
        while let Ok(update) = rx.try_recv() {
            changed |= o.apply(update);
        }
        if changed {
            live.rebuild(&o);
        }
        drop(o);
    }
}
