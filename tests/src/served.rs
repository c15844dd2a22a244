//! Server-side request times, read from a panel's own Prometheus histogram
//! (`mezame_http_request_duration_seconds`: timed by its middleware from the
//! request's entry to the response returned — authentication and handler,
//! not the socket). Beside a client's latency it tells the server's part from
//! the rest (the client, the kernel, waiting for a core).

/// Cumulative counts of one route's requests by upper bound (seconds; the
/// last bound is `+Inf`).
#[derive(Clone, Debug, Default)]
pub struct Histogram {
    buckets: Vec<(f64, u64)>,
}

impl Histogram {
    /// The histogram of `GET route` answered 200, from the panel's `/metrics`.
    pub async fn read(http: &reqwest::Client, metrics_url: &str, route: &str) -> Histogram {
        let text = http.get(metrics_url).send().await.unwrap().error_for_status().unwrap().text().await.unwrap();
        Histogram::parse(&text, route)
    }

    fn parse(text: &str, route: &str) -> Histogram {
        let route = format!("route=\"{route}\"");
        let mut buckets: Vec<(f64, u64)> = text
            .lines()
            .filter(|l| l.starts_with("mezame_http_request_duration_seconds_bucket{"))
            .filter(|l| l.contains(&route) && l.contains("method=\"GET\"") && l.contains("status=\"200\""))
            .filter_map(|l| {
                let le = l.split("le=\"").nth(1)?.split('"').next()?;
                let le = if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? };
                Some((le, l.rsplit(' ').next()?.parse().ok()?))
            })
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        Histogram { buckets }
    }

    /// The requests counted after `earlier` was read.
    pub fn since(&self, earlier: &Histogram) -> Histogram {
        let before = |le: f64| earlier.buckets.iter().find(|b| b.0 == le).map_or(0, |b| b.1);
        Histogram { buckets: self.buckets.iter().map(|&(le, n)| (le, n - before(le))).collect() }
    }

    pub fn count(&self) -> u64 {
        self.buckets.last().map_or(0, |b| b.1)
    }

    /// The share of requests that took longer than `bound_ms` (a bucket bound).
    pub fn share_over(&self, bound_ms: f64) -> f64 {
        let within = self.buckets.iter().find(|b| (b.0 * 1000.0 - bound_ms).abs() < 1e-9).map_or(0, |b| b.1);
        if self.count() == 0 { 0.0 } else { 1.0 - within as f64 / self.count() as f64 }
    }

    /// The upper bound (ms) of the bucket the `q` quantile falls in: the
    /// quantile is at most this.
    pub fn quantile_bound_ms(&self, q: f64) -> f64 {
        let rank = (self.count() as f64 * q).ceil() as u64;
        self.buckets.iter().find(|b| b.1 >= rank).map_or(f64::NAN, |b| b.0 * 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Histogram;

    const TEXT: &str = r#"# TYPE mezame_http_request_duration_seconds histogram
mezame_http_request_duration_seconds_bucket{method="GET",route="/api/envs/{env}/topology",status="200",le="0.005"} 90
mezame_http_request_duration_seconds_bucket{method="GET",route="/api/envs/{env}/topology",status="200",le="0.01"} 198
mezame_http_request_duration_seconds_bucket{method="GET",route="/api/envs/{env}/topology",status="200",le="0.025"} 200
mezame_http_request_duration_seconds_bucket{method="GET",route="/api/envs/{env}/topology",status="200",le="+Inf"} 200
mezame_http_request_duration_seconds_bucket{method="GET",route="/api/envs/{env}/topology",status="404",le="+Inf"} 7
mezame_http_request_duration_seconds_bucket{method="GET",route="/api/envs",status="200",le="+Inf"} 9
"#;

    #[test]
    fn reads_one_routes_buckets_and_their_difference() {
        let route = "/api/envs/{env}/topology";
        let now = Histogram::parse(TEXT, route);
        assert_eq!(now.count(), 200);
        assert_eq!(now.quantile_bound_ms(0.5), 10.0);
        assert_eq!(now.quantile_bound_ms(0.99), 10.0);
        assert_eq!(now.quantile_bound_ms(1.0), 25.0);
        assert!((now.share_over(10.0) - 0.01).abs() < 1e-9);
        let earlier = Histogram::parse(&TEXT.replace("} 90", "} 40").replace("} 198", "} 100").replace("} 200", "} 100"), route);
        let round = now.since(&earlier);
        assert_eq!(round.count(), 100);
        assert_eq!(round.quantile_bound_ms(0.5), 5.0);
        assert!((round.share_over(10.0) - 0.02).abs() < 1e-9);
    }
}
