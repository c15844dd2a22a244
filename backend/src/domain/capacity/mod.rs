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
//! - `prices.rs`: an instance's hourly price — on-demand from the shipped
//!   table (or the configuration), spot from EC2's spot price history, read
//!   in the background like the groups; `cost.rs`: the cost of groups and of
//!   the environment, what spot and the sleep schedule save (pure).
//! - `risk.rs`: spot risk per microservice (pure, from the topology's
//!   microservices and the view's nodes).
//! - `change.rs`: new sizes and spot mix of a group — checked, shown before →
//!   after, done, audited.
//! - `nodes.rs`: cordoning and uncordoning a node.
//! - `drain.rs`: draining a node — its preflight, and the steps of the drain
//!   run (the lifecycle's runner drives it like a wake).
//! - `scale_in.rs`: lowering an Auto Scaling group's desired safely — the
//!   nodes chosen, drained (a drain's steps), then exactly their instances
//!   terminated.

pub mod change;
pub mod cost;
pub mod drain;
#[cfg(test)]
mod fixtures;
pub mod moves;
pub mod nodes;
pub mod prices;
pub mod risk;
pub mod scale_in;
pub mod view;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use mezame_shared::capacity::{Capacity, NodeRow};
use mezame_shared::power::PowerSettings;

use crate::adapters::db::Db;
use crate::domain::changes::Changes;
use crate::domain::envs::{Environment, Environments};
use crate::domain::lifecycle::settings::own_cluster;
use crate::domain::served::Served;
use crate::domain::topology::Live;
use prices::{PriceTable, SpotPrices};
use view::Described;

/// How often AWS is described when nothing asks sooner.
pub const REFRESH: Duration = Duration::from_secs(30);
/// The shortest time between two cues of [`Capacities::changes`]: a
/// churning cluster applies a batch every 50 ms to 1 s, and a read of a
/// changed view costs O(pods).
const CUE_GAP: Duration = Duration::from_millis(300);
/// A description that takes longer is abandoned (and reported).
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(60);

/// One environment's last AWS description and the way to ask for a new one.
struct EnvCapacity {
    /// `None` when the configuration names no EKS cluster.
    cluster: Option<String>,
    /// Written only by the environment's refresh task.
    described: ArcSwap<Described>,
    /// Counts the descriptions stored (bumped after each).
    descriptions: tokio::sync::watch::Sender<u64>,
    /// Its `aws_changed` wakes the refresh task before its next tick.
    env: Arc<Environment>,
    /// The last view made, what it was made from, and it served: kept until
    /// the watch cache, AWS's description or the power settings move (then
    /// made again) or the interruptions do (then only served again). Held
    /// only to look or to store, never while a view is made.
    view: Mutex<Option<Made>>,
    /// Held while a view is made: one at a time, whoever asks (the cue
    /// streams of several pages, a request's background make).
    making: Mutex<()>,
    /// A view is being made in the background for requests (at most one).
    building: AtomicBool,
}

/// What a look at the last view made found.
enum Found {
    /// Made from what is there now.
    Fresh(Served),
    /// Made before something moved.
    Stale(Served),
    None,
}

impl EnvCapacity {
    /// What a view made now would be made from.
    fn key(&self, live: &Live, settings: Option<&PowerSettings>) -> ViewKey {
        let generation = live.objects.read().unwrap_or_else(|p| p.into_inner()).generation();
        ((generation, live.feed.snapshot().revision), self.described.load_full(), settings.cloned())
    }

    /// The last view made, and whether it is made from `key` (then served
    /// again first if the interruptions moved since).
    fn found(&self, key: &ViewKey, live: &Live) -> Found {
        let interruptions = live.interruptions.version();
        let mut made = self.view.lock().unwrap_or_else(|p| p.into_inner());
        match made.as_mut() {
            Some(m) if same(&m.key, key) => {
                if m.interruptions != interruptions {
                    m.served = serve(Capacity::clone(&m.view), live);
                    m.interruptions = interruptions;
                }
                Found::Fresh(m.served.clone())
            }
            Some(m) => Found::Stale(m.served.clone()),
            None => Found::None,
        }
    }
}

/// A view, and the same serialized with the interruptions of `interruptions`.
struct Made {
    key: ViewKey,
    view: Arc<Capacity>,
    interruptions: u64,
    served: Served,
}

