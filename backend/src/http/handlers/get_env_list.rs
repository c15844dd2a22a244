use axum::Json;
use axum::extract::State;
use mezame_shared::envs::EnvList;

use crate::app::App;
use crate::http::actor::Caller;

/// The environments the caller may see, each with the reachability of its Kubernetes
/// API server (version, nodes) and of its AWS account (STS identity).
///
/// All environments are checked in parallel, each bounded by `probe_timeout_ms`.
#[utoipa::path(
    get, path = "/api/envs", tag = "envs",
    responses((status = 200, body = EnvList))
)]
pub async fn get_env_list(State(app): State<App>, Caller(who): Caller) -> Json<EnvList> {
    Json(EnvList { envs: app.envs.status_of(|env| who.role_in(&app.auth.access, env).is_some()).await })
}
