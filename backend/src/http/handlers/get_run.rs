use axum::Json;
use axum::extract::State;
use mezame_shared::power::Run;

use crate::app::App;
use crate::http::error::ApiError;
use crate::http::extract::Path;

/// One run with its steps: state, attempts, times, message, what each changed.
#[utoipa::path(
    get, path = "/api/runs/{id}", tag = "power",
    params(("id" = i64, Path, description = "Run id")),
    responses(
        (status = 200, body = Run),
        (status = 404, description = "Unknown run", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_run(State(app): State<App>, Path(id): Path<i64>) -> Result<Json<Run>, ApiError> {
    Ok(Json(app.lifecycle.run(id).await?))
}
