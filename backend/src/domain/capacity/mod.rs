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
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use mezame_shared::capacity::{Capacity, NodeRow};
use mezame_shared::power::PowerSettings;

use crate::adapters::db::Db;
use crate::domain::envs::{Environment, Environments};
use crate::domain::lifecycle::settings::own_cluster;
use crate::domain::topology::Live;
use prices::{PriceTable, SpotPrices};
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
    /// Its `aws_changed` wakes the refresh task before its next tick.
    env: Arc<Environment>,
    /// The last view made, and what it was made from: kept until the watch
    /// cache, AWS's description or the power settings move.
    view: Mutex<Option<(ViewKey, Arc<Capacity>)>>,
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
                    env: env.clone(),
                    view: Mutex::new(None),
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

    /// The environment's capacity: the last AWS description joined with the
    /// live nodes and pods; `settings` give the awake sizes of groups. Made
    /// once per change of what it is made from (it costs O(pods)), then
    /// answered from that; the interruptions are always the latest.
    pub fn view(&self, env: &Environment, live: &Live, settings: Option<&PowerSettings>) -> Capacity {
        let cap = self.by_env.get(env.config.name.as_str());
        let described = cap.map(|c| c.described.load_full()).unwrap_or_default();
        let key: ViewKey = {
            let generation = live.objects.read().unwrap_or_else(|p| p.into_inner()).generation();
            ((generation, live.feed.snapshot().revision), described.clone(), settings.cloned())
        };
        let cached = cap.and_then(|c| c.view.lock().unwrap_or_else(|p| p.into_inner()).clone()).filter(|(k, _)| same(k, &key));
        let made = match cached {
            Some((_, v)) => v,
            None => {
                let v = Arc::new(self.make_view(env, live, settings, &described, cap.and_then(|c| c.cluster.clone())));
                if let Some(c) = cap {
                    *c.view.lock().unwrap_or_else(|p| p.into_inner()) = Some((key, v.clone()));
                }
                v
            }
        };
        let mut c = Capacity::clone(&made);
        c.interruptions = live.interruptions.list();
        c
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
