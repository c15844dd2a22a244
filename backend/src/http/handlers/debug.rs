//! Diagnostic routes, mounted only with `debug_routes = true`: the end-to-end
//! tests use them to prove that a malformed body and a panicking handler are
//! answered with the JSON error shape, that slow requests meet the request
//! timeout and the concurrency limit, and to move the scheduler's clock.

use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::extract;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Echo {
    pub message: String,
}

/// Answers the body it was given; rejects anything that is not `{"message": string}`.
#[utoipa::path(
    post, path = "/api/debug/echo", tag = "debug",
    request_body = Echo,
    responses(
        (status = 200, body = Echo),
        (status = 400, body = mezame_shared::error::ErrorBody),
        (status = 422, body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn post_echo(extract::Json(body): extract::Json<Echo>) -> Json<Echo> {
    Json(body)
}

/// Panics, to prove that a panic becomes a JSON 500 and the server lives on.
#[utoipa::path(
    get, path = "/api/debug/panic", tag = "debug",
    responses((status = 500, body = mezame_shared::error::ErrorBody))
)]
pub async fn get_panic() -> &'static str {
    panic!("deliberate panic from /api/debug/panic")
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetClock {
    /// RFC 3339; the scheduler's clock runs on from there.
    pub now: chrono::DateTime<chrono::Utc>,
}

/// Moves the scheduler's clock, so a test can see a schedule fire at a chosen
/// local time (e.g. across a DST change) without waiting for it.
#[utoipa::path(
    put, path = "/api/debug/clock", tag = "debug",
    request_body = SetClock,
    responses((status = 200, body = SetClock))
)]
pub async fn put_clock(
    axum::extract::State(app): axum::extract::State<crate::app::App>,
    extract::Json(body): extract::Json<SetClock>,
) -> Json<SetClock> {
    app.lifecycle.clock.set(body.now);
    Json(body)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SleepQuery {
    /// How long to take, in milliseconds (at most 60000).
    pub ms: u64,
}

/// Answers after `ms` milliseconds: a slow request, on demand.
#[utoipa::path(
    get, path = "/api/debug/sleep", tag = "debug",
    params(SleepQuery),
    responses((status = 200, body = Echo), (status = 503, body = mezame_shared::error::ErrorBody))
)]
pub async fn get_sleep(extract::Query(q): extract::Query<SleepQuery>) -> Json<Echo> {
    tokio::time::sleep(std::time::Duration::from_millis(q.ms.min(60_000))).await;
    Json(Echo { message: format!("slept {} ms", q.ms.min(60_000)) })
}

/// How long the last topology rebuilds of one environment took.
#[derive(Debug, Serialize, ToSchema)]
pub struct Rebuilds {
    pub env: String,
    /// The number of the next rebuild: `?since=` it later reads the rebuilds made meanwhile.
    pub next: u64,
    /// Rebuilds measured (numbered `since` and after, of the last 1024).
    pub count: usize,
    /// Wall time (at a low priority, on a busy machine mostly waiting for a core).
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// CPU time of the rebuild thread: what a rebuild costs.
    pub cpu_p50_ms: f64,
    pub cpu_p99_ms: f64,
    /// Those that built every microservice, by why (a kind's resource, `relist`,
    /// `unreachable`); the others built only the microservices their updates touched.
    pub whole: std::collections::BTreeMap<String, usize>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RebuildsQuery {
    /// Only the rebuilds numbered this and after (`next` of an earlier answer).
    #[serde(default)]
    pub since: u64,
}

/// The topology rebuild times per environment (for `cargo xtask bench topology`).
#[utoipa::path(
    get, path = "/api/debug/rebuilds", tag = "debug",
    params(RebuildsQuery),
    responses((status = 200, body = [Rebuilds]))
)]
pub async fn get_rebuilds(
    axum::extract::State(app): axum::extract::State<crate::app::App>,
    extract::Query(q): extract::Query<RebuildsQuery>,
) -> Json<Vec<Rebuilds>> {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    Json(
        app.envs
            .names()
            .filter_map(|env| app.topologies.get(env).map(|live| (env, live.rebuilds.summary(q.since))))
            .map(|(env, s)| Rebuilds {
                env: env.to_string(),
                next: s.next,
                count: s.count,
                p50_ms: ms(s.p50),
                p99_ms: ms(s.p99),
                cpu_p50_ms: ms(s.cpu_p50),
                cpu_p99_ms: ms(s.cpu_p99),
                whole: s.whole.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            })
            .collect(),
    )
}
