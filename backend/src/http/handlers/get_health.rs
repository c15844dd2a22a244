use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mezame_shared::meta::Health;

use crate::app::App;

/// Liveness and database health.
#[utoipa::path(
    get, path = "/api/health", tag = "meta",
    responses(
        (status = 200, description = "Server and database are healthy", body = Health),
        (status = 503, description = "The database does not answer", body = Health),
    )
)]
pub async fn get_health(State(app): State<App>) -> (StatusCode, Json<Health>) {
    match app.db.ping().await {
        Ok(()) => (StatusCode::OK, Json(Health { status: "ok".into(), database: "ok".into() })),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, Json(Health { status: "degraded".into(), database: e.to_string() })),
    }
}