/// What a view is made from: the watch cache's generation and the revision of
/// the topology published from it (spot risk reads the topology, which follows
/// the cache a rebuild later), the description read (the same one: each
/// refresh stores a new one; held, so never another at its address), the power settings.
type ViewKey = ((u64, u64), Arc<Described>, Option<PowerSettings>);

fn same(a: &ViewKey, b: &ViewKey) -> bool {
    a.0 == b.0 && Arc::ptr_eq(&a.1, &b.1) && a.2 == b.2
}

/// The capacity of every environment.
pub struct Capacities {
    by_env: HashMap<String, Arc<EnvCapacity>>,
    /// Where changes are audited.
    db: Db,
    /// On-demand prices (the shipped table and the configuration's overrides).
    prices: PriceTable,
}

impl Capacities {
    /// Starts one refresh task per environment. Must be called within a Tokio runtime.
    pub fn start(envs: &Environments, db: Db, prices: PriceTable) -> Capacities {
        let by_env = envs
            .iter()
            .map(|env| {
                let cap = Arc::new(EnvCapacity {
                    cluster: own_cluster(env).map(str::to_string),
                    described: ArcSwap::from_pointee(Described::default()),
                    descriptions: tokio::sync::watch::Sender::new(0),
                    env: env.clone(),
                    view: Mutex::new(None),
                    making: Mutex::new(()),
                    building: AtomicBool::new(false),
                });
                tokio::spawn(refresh_loop(env.clone(), cap.clone()));
                (env.config.name.clone(), cap)
            })
            .collect();
        Capacities { by_env, db, prices }
    }

    /// Asks the environment's refresh task to describe AWS now.
    pub fn refresh(&self, env: &str) {
        if let Some(c) = self.by_env.get(env) {
            c.env.aws_changed.notify_one();
        }
    }

    /// Cues when the environment's view may have changed: the watch cache
    /// applied updates (nodes, pods, their interruptions), AWS was described.
    pub fn changes(&self, env: &Environment, live: &Live) -> Changes {
        let mut sources = vec![live.applied.subscribe()];
        sources.extend(self.by_env.get(env.config.name.as_str()).map(|c| c.descriptions.subscribe()));
        Changes::new(sources, CUE_GAP)
    }

    /// The environment's capacity, serialized, at once: the last view made —
    /// the last AWS description joined with the live nodes and pods;
    /// `settings` give the awake sizes of groups. When what it is made from
    /// moved since, a new one is made in the background (O(pods), one at a
    /// time) and the last one answered meanwhile: no request waits for a view
    /// but the very first. The cue stream ([`Self::changes`]) cues once the
    /// new one is made ([`Self::fresh`]), so a page that reads on cues reads it.
    pub fn view(self: &Arc<Self>, env: &Arc<Environment>, live: &Arc<Live>, settings: Option<PowerSettings>) -> Served {
        let Some(cap) = self.by_env.get(env.config.name.as_str()) else {
            return self.fresh(env, live, settings.as_ref());
        };
        match cap.found(&cap.key(live, settings.as_ref()), live) {
            Found::Fresh(served) => served,
            Found::Stale(served) => {
                if !cap.building.swap(true, Ordering::AcqRel) {
                    let (this, env, live, cap) = (self.clone(), env.clone(), live.clone(), cap.clone());
                    tokio::task::spawn_blocking(move || {
                        this.fresh(&env, &live, settings.as_ref());
                        cap.building.store(false, Ordering::Release);
                    });
                }
                served
            }
            Found::None => self.fresh(env, live, settings.as_ref()),
        }
    }

    /// The environment's capacity as it is now, serialized: the last view
    /// made if nothing it is made from moved since (served again if only the
    /// interruptions did), else made again here (O(pods)) — or by whoever was
    /// making it, waited for.
    pub fn fresh(&self, env: &Environment, live: &Live, settings: Option<&PowerSettings>) -> Served {
        let Some(cap) = self.by_env.get(env.config.name.as_str()) else {
            return serve(self.make_view(env, live, settings, &Described::default(), None), live);
        };
        if let Found::Fresh(served) = cap.found(&cap.key(live, settings), live) {
            return served;
        }
        let _one = cap.making.lock().unwrap_or_else(|p| p.into_inner());
        // Read again: what it is made from may have moved, or been made, meanwhile.
        let key = cap.key(live, settings);
        if let Found::Fresh(served) = cap.found(&key, live) {
            return served;
        }
        let interruptions = live.interruptions.version();
        let view = Arc::new(self.make_view(env, live, settings, &key.1, cap.cluster.clone()));
        let served = serve(Capacity::clone(&view), live);
        *cap.view.lock().unwrap_or_else(|p| p.into_inner()) = Some(Made { key, view, interruptions, served: served.clone() });
        served
    }

