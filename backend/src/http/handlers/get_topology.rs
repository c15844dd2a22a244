use axum::http::HeaderMap;
use axum::response::Response;
use mezame_shared::topology::Topology;

use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;
use crate::http::served::answer;

/// The environment's topology, served from the watch cache (never a call to
/// the API server): Ingress → gateway → microservices → pods, with health,
/// HPAs, Argo CD state and the zero-downtime audit. `source` says whether the
/// view is live, and which kinds cannot be seen. Gzipped for clients that
/// accept it (compressed once per revision, not per request).
#[utoipa::path(
    get, path = "/api/envs/{env}/topology", tag = "topology",
    params(EnvPath),
    responses(
        (status = 200, body = Topology),
        (status = 404, description = "Unknown environment", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_topology(env: EnvPath, headers: HeaderMap) -> Result<Response, ApiError> {
    Ok(answer(env.live.feed.snapshot_body(), &headers))
}
