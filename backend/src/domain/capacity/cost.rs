//! What an environment's nodes cost per hour and per month, what its spot
//! instances save against on-demand, and what its sleep schedule saves (pure,
//! on the joined view).
//!
//! An Auto Scaling group costs its running EC2 instances (what AWS bills,
//! joined or not); an EKS managed node group its nodes. Every figure that is
//! not a market price says why ([`Cost::notes`]).

use std::collections::BTreeSet;

use mezame_shared::capacity::{Capacity, Cost, EnvCost, Group, HOURS_PER_MONTH, NodeRow, PriceBasis};
use mezame_shared::power::{GroupKind, PowerSettings, Schedule, parse_hhmm};

use super::prices::{Price, PriceTable, SpotPrices};
use super::view::{ON_DEMAND, SPOT, is_running};

/// What prices the view.
pub struct Pricing<'a> {
    pub table: &'a PriceTable,
    pub spot: &'a SpotPrices,
    /// The environment's AWS region.
    pub region: &'a str,
}

/// A running sum of prices and why some are estimates.
#[derive(Default)]
struct Sum {
    hourly: f64,
    notes: BTreeSet<String>,
    /// What spot saves against on-demand, per hour.
    spot_saving: f64,
}

impl Pricing<'_> {
    fn price(&self, instance_type: &str, zone: &str, lifecycle: &str) -> Option<Price> {
        self.table.price(self.spot, self.region, instance_type, zone, lifecycle)
    }

    /// Adds one instance (or node) to `sum`; an unknown type is a note, not 0 silently.
    fn add(&self, sum: &mut Sum, what: &str, instance_type: Option<&str>, zone: &str, lifecycle: &str) -> Option<f64> {
        let Some(t) = instance_type.filter(|t| !t.is_empty()) else {
            sum.notes.insert(format!("{what}: instance type unknown, not counted"));
            return None;
        };
        let Some(p) = self.price(t, zone, lifecycle) else {
            sum.notes.insert(format!("{t}: no price known (not in mezame's table; set [prices] on_demand), not counted"));
            return None;
        };
        sum.hourly += p.hourly;
        if lifecycle == SPOT
            && p.estimated.is_none()
            && let Some(od) = self.table.on_demand(self.region, t)
        {
            sum.spot_saving += (od.hourly - p.hourly).max(0.0);
        }
        sum.notes.extend(p.estimated);
        Some(p.hourly)
    }

    fn add_node(&self, sum: &mut Sum, n: &mut NodeRow) {
        let lifecycle = n.capacity_type.clone().unwrap_or_else(|| ON_DEMAND.to_string());
        n.hourly =
            self.add(sum, &format!("node {}", n.name), n.instance_type.as_deref(), n.zone.as_deref().unwrap_or_default(), &lifecycle);
    }

    /// Prices `g`'s instances and nodes; its cost (and what its spot saves, per hour).
    fn group(&self, g: &mut Group) -> (Cost, f64) {
        let mut nodes = Sum::default();
        for n in &mut g.nodes {
            self.add_node(&mut nodes, n);
        }
        let sum = match g.kind {
            GroupKind::Nodegroup => nodes,
            GroupKind::Asg => {
                let mut sum = Sum::default();
                for i in &mut g.instances {
                    let mut one = Sum::default();
                    i.hourly = self.add(&mut one, &format!("instance {}", i.id), Some(&i.instance_type), &i.zone, &i.lifecycle);
                    if is_running(&i.state) {
                        sum.hourly += one.hourly;
                        sum.spot_saving += one.spot_saving;
                        sum.notes.extend(one.notes);
                    }
                }
                sum
            }
        };
        (Cost::of(sum.hourly, sum.notes.into_iter().collect()), sum.spot_saving)
    }

    /// The hourly price of one more instance of `g` while awake: the mean of
    /// those priced now, else its first instance type as its policy launches it.
    fn unit(&self, g: &Group) -> Option<Price> {
        let priced: Vec<f64> = match g.kind {
            GroupKind::Asg => g.instances.iter().filter(|i| is_running(&i.state)).filter_map(|i| i.hourly).collect(),
            GroupKind::Nodegroup => g.nodes.iter().filter_map(|n| n.hourly).collect(),
        };
        if !priced.is_empty() {
            return Some(Price { hourly: priced.iter().sum::<f64>() / priced.len() as f64, estimated: None });
        }
        let t = g.instance_types.first()?;
        let spot = match (&g.mix, g.kind) {
            (Some(m), _) => m.on_demand_percent_above_base < 100,
            (None, GroupKind::Nodegroup) => g.capacity_type == "SPOT",
            (None, GroupKind::Asg) => false,
        };
        let p = self.price(t, "", if spot { SPOT } else { ON_DEMAND })?;
        let why = format!("{}: nothing runs now; an instance priced as one {t}", g.name);
        Some(Price { hourly: p.hourly, estimated: Some(p.estimated.map(|e| format!("{why} ({e})")).unwrap_or(why)) })
    }
}

