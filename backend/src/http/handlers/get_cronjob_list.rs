use axum::Json;
use axum::extract::State;
use mezame_shared::cronjobs::CronJobList;

use crate::app::App;
use crate::domain::cronjobs;
use crate::http::error::ApiError;
use crate::http::extract::Path;
use crate::http::lookup;

/// The environment's CronJobs: schedule, time zone, suspended, last schedule
/// and last success, and their recent Jobs with outcome and duration.
#[utoipa::path(
    get, path = "/api/envs/{env}/cronjobs", tag = "jobs",
    params(("env" = String, Path, description = "Environment name")),
    responses(
        (status = 200, body = CronJobList),
        (status = 404, description = "Unknown environment", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_cronjob_list(State(app): State<App>, Path(env): Path<String>) -> Result<Json<CronJobList>, ApiError> {
    let (_, live) = lookup::env(&app, &env)?;
    Ok(Json(cronjobs::list(&live)))
}
