//! EC2's current spot prices (`DescribeSpotPriceHistory` from now: the price
//! in effect per instance type and zone), for the capacity view's cost.

use std::collections::HashMap;
use std::time::SystemTime;

use aws_sdk_ec2::primitives::DateTime;
use aws_sdk_ec2::types::InstanceType;

use super::{Account, sdk_error};
use crate::adapters::AdapterError;
use crate::adapters::waited::TimedExt;

/// The spot price of one instance type in one zone, USD per hour.
#[derive(Debug, Clone, PartialEq)]
pub struct SpotQuote {
    pub instance_type: String,
    pub zone: String,
    pub hourly: f64,
}

/// Linux spot prices (the "(Amazon VPC)" variant is how older accounts see them).
const PRODUCTS: [&str; 2] = ["Linux/UNIX", "Linux/UNIX (Amazon VPC)"];

impl Account {
    /// The spot price now of each of `types` in each zone that offers it:
    /// the newest record per type and zone.
    pub async fn spot_prices(&self, types: &[String]) -> Result<Vec<SpotQuote>, AdapterError> {
        if types.is_empty() {
            return Ok(Vec::new());
        }
        let client = aws_sdk_ec2::Client::new(&self.ops());
        let mut pages = client
            .describe_spot_price_history()
            .set_instance_types(Some(types.iter().map(|t| InstanceType::from(t.as_str())).collect()))
            .set_product_descriptions(Some(PRODUCTS.map(String::from).to_vec()))
            .start_time(DateTime::from(SystemTime::now()))
            .into_paginator()
            .send();
        // (type, zone) → (timestamp, price)
        let mut newest: HashMap<(String, String), (Option<DateTime>, f64)> = HashMap::new();
        while let Some(page) = pages.next().timed().await {
            let page = page.map_err(|e| sdk_error("ec2:DescribeSpotPriceHistory", &types.join(","), e))?;
            for p in page.spot_price_history() {
                let (Some(t), Some(zone), Some(price)) = (p.instance_type(), p.availability_zone(), p.spot_price()) else { continue };
                let Ok(hourly) = price.parse::<f64>() else { continue };
                let at = p.timestamp().cloned();
                let key = (t.as_str().to_string(), zone.to_string());
                let older = newest.get(&key).is_some_and(|(seen, _)| seen.map(|s| s.secs()) > at.map(|a| a.secs()));
                if !older {
                    newest.insert(key, (at, hourly));
                }
            }
        }
        let mut out: Vec<SpotQuote> =
            newest.into_iter().map(|((instance_type, zone), (_, hourly))| SpotQuote { instance_type, zone, hourly }).collect();
        out.sort_by(|a, b| (&a.instance_type, &a.zone).cmp(&(&b.instance_type, &b.zone)));
        Ok(out)
    }
}
