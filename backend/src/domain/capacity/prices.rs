//! What an instance costs per hour.
//!
//! On-demand: the table shipped with mezame (`backend/data/ec2-on-demand.json`,
//! its source and date stated), a type overridden by the configuration's
//! `[prices] on_demand`. Spot: EC2's current spot price of the type in the
//! instance's zone (`DescribeSpotPriceHistory`, read in the background).
//! Whatever is not the market's own figure is said to be estimated, with why:
//! pricing spot at on-demand is the best-known bug of cost tools, so it is
//! never done silently.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use mezame_shared::capacity::Group;
use serde::Deserialize;

use super::view::SPOT;
use crate::domain::DomainError;

/// The shipped on-demand table.
const SHIPPED: &str = include_str!("../../../data/ec2-on-demand.json");

/// Priced as that region when the environment's is not in the table.
const FALLBACK_REGION: &str = "us-east-1";

#[derive(Debug, Deserialize)]
struct Shipped {
    source: String,
    as_of: String,
    /// Regions priced as another one.
    same_as: HashMap<String, String>,
    /// Region → instance type → USD per hour.
    regions: HashMap<String, HashMap<String, f64>>,
}

/// On-demand prices: the shipped table and the configuration's overrides.
#[derive(Debug)]
pub struct PriceTable {
    shipped: Shipped,
    /// Instance type → USD per hour, in every region.
    overrides: BTreeMap<String, f64>,
}

/// An hourly price, and why it is not the market's own figure (if it is not).
#[derive(Debug, Clone, PartialEq)]
pub struct Price {
    pub hourly: f64,
    pub estimated: Option<String>,
}

/// EC2's current spot prices, by (instance type, zone).
#[derive(Debug, Clone, Default)]
pub struct SpotPrices {
    pub by_type_zone: HashMap<(String, String), f64>,
    /// When they were read; `None` before the first answer.
    pub at: Option<DateTime<Utc>>,
    /// Why they could not be read, when they could not.
    pub error: Option<String>,
    /// The instance types asked for.
    pub asked: BTreeSet<String>,
}

/// Spot prices are read again after this long (they move a few times a day),
/// or when a group has a type not asked for yet, or the last read failed.
pub const SPOT_REFRESH: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

impl SpotPrices {
    /// Whether `types` need a new read.
    pub fn stale(&self, types: &BTreeSet<String>, now: DateTime<Utc>) -> bool {
        self.error.is_some() || self.at.is_none_or(|at| now - at > SPOT_REFRESH) || !types.is_subset(&self.asked)
    }

    /// The instance types of `groups`: those on spot are priced at EC2's spot
    /// price, and the on-demand ones too — what moving a microservice to spot saves.
    pub fn types_of(groups: &[Group]) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for g in groups {
            out.extend(g.instance_types.iter().cloned());
            out.extend(g.instances.iter().map(|i| i.instance_type.clone()));
        }
        out
    }
}

impl PriceTable {
    /// The shipped table with the configuration's overrides.
    pub fn new(overrides: BTreeMap<String, f64>) -> Result<PriceTable, DomainError> {
        let shipped: Shipped =
            serde_json::from_str(SHIPPED).map_err(|e| DomainError::Invalid(format!("the shipped on-demand price table: {e}")))?;
        Ok(PriceTable { shipped, overrides })
    }

    pub fn source(&self) -> (&str, &str) {
        (&self.shipped.source, &self.shipped.as_of)
    }

    pub fn overridden(&self) -> Vec<String> {
        self.overrides.keys().cloned().collect()
    }

    /// The on-demand price of `instance_type` in `region`.
    pub fn on_demand(&self, region: &str, instance_type: &str) -> Option<Price> {
        if let Some(p) = self.overrides.get(instance_type) {
            return Some(Price { hourly: *p, estimated: None });
        }
        let listed = self.shipped.same_as.get(region).map(String::as_str).unwrap_or(region);
        if let Some(p) = self.shipped.regions.get(listed).and_then(|r| r.get(instance_type)) {
            return Some(Price { hourly: *p, estimated: None });
        }
        let elsewhere = self.shipped.regions.get(FALLBACK_REGION).and_then(|r| r.get(instance_type))?;
        Some(Price {
            hourly: *elsewhere,
            estimated: Some(format!(
                "{instance_type} has no on-demand price for {region} in mezame's table: priced as in {FALLBACK_REGION} (set [prices] on_demand)"
            )),
        })
    }

