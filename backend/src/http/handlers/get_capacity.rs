use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use mezame_shared::capacity::Capacity;

use crate::app::App;
use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;
use crate::http::served::answer;

/// The environment's node capacity: every EKS managed node group and every
/// Auto Scaling group tagged `kubernetes.io/cluster/<cluster>` (sizes, status,
/// MixedInstancesPolicy, instances with their EC2 lifecycle), the Kubernetes
/// nodes under each (joined by the node group label or the `providerID`'s
/// instance id) with their pods and requests vs allocatable, the declared vs
/// actual on-demand/spot mix, warnings and totals. AWS is described in the
/// background (`described_at`, `aws_error`); the nodes and pods come from the
/// topology's watch cache: no request goes to AWS or the API server. Answered
/// at once from the last view made: after a change a new one is made in the
/// background and `…/capacity/events` cues when it is there. Gzipped for
/// clients that accept it (serialized once per change, not per request).
#[utoipa::path(
    get, path = "/api/envs/{env}/capacity", tag = "capacity",
    params(EnvPath),
    responses(
        (status = 200, body = Capacity),
        (status = 404, description = "Unknown environment", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_capacity(State(app): State<App>, env: EnvPath, headers: HeaderMap) -> Result<Response, ApiError> {
    let settings = app.lifecycle.settings(&env.env).await?;
    // The first view is made here, O(pods): off the async workers.
    let (capacities, EnvPath { env, live }) = (app.capacities.clone(), env);
    let served = tokio::task::spawn_blocking(move || capacities.view(&env, &live, settings))
        .await
        .map_err(|e| ApiError::internal(format!("making the capacity view: {e}")))?;
    Ok(answer(served, &headers))
}
