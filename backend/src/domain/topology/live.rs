//! The live topology of each environment: a task per environment that runs
//! the watches (and restarts them when they are stuck), and a thread per
//! environment that folds their updates into the cache in batches, rebuilds
//! the topology and publishes what changed.
//!
//! The rebuild (build, diff, serialize, gzip) runs on its own OS thread at a
//! lower CPU priority, never on the async workers: a `GET` is served from the
//! published snapshot and does not queue behind it. It builds again only the
//! rows the batch touched ([`super::touched`]): a pod replaced costs its
//! microservice's row, not a build of every row (at 10k pods on this machine,
//! ~14 ms of CPU per revision instead of ~35: what is left is the pod index
//! and the gzip of the whole body).
//! The batch window grows with the rebuild's measured cost, so a churning
//! cluster costs a bounded share of the CPU.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use mezame_shared::envs::{EnvStatus, Probe};
use mezame_shared::topology::{SourceHealth, Topology};
use tokio::sync::mpsc;

use super::build::rebuild;
use super::feed::Feed;
use super::interruptions::Interruptions;
use super::store::Objects;
use super::touched::{Rows, Touched};
use crate::adapters::kube::watch::{self, Update};
use crate::domain::envs::{Environment, Environments};

/// Shortest and longest window in which updates are applied as one batch.
pub const COALESCE_MIN: Duration = Duration::from_millis(50);
pub const COALESCE_MAX: Duration = Duration::from_secs(1);
/// Wait before retrying a cluster whose client could not be built.
const RECONNECT: Duration = Duration::from_secs(5);
/// How often a down environment's API server is probed, and how long it may
/// answer while a watch still reports it unreachable before the watches are
/// restarted (a request sent while the server restarted can hang for minutes).
const WATCHDOG: Duration = Duration::from_secs(5);
const STUCK_AFTER: Duration = Duration::from_secs(10);
/// Nice value of the rebuild threads (0 is the default, 19 the lowest priority).
const REBUILD_NICE: i32 = 10;

/// One environment's watch cache and feed.
pub struct Live {
    pub env: String,
    /// The cached objects; written only by the environment's rebuild thread.
    pub objects: RwLock<Objects>,
    pub feed: Feed,
    /// How long the last rebuilds took.
    pub rebuilds: RebuildTimes,
    /// Nodes interrupted (spot) or recommended for rebalance, noticed as the
    /// rebuild thread applies the watch's updates.
    pub interruptions: Interruptions,
    /// Counts the batches of updates applied to the cache, bumped once the
    /// topology is published from them: views made from the cache (the
    /// capacity) follow it.
    pub applied: tokio::sync::watch::Sender<u64>,
}

/// The last rebuilds of one environment (for the bench and the
/// `mezame_topology_rebuild_seconds` metric): numbered, so a reader can ask
/// for those after a moment (`summary(since)`).
#[derive(Default)]
pub struct RebuildTimes(Mutex<(u64, VecDeque<Rebuild>)>);

#[derive(Clone, Copy)]
struct Rebuild {
    seq: u64,
    /// Wall time: at a low priority on a busy machine, mostly waiting for a core.
    took: Duration,
    /// CPU time of the rebuild thread: what it cost.
    cpu: Duration,
    /// Why every row was built, when it was.
    whole: Option<&'static str>,
}

/// The rebuilds numbered `since` and after (of those kept).
#[derive(Debug, Default, PartialEq)]
pub struct RebuildSummary {
    /// The number the next rebuild will have.
    pub next: u64,
    pub count: usize,
    /// Wall time.
    pub p50: Duration,
    pub p99: Duration,
    /// CPU time.
    pub cpu_p50: Duration,
    pub cpu_p99: Duration,
    /// Rebuilds of every row, by why (the rest built only the rows their batch touched).
    pub whole: BTreeMap<&'static str, usize>,
}

impl RebuildTimes {
    const KEPT: usize = 1024;

