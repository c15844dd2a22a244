use axum::Json;
use mezame_shared::cronjobs::CronJobList;

use crate::domain::cronjobs;
use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;

/// The environment's CronJobs: schedule, time zone, suspended, last schedule
/// and last success, and their recent Jobs with outcome and duration.
#[utoipa::path(
    get, path = "/api/envs/{env}/cronjobs", tag = "jobs",
    params(EnvPath),
    responses(
        (status = 200, body = CronJobList),
        (status = 404, description = "Unknown environment", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_cronjob_list(env: EnvPath) -> Result<Json<CronJobList>, ApiError> {
    let live = env.live;
    Ok(Json(cronjobs::list(&live)))
}
