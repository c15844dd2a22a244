//! CloudWatch: the requests a load balancer took (`AWS/ApplicationELB`
//! `RequestCount`, summed per minute) — what idle sleep watches.

use chrono::{DateTime, Utc};

use super::{Account, sdk_error};
use crate::adapters::AdapterError;
use crate::adapters::waited::TimedExt;

impl Account {
    /// The minutes between `from` and `to` in which the load balancer `arn`
    /// took requests: (start of the minute, requests), oldest first.
    pub async fn load_balancer_requests(
        &self,
        arn: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, f64)>, AdapterError> {
        use aws_sdk_cloudwatch::primitives::DateTime as AwsTime;
        use aws_sdk_cloudwatch::types::{Dimension, Statistic};
        // The metric's dimension is the ARN's end: `app/<name>/<id>`.
        let id = arn.split_once(":loadbalancer/").map_or(arn, |(_, id)| id);
        let client = aws_sdk_cloudwatch::Client::new(&self.ops());
        let out = client
            .get_metric_statistics()
            .namespace("AWS/ApplicationELB")
            .metric_name("RequestCount")
            .dimensions(Dimension::builder().name("LoadBalancer").value(id).build())
            .start_time(AwsTime::from_secs(from.timestamp()))
            .end_time(AwsTime::from_secs(to.timestamp()))
            .period(60)
            .statistics(Statistic::Sum)
            .send()
            .timed()
            .await
            .map_err(|e| sdk_error("cloudwatch:GetMetricStatistics", id, e))?;
        let mut minutes: Vec<(DateTime<Utc>, f64)> = out
            .datapoints()
            .iter()
            .filter_map(|d| Some((DateTime::<Utc>::from_timestamp(d.timestamp()?.secs(), 0)?, d.sum()?)))
            .filter(|(_, n)| *n > 0.0)
            .collect();
        minutes.sort_by_key(|(t, _)| *t);
        Ok(minutes)
    }
}
