use axum::Json;
use axum::extract::State;
use mezame_shared::power::Run;

use crate::app::App;
use crate::http::actor::Caller;
use crate::http::error::ApiError;
use crate::http::extract::Path;

/// Runs a failed or cancelled run again from its first step not done (steps already done are not repeated). 409 if it is not failed or cancelled, or another run is active.
#[utoipa::path(
    post, path = "/api/runs/{id}/retry", tag = "power",
    params(("id" = i64, Path, description = "Run id")),
    responses(
        (status = 200, body = Run),
        (status = 404, description = "Unknown run", body = mezame_shared::error::ErrorBody),
        (status = 409, description = "Not possible in the run's state", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn post_run_retry(State(app): State<App>, Path(id): Path<i64>, Caller(who): Caller) -> Result<Json<Run>, ApiError> {
    Ok(Json(app.lifecycle.retry(id, &who.name).await?))
}
