use axum::Json;
use mezame_shared::meta::Live;

/// Liveness: the process answers HTTP. It reads nothing else — not the
/// database —, so a database blip makes replicas unready (`/api/health`),
/// never restarted.
#[utoipa::path(
    get, path = "/api/live", tag = "meta",
    responses((status = 200, description = "The server answers", body = Live))
)]
pub async fn get_live() -> Json<Live> {
    Json(Live { status: "ok".into() })
}
