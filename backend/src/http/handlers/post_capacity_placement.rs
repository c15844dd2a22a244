use axum::Json;
use axum::extract::State;
use mezame_shared::deploys::{DeployChange, PlacementRequest};

use crate::app::App;
use crate::http::actor::Caller;
use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;
use crate::http::extract::{Json as JsonBody, Path};

/// Moves a microservice's pods in `{env}` to spot (`spot: true`) or back to
/// on-demand: one manifest commit adding to each of its Deployments' pod
/// template a marked block that tolerates the spot nodes' taint and prefers
/// their label (`[git] spot_taint`, `spot_label`), or taking that block out —
/// never a live patch, which Argo CD would revert. Same branch rule as a
/// promotion: straight onto the deployed branch for a `[git] direct`
/// environment, else a new branch for a person to merge. Refused, the
/// repository untouched: already there (409), a pod template with
/// tolerations or affinity of its own (422), a protected environment not
/// confirmed. Needs operate in `{env}` (admin and `confirm` in a protected
/// one). Audited (`capacity.spot`, `capacity.on_demand`).
#[utoipa::path(
    post, path = "/api/envs/{env}/capacity/placement/{ms}", tag = "capacity",
    params(EnvPath, ("ms" = String, Path, description = "The microservice")),
    request_body = PlacementRequest,
    responses(
        (status = 200, description = "Committed (or, with dry_run, what would be)", body = DeployChange),
        (status = 400, description = "A protected environment not confirmed", body = mezame_shared::error::ErrorBody),
        (status = 403, description = "Not allowed in {env}", body = mezame_shared::error::ErrorBody),
        (status = 404, description = "Unknown environment or microservice, or no manifests of it there", body = mezame_shared::error::ErrorBody),
        (status = 409, description = "Already there, or the remote refused the push", body = mezame_shared::error::ErrorBody),
        (status = 422, description = "Its manifests cannot be moved by mezame (said why)", body = mezame_shared::error::ErrorBody),
        (status = 503, description = "The manifest repository cannot be fetched", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn post_capacity_placement(
    State(app): State<App>,
    env: EnvPath,
    Path((_, ms)): Path<(String, String)>,
    Caller(who): Caller,
    JsonBody(req): JsonBody<PlacementRequest>,
) -> Result<Json<DeployChange>, ApiError> {
    Ok(Json(app.deploys()?.place(&env.env, &app.topologies, &ms, req, &who.name).await?))
}
