use axum::Json;
use axum::extract::State;
use mezame_shared::envs::EnvList;

use crate::app::App;
use crate::http::actor::Caller;

/// The environments the caller may see, each with the reachability of its Kubernetes
/// API server (version; nodes and Ready nodes from the watch cache once it is
/// synced, as every page shows them) and of its AWS account (STS identity).
///
/// All environments are checked in parallel, each bounded by `probe_timeout_ms`.
#[utoipa::path(
    get, path = "/api/envs", tag = "envs",
    responses((status = 200, body = EnvList))
)]
pub async fn get_env_list(State(app): State<App>, Caller(who): Caller) -> Json<EnvList> {
    let mut envs = app.envs.status_of(|env| who.role_in(&app.auth.access, env).is_some()).await;
    app.topologies.overlay_node_counts(&mut envs);
    Json(EnvList { envs })
}
