use axum::Json;
use axum::extract::State;
use mezame_shared::power::Run;

use crate::app::App;
use crate::http::actor::Caller;
use crate::http::error::ApiError;
use crate::http::extract::Path;

/// Asks a running run to stop: it stops before its next step, or inside the wait it is in. 409 if it is not running.
#[utoipa::path(
    post, path = "/api/runs/{id}/cancel", tag = "power",
    params(("id" = i64, Path, description = "Run id")),
    responses(
        (status = 200, body = Run),
        (status = 404, description = "Unknown run", body = mezame_shared::error::ErrorBody),
        (status = 409, description = "Not possible in the run's state", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn post_run_cancel(State(app): State<App>, Path(id): Path<i64>, Caller(who): Caller) -> Result<Json<Run>, ApiError> {
    Ok(Json(app.lifecycle.cancel(id, &who.name).await?))
}