    fn make_view(
        &self,
        env: &Environment,
        live: &Live,
        settings: Option<&PowerSettings>,
        described: &Described,
        cluster: Option<String>,
    ) -> Capacity {
        let name = env.config.name.as_str();
        let mut described = described.clone();
        if cluster.is_none() {
            described.error = Some(format!("{name} names no EKS cluster ([env.aws] eks_cluster): its node groups cannot be described"));
        }
        let (mut c, requests) = {
            let objects = live.objects.read().unwrap_or_else(|p| p.into_inner());
            let requests: moves::PodRequests =
                objects.pods().map(|p| ((p.meta.namespace.clone(), p.meta.name.clone()), p.requests)).collect();
            (view::join(name, cluster.as_deref().unwrap_or_default(), &described, &objects, settings), requests)
        };
        let region = env.aws().region().unwrap_or_else(|| "(no region configured)".into());
        let pricing = cost::Pricing { table: &self.prices, spot: &described.spot, region: &region };
        cost::apply(&mut c, &pricing, settings);
        let nodes: HashMap<&str, &NodeRow> =
            c.groups.iter().flat_map(|g| &g.nodes).chain(&c.other_nodes).map(|n| (n.name.as_str(), n)).collect();
        let topology = live.feed.snapshot();
        let spot_risk = risk::assess(&topology, &nodes);
        let spot_moves = moves::assess(&topology, &spot_risk, &requests, &nodes, &pricing);
        c.cost.spot_ready_saving_monthly =
            cost::round2(spot_moves.iter().filter(|m| m.ready_for_spot).map(|m| m.saving_monthly).sum::<f64>());
        c.spot_risk = spot_risk;
        c.spot_moves = spot_moves;
        c
    }
}

/// `view` with the interruptions as they are now, serialized.
fn serve(mut view: Capacity, live: &Live) -> Served {
    view.interruptions = live.interruptions.list();
    Served::of(&view)
}

async fn refresh_loop(env: Arc<Environment>, cap: Arc<EnvCapacity>) {
    let Some(cluster) = cap.cluster.clone() else { return };
    loop {
        let previous = cap.described.load_full();
        let mut next = match tokio::time::timeout(DESCRIBE_TIMEOUT, env.aws().describe_groups(&cluster)).await {
            Ok(Ok(groups)) => Described { at: Some(chrono::Utc::now()), groups, error: None, spot: previous.spot.clone() },
            Ok(Err(e)) => Described { error: Some(e.to_string()), ..(*previous).clone() },
            Err(_) => Described {
                error: Some(format!("AWS did not describe {cluster}'s groups within {} s", DESCRIBE_TIMEOUT.as_secs())),
                ..(*previous).clone()
            },
        };
        if let Some(e) = &next.error {
            tracing::warn!(env = env.config.name, error = e, "cannot describe the node groups");
        }
        let types = SpotPrices::types_of(&next.groups);
        if next.spot.stale(&types, chrono::Utc::now()) {
            next.spot = read_spot_prices(&env, types, &previous.spot).await;
        }
        cap.described.store(Arc::new(next));
        cap.descriptions.send_modify(|n| *n += 1);
        tokio::select! {
            _ = tokio::time::sleep(REFRESH) => {}
            _ = env.aws_changed.notified() => {}
        }
    }
}

/// EC2's spot prices of `types`; on failure the last ones, with why.
async fn read_spot_prices(env: &Environment, types: BTreeSet<String>, last: &SpotPrices) -> SpotPrices {
    let asked: Vec<String> = types.iter().cloned().collect();
    let error = match tokio::time::timeout(DESCRIBE_TIMEOUT, env.aws().spot_prices(&asked)).await {
        Ok(Ok(quotes)) => {
            let by_type_zone = quotes.into_iter().map(|q| ((q.instance_type, q.zone), q.hourly)).collect();
            return SpotPrices { by_type_zone, at: Some(chrono::Utc::now()), error: None, asked: types };
        }
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("EC2 did not answer DescribeSpotPriceHistory within {} s", DESCRIBE_TIMEOUT.as_secs()),
    };
    tracing::warn!(env = env.config.name, error, "cannot read the spot prices");
    SpotPrices { error: Some(error), ..last.clone() }
}
