use axum::Json;
use axum::extract::State;
use mezame_shared::dora::Dora;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::app::App;
use crate::domain::DomainError;
use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;
use crate::http::extract::{Path, Query};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DoraQuery {
    /// `7d`, `30d` (the default) or `90d`, ending today.
    window: Option<String>,
}

/// DORA's four keys of a microservice in `{env}` over a window: deploys per
/// day, lead time for changes over every app commit shipped (with its CI,
/// first-environment and promotion parts), change failure rate (inferred:
/// rolled back, reverted, sync failed, rollout stuck) and recovery time.
#[utoipa::path(
    get, path = "/api/envs/{env}/deploys/{ms}/dora", tag = "deploys",
    params(EnvPath, ("ms" = String, Path, description = "The microservice"), DoraQuery),
    responses(
        (status = 200, body = Dora),
        (status = 400, description = "Not a window of 7d, 30d or 90d", body = mezame_shared::error::ErrorBody),
        (status = 404, description = "Unknown environment or microservice", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_deploy_dora(
    State(app): State<App>,
    env: EnvPath,
    Path((_, ms)): Path<(String, String)>,
    Query(q): Query<DoraQuery>,
) -> Result<Json<Dora>, ApiError> {
    let window = q.window.as_deref().unwrap_or("30d");
    let days = window
        .strip_suffix('d')
        .and_then(|d| d.parse::<u32>().ok())
        .ok_or_else(|| DomainError::Invalid(format!("window must be one of 7d, 30d or 90d, got {window:?}")))?;
    Ok(Json(app.deploys()?.dora(&app.topologies, env.name(), &ms, days).await?))
}