    /// The price of an instance of `instance_type` in `zone`, `lifecycle`
    /// `spot` or `on-demand`: spot at EC2's price in that zone, else in
    /// another zone, else at on-demand — the last two estimated.
    pub fn price(&self, spot: &SpotPrices, region: &str, instance_type: &str, zone: &str, lifecycle: &str) -> Option<Price> {
        if lifecycle != SPOT {
            return self.on_demand(region, instance_type);
        }
        if let Some(p) = spot.by_type_zone.get(&(instance_type.to_string(), zone.to_string())) {
            return Some(Price { hourly: *p, estimated: None });
        }
        let other_zones: Vec<f64> = spot.by_type_zone.iter().filter(|((t, _), _)| t == instance_type).map(|(_, p)| *p).collect();
        if !other_zones.is_empty() {
            return Some(Price {
                hourly: other_zones.iter().sum::<f64>() / other_zones.len() as f64,
                estimated: Some(format!("no spot price of {instance_type} in {zone}: priced at its mean in the region's other zones")),
            });
        }
        let why = match &spot.error {
            Some(e) => format!("spot prices could not be read ({e})"),
            None if spot.at.is_none() => "spot prices not read yet".to_string(),
            None => format!("EC2 gave no spot price of {instance_type}"),
        };
        self.on_demand(region, instance_type).map(|p| Price {
            hourly: p.hourly,
            estimated: Some(format!("{why}: {instance_type} on spot priced at on-demand, an upper bound")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spot(prices: &[(&str, &str, f64)]) -> SpotPrices {
        SpotPrices {
            by_type_zone: prices.iter().map(|(t, z, p)| ((t.to_string(), z.to_string()), *p)).collect(),
            at: Some(Utc::now()),
            ..SpotPrices::default()
        }
    }

    #[test]
    fn on_demand_from_the_table_an_override_or_another_region_said_so() {
        let t = PriceTable::new(BTreeMap::from([("m5.large".to_string(), 0.05)])).unwrap();
        assert_eq!(t.on_demand("eu-west-1", "t3.large"), Some(Price { hourly: 0.0912, estimated: None }));
        assert_eq!(t.on_demand("us-west-2", "t3.large"), Some(Price { hourly: 0.0832, estimated: None }), "same as us-east-1");
        assert_eq!(t.on_demand("eu-west-1", "m5.large"), Some(Price { hourly: 0.05, estimated: None }), "the override wins");
        let far = t.on_demand("ap-south-1", "t3.large").unwrap();
        assert_eq!(far.hourly, 0.0832);
        assert!(far.estimated.is_some_and(|w| w.contains("ap-south-1") && w.contains("us-east-1")));
        assert_eq!(t.on_demand("eu-west-1", "x9.huge"), None);
        assert!(t.source().0.contains("On-Demand") && !t.source().1.is_empty());
    }

    #[test]
    fn spot_from_ec2_in_its_zone_else_estimated_never_silently_at_on_demand() {
        let t = PriceTable::new(BTreeMap::new()).unwrap();
        let s = spot(&[("t3.large", "eu-west-1a", 0.03), ("t3.large", "eu-west-1b", 0.05)]);
        assert_eq!(t.price(&s, "eu-west-1", "t3.large", "eu-west-1a", "spot"), Some(Price { hourly: 0.03, estimated: None }));
        let other = t.price(&s, "eu-west-1", "t3.large", "eu-west-1c", "spot").unwrap();
        assert!((other.hourly - 0.04).abs() < 1e-9 && other.estimated.is_some(), "{other:?}");
        let fallback = t.price(&s, "eu-west-1", "m5.large", "eu-west-1a", "spot").unwrap();
        assert_eq!(fallback.hourly, 0.107);
        assert!(fallback.estimated.is_some_and(|w| w.contains("priced at on-demand")), "marked");
        let failed = SpotPrices { error: Some("AccessDenied".into()), ..SpotPrices::default() };
        let w = t.price(&failed, "eu-west-1", "t3.large", "eu-west-1a", "spot").unwrap().estimated.unwrap();
        assert!(w.contains("AccessDenied"), "{w}");
        assert_eq!(t.price(&s, "eu-west-1", "t3.large", "eu-west-1a", "on-demand"), Some(Price { hourly: 0.0912, estimated: None }));
    }
}