/// Prices every instance and node of `c`, and sets each group's cost and the environment's.
pub fn apply(c: &mut Capacity, p: &Pricing<'_>, settings: Option<&PowerSettings>) {
    let mut env = Sum::default();
    for g in &mut c.groups {
        let (cost, saving) = p.group(g);
        env.hourly += cost.hourly;
        env.spot_saving += saving;
        env.notes.extend(cost.notes.iter().map(|n| format!("{}: {n}", g.name)));
        g.cost = cost;
    }
    for n in &mut c.other_nodes {
        p.add_node(&mut env, n);
    }
    let asleep = settings.and_then(|s| s.schedule.as_ref()).map(asleep_hours_per_week);
    let sleep_saving = settings.zip(asleep).map(|(s, hours)| {
        let mut awake = Sum::default();
        for cg in s.capacity.iter().filter(|cg| !cg.always_on) {
            let Some(g) = c.groups.iter().find(|g| g.kind == cg.kind && g.name == cg.name) else {
                awake.notes.insert(format!("{}: not found in AWS, not counted", cg.name));
                continue;
            };
            if let Some(unit) = p.unit(g) {
                awake.hourly += unit.hourly * cg.desired.max(0) as f64;
                awake.notes.extend(unit.estimated);
            }
        }
        env.notes.extend(awake.notes.into_iter().map(|n| format!("sleep saving: {n}")));
        round2(awake.hourly * hours * HOURS_PER_MONTH / HOURS_PER_WEEK)
    });
    let (source, as_of) = p.table.source();
    c.cost = EnvCost {
        total: Cost::of(env.hourly, env.notes.into_iter().collect()),
        spot_saving_monthly: round2(env.spot_saving * HOURS_PER_MONTH),
        // Filled by `moves::assess`.
        spot_ready_saving_monthly: 0.0,
        sleep_saving_monthly: sleep_saving,
        asleep_hours_per_week: asleep,
        prices: PriceBasis {
            region: p.region.to_string(),
            on_demand_source: source.to_string(),
            on_demand_as_of: as_of.to_string(),
            overridden: p.table.overridden(),
            spot_described_at: p.spot.at,
            spot_error: p.spot.error.clone(),
        },
    };
}

const HOURS_PER_WEEK: f64 = 168.0;

/// Hours per week the schedule keeps the environment asleep: awake from
/// `wake` to `sleep` on each of its days (past midnight when `sleep` < `wake`).
pub fn asleep_hours_per_week(s: &Schedule) -> f64 {
    let (Some(wake), Some(sleep)) = (parse_hhmm(&s.wake), parse_hhmm(&s.sleep)) else { return 0.0 };
    let awake_minutes = if sleep > wake { sleep - wake } else { 24 * 60 - wake + sleep };
    let days = s.days.iter().collect::<BTreeSet<_>>().len() as f64;
    (HOURS_PER_WEEK - days * awake_minutes as f64 / 60.0).max(0.0)
}

/// To the cent.
pub(super) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests;
