use axum::Json;
use axum::extract::State;
use mezame_shared::power::RunList;

use crate::app::App;
use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;

/// The environment's last 20 wake and sleep runs, newest first, with their steps.
#[utoipa::path(
    get, path = "/api/envs/{env}/runs", tag = "power",
    params(EnvPath),
    responses(
        (status = 200, body = RunList),
        (status = 404, description = "Unknown environment", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_run_list(State(app): State<App>, env: EnvPath) -> Result<Json<RunList>, ApiError> {
    let runs = app.lifecycle.runs(&env.env, 20).await?;
    Ok(Json(RunList { env: env.name().to_string(), runs }))
}