    fn record(&self, env: &str, (took, cpu): (Duration, Duration), whole: Option<&'static str>) {
        metrics::histogram!("mezame_topology_rebuild_seconds", "env" => env.to_string()).record(took.as_secs_f64());
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let (next, kept) = &mut *g;
        if kept.len() == Self::KEPT {
            kept.pop_front();
        }
        kept.push_back(Rebuild { seq: *next, took, cpu, whole });
        *next += 1;
    }

    pub fn summary(&self, since: u64) -> RebuildSummary {
        let g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let these: Vec<Rebuild> = g.1.iter().filter(|r| r.seq >= since).copied().collect();
        let quantiles = |of: fn(&Rebuild) -> Duration| {
            let mut v: Vec<Duration> = these.iter().map(of).collect();
            v.sort();
            let q = |p: f64| v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1))).copied().unwrap_or_default();
            (q(0.5), q(0.99))
        };
        let ((p50, p99), (cpu_p50, cpu_p99)) = (quantiles(|r| r.took), quantiles(|r| r.cpu));
        let mut whole = BTreeMap::new();
        for why in these.iter().filter_map(|r| r.whole) {
            *whole.entry(why).or_default() += 1;
        }
        RebuildSummary { next: g.0, count: these.len(), p50, p99, cpu_p50, cpu_p99, whole }
    }
}

/// The batch window after a rebuild that took `cost`: twice the cost, within
/// [`COALESCE_MIN`, `COALESCE_MAX`] — rebuilding takes at most about a third
/// of one core however fast the cluster churns.
pub fn coalesce_window(cost: Duration) -> Duration {
    (cost * 2).clamp(COALESCE_MIN, COALESCE_MAX)
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
                    rebuilds: RebuildTimes::default(),
                    interruptions: Interruptions::default(),
                    applied: tokio::sync::watch::Sender::new(0),
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

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Live>> {
        self.by_env.values()
    }

    /// Puts the watch cache's node counts into `statuses` (the probe's are a
    /// moment old; the cache is what every page shows), where it is synced.
    pub fn overlay_node_counts(&self, statuses: &mut [EnvStatus]) {
        for s in statuses {
            if let Probe::Ok { value } = &mut s.kubernetes.result
                && let Some((nodes, ready)) = self.get(&s.name).and_then(|l| l.node_counts())
            {
                (value.node_count, value.ready_node_count) = (nodes, ready);
            }
        }
    }
}

impl Live {
    /// The ALB Ingresses in the watch cache (their hosts and load balancer).
    pub fn alb_ingresses(&self) -> Vec<crate::domain::dns::AlbIngress> {
        let o = self.objects.read().unwrap_or_else(|p| p.into_inner());
        o.ingresses()
            .filter(|i| i.class.as_deref() == Some("alb"))
            .map(|i| crate::domain::dns::AlbIngress {
                name: format!("{}/{}", i.meta.namespace, i.meta.name),
                hosts: i.hosts.clone(),
                load_balancer: i.addresses.first().cloned(),
            })
            .collect()
    }

    /// (nodes, Ready nodes) in the watch cache, once it is synced.
    pub fn node_counts(&self) -> Option<(u32, u32)> {
        let o = self.objects.read().unwrap_or_else(|p| p.into_inner());
        o.source().synced.then(|| (o.nodes().count() as u32, o.nodes().filter(|n| n.ready).count() as u32))
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
    /// Publishes the topology of `objects`, building again `rows` only and
    /// keeping the published others.
    fn rebuild(&self, objects: &Objects, rows: &Rows) -> Duration {
        let (t, cpu) = (Instant::now(), thread_cpu());
        let next = match rows {
            Rows::These(rows) => rebuild(&self.env, objects, Some((&self.feed.snapshot(), rows))),
            Rows::All(_) => rebuild(&self.env, objects, None),
        };
        self.feed.publish(next);
        let took = t.elapsed();
        self.rebuilds.record(
            &self.env,
            (took, thread_cpu().saturating_sub(cpu)),
            match rows {
                Rows::All(why) => Some(why),
                Rows::These(_) => None,
            },
        );
        took
    }
}

async fn run(env: Arc<Environment>, live: Arc<Live>) {
    let cluster = loop {
        match env.cluster().await {
            Ok(c) => break c.clone(),
            Err(e) => {
                let live = live.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    let mut o = live.objects.write().unwrap_or_else(|p| p.into_inner());
                    if o.set_connect_error(e.to_string()) {
                        live.rebuild(&o, &Rows::All("unreachable"));
                    }
                })
                .await;
                tokio::time::sleep(RECONNECT).await;
            }
        }
    };
    let (tx, rx) = mpsc::channel(4096);
    let folder = live.clone();
    if let Err(e) = std::thread::Builder::new().name(format!("topology-{}", live.env)).spawn(move || fold(folder, rx)) {
        tracing::error!(env = live.env, error = %e, "cannot start the topology's rebuild thread");
        return;
    }
    // Dropping the set (when replaced, or when this task ends) stops the watchers.
    let mut watches = watch::spawn_all(cluster.watch_client().clone(), tx.clone());
    let mut tick = tokio::time::interval(WATCHDOG);
    let mut answering_since: Option<tokio::time::Instant> = None;
    loop {
        tick.tick().await;
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
    }
}

