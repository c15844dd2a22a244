//! Prometheus metrics: request count and latency per route; with
//! `debug_routes`, each answer's server times in a header.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The process-wide recorder; installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets(&[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
            .expect("static buckets are valid")
            .install_recorder()
            .expect("the metrics recorder is installed once")
    })
}

/// Middleware: counts and times every request, labelled by the route pattern
/// (`/api/envs/{env}`), not the concrete path, so label cardinality stays bounded.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| if req.uri().path().starts_with("/api/") { "unmatched".to_owned() } else { "ui".to_owned() });
    let method = req.method().to_string();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("mezame_http_requests_total", &labels).increment(1);
    metrics::histogram!("mezame_http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    response
}

/// The header of [`timing`].
pub const TIMING: &str = "x-mezame-timing";

/// Middleware, mounted with `debug_routes` only: the machine's monotonic
/// clock (ns) when the request entered the server's middleware and when its
/// answer left it, as `x-mezame-timing: <entry> <exit>`. A bench on the same
/// machine splits each client's latency in three: the request's way in (the
/// server's connection task waiting for a core included), the server, and the
/// answer's way out to the client.
pub async fn timing(req: Request, next: Next) -> Response {
    let entry = crate::telemetry::clock(libc::CLOCK_MONOTONIC).as_nanos();
    let mut response = next.run(req).await;
    let exit = crate::telemetry::clock(libc::CLOCK_MONOTONIC).as_nanos();
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!("{entry} {exit}")) {
        response.headers_mut().insert(TIMING, v);
    }
    response
}
