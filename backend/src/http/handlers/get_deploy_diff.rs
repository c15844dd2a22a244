use axum::Json;
use axum::extract::State;
use mezame_shared::deploys::DeployDiff;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::app::App;
use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;
use crate::http::extract::{Path, Query};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// A deploy's manifest commit (sha, or at least 7 of its first digits).
    from: String,
    /// Another deploy's manifest commit (older than `from`: the diff goes backwards).
    to: String,
}

/// What changed between two deploys of a microservice in `{env}`: the app
/// commits between their tags (newest first; going backwards, those it takes
/// away) and the manifest diff of the microservice's directory, per file (cut
/// at 256 KiB, said).
#[utoipa::path(
    get, path = "/api/envs/{env}/deploys/{ms}/diff", tag = "deploys",
    params(EnvPath, ("ms" = String, Path, description = "The microservice"), DiffQuery),
    responses(
        (status = 200, body = DeployDiff),
        (status = 400, description = "Not a sha, or a prefix naming several deploys", body = mezame_shared::error::ErrorBody),
        (status = 404, description = "Unknown environment, or no such deploy of the microservice", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_deploy_diff(
    State(app): State<App>,
    env: EnvPath,
    Path((_, ms)): Path<(String, String)>,
    Query(q): Query<DiffQuery>,
) -> Result<Json<DeployDiff>, ApiError> {
    Ok(Json(app.deploys()?.diff(env.name(), &ms, &q.from, &q.to).await?))
}
