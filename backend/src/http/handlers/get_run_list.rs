use axum::Json;
use axum::extract::State;
use mezame_shared::power::RunList;

use crate::app::App;
use crate::http::error::ApiError;
use crate::http::extract::Path;
use crate::http::lookup;

/// The environment's last 20 wake and sleep runs, newest first, with their steps.
#[utoipa::path(
    get, path = "/api/envs/{env}/runs", tag = "power",
    params(("env" = String, Path, description = "Environment name")),
    responses(
        (status = 200, body = RunList),
        (status = 404, description = "Unknown environment", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_run_list(State(app): State<App>, Path(env): Path<String>) -> Result<Json<RunList>, ApiError> {
    lookup::env(&app, &env)?;
    let runs = app.lifecycle.runs(&env, 20).await?;
    Ok(Json(RunList { env, runs }))
}
