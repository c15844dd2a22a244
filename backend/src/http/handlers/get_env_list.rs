use axum::Json;
use axum::extract::State;
use mezame_shared::envs::EnvList;

use crate::app::App;
use crate::domain::dns::card::public_of;
use crate::http::actor::Caller;

/// The environments the caller may see, each with the reachability of its Kubernetes
/// API server (version; nodes and Ready nodes from the watch cache once it is
/// synced, as every page shows them) and of its AWS account (STS identity);
/// with `[env.dns]`, its public hostnames and where its zone points them.
///
/// All environments are checked in parallel (the DNS reads too), each bounded by `probe_timeout_ms`.
#[utoipa::path(
    get, path = "/api/envs", tag = "envs",
    responses((status = 200, body = EnvList))
)]
pub async fn get_env_list(State(app): State<App>, Caller(who): Caller) -> Json<EnvList> {
    let visible = |env: &str| who.role_in(&app.auth.access, env).is_some();
    let names: Vec<String> = app.envs.names().filter(|n| visible(n)).map(str::to_string).collect();
    let timeout = std::time::Duration::from_millis(app.config.probe_timeout_ms);
    let (mut envs, mut public) = tokio::join!(app.envs.status_of(visible), public_of(&app.envs, &app.topologies, &app.db, &names, timeout));
    app.topologies.overlay_node_counts(&mut envs);
    for e in &mut envs {
        e.public = public.remove(&e.name);
    }
    Json(EnvList { envs })
}
