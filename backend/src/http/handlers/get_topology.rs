use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use mezame_shared::topology::Topology;

use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;

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
    let live = env.live;
    let body = live.feed.snapshot_body();
    let gzip = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|e| e.trim().split(';').next() == Some("gzip")));
    let mut response = if gzip { Body::from(body.gzip) } else { Body::from(body.json) }.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Ok(response)
}
