//! The platform's traffic as CloudWatch sees it: every minute, each load
//! balancer of the environment's controller took some requests (its
//! `RequestCount`), while it exists — what mezame's idle sleep reads.

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::aws::{Aws, put_requests};

/// Requests per minute each load balancer takes.
const PER_MINUTE: f64 = 120.0;

pub struct Traffic {
    aws: Aws,
    last: Option<Instant>,
}

impl Traffic {
    pub fn new(aws: Aws) -> Traffic {
        Traffic { aws, last: None }
    }

    pub async fn reconcile(&mut self) -> Result<()> {
        if self.last.is_some_and(|l| l.elapsed() < Duration::from_secs(60)) {
            return Ok(());
        }
        self.last = Some(Instant::now());
        let lbs = self.aws.elb.describe_load_balancers().send().await?;
        for arn in lbs.load_balancers().iter().filter_map(|lb| lb.load_balancer_arn()) {
            put_requests(&self.aws, arn, chrono::Utc::now(), PER_MINUTE).await?;
        }
        Ok(())
    }
}
