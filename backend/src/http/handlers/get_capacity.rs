use axum::Json;
use axum::extract::State;
use mezame_shared::capacity::Capacity;

use crate::app::App;
use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;

/// The environment's node capacity: every EKS managed node group and every
/// Auto Scaling group tagged `kubernetes.io/cluster/<cluster>` (sizes, status,
/// MixedInstancesPolicy, instances with their EC2 lifecycle), the Kubernetes
/// nodes under each (joined by the node group label or the `providerID`'s
/// instance id) with their pods and requests vs allocatable, the declared vs
/// actual on-demand/spot mix, warnings and totals. AWS is described in the
/// background (`described_at`, `aws_error`); the nodes and pods come from the
/// topology's watch cache: no request goes to AWS or the API server.
#[utoipa::path(
    get, path = "/api/envs/{env}/capacity", tag = "capacity",
    params(EnvPath),
    responses(
        (status = 200, body = Capacity),
        (status = 404, description = "Unknown environment", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_capacity(State(app): State<App>, env: EnvPath) -> Result<Json<Capacity>, ApiError> {
    let settings = app.lifecycle.settings(&env.env).await?;
    Ok(Json(app.capacities.view(&env.env, &env.live, settings.as_ref())))
}
