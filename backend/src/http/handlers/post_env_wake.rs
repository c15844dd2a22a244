use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mezame_shared::power::{RunAction, RunStarted};

use crate::app::App;
use crate::http::actor::Caller;
use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;

/// Wakes the environment: databases, nodes (waiting until Ready), Argo CD and the load balancer controller, Argo CD settings, Ingresses (waiting for a hostname), workloads, sync policies, CronJobs, then waits until everything is healthy.
/// Answers 202 with the run's id at once; follow it with `GET /api/runs/{id}`
/// or its events. 409 (with `run_id`) if a run is already active.
#[utoipa::path(
    post, path = "/api/envs/{env}/wake", tag = "power",
    params(EnvPath),
    responses(
        (status = 202, body = RunStarted),
        (status = 400, description = "The environment has no power settings", body = mezame_shared::error::ErrorBody),
        (status = 401, description = "Not signed in", body = mezame_shared::error::ErrorBody),
        (status = 403, description = "Not an operator of the environment, or it is protected", body = mezame_shared::error::ErrorBody),
        (status = 404, description = "Unknown environment", body = mezame_shared::error::ErrorBody),
        (status = 409, description = "A run is already active (its id in `run_id`)", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn post_env_wake(State(app): State<App>, env: EnvPath, Caller(who): Caller) -> Result<(StatusCode, Json<RunStarted>), ApiError> {
    let started = app.lifecycle.start(&env.env, RunAction::Wake, &who.name).await?;
    Ok((StatusCode::ACCEPTED, Json(started)))
}