/// The rebuild thread: waits for an update, lets the batch window pass,
/// applies everything that arrived, and rebuilds if anything changed. Ends
/// when every sender is gone.
fn fold(live: Arc<Live>, mut rx: mpsc::Receiver<Update>) {
    lower_priority(&live.env);
    let mut window = COALESCE_MIN;
    while let Some(first) = rx.blocking_recv() {
        std::thread::sleep(window);
        let changed = {
            // What was published from the cache as it is: what ran where before these updates.
            let before = live.feed.snapshot();
            let mut o = live.objects.write().unwrap_or_else(|p| p.into_inner());
            let mut changed = false;
            let mut touched = Touched::default();
            for update in std::iter::once(first).chain(std::iter::from_fn(|| rx.try_recv().ok())) {
                live.interruptions.notice(&o, &update, &before);
                touched.note(&o, &update);
                changed |= o.apply(update);
            }
            changed.then(|| touched.rows(&o))
        };
        if let Some(rows) = changed {
            // Readers (a service's detail, Run now) share the cache meanwhile.
            let o = live.objects.read().unwrap_or_else(|p| p.into_inner());
            window = coalesce_window(live.rebuild(&o, &rows));
            live.applied.send_modify(|n| *n += 1);
        }
    }
}

/// The CPU time the calling thread has used.
fn thread_cpu() -> Duration {
    crate::telemetry::clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// Gives the calling thread a lower CPU priority (Linux: the nice value is per thread).
fn lower_priority(env: &str) {
    // SAFETY: setpriority has no memory effects; `who = 0` is the calling thread.
    let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, REBUILD_NICE) };
    if r != 0 {
        tracing::debug!(env, error = %std::io::Error::last_os_error(), "the rebuild thread keeps the default priority");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_window_grows_with_the_rebuild_cost_within_bounds() {
        assert_eq!(coalesce_window(Duration::from_millis(1)), COALESCE_MIN);
        assert_eq!(coalesce_window(Duration::from_millis(120)), Duration::from_millis(240));
        assert_eq!(coalesce_window(Duration::from_secs(3)), COALESCE_MAX);
    }

    #[test]
    fn rebuild_times_keep_the_last_ones_and_their_quantiles() {
        let t = RebuildTimes::default();
        assert_eq!(t.summary(0), RebuildSummary::default());
        for ms in 1..=2000u64 {
            t.record("dev", (Duration::from_millis(ms), Duration::from_millis(ms / 2)), (ms % 1000 == 0).then_some("nodes"));
        }
        let s = t.summary(0);
        assert_eq!((s.next, s.count), (2000, RebuildTimes::KEPT));
        assert_eq!(s.p50, Duration::from_millis(977 + 512));
        assert_eq!(s.p99, Duration::from_millis(977 + 1013));
        assert_eq!(s.cpu_p50, Duration::from_millis((977 + 512) / 2));
        assert_eq!(s.whole, [("nodes", 2)].into());
        let s = t.summary(1990);
        assert_eq!((s.count, s.p50, s.whole.len()), (10, Duration::from_millis(1996), 1));
    }
}
