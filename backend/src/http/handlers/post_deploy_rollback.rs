use axum::Json;
use axum::extract::State;
use mezame_shared::deploys::{DeployChange, RollbackRequest};

use crate::app::App;
use crate::http::actor::Caller;
use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;
use crate::http::extract::{Json as JsonBody, Path};

/// Rolls a microservice back in `{env}` to the tag of an earlier deploy
/// (`to_deploy`: its manifest commit): a new manifest commit restoring that
/// tag, on the same branch rule as a promotion. Unlike Argo CD's own rollback
/// it survives auto-sync and self-heal — git says the old tag now. It shows in
/// the chain as a rollback with the reason typed, and freezes promotions of the
/// microservice into `{env}` until the freeze is lifted or a promotion says
/// `unfreeze`. Refused, the repository untouched: no reason, no such deploy,
/// nothing to change, a push the remote refuses. Needs operate in `{env}`
/// (admin and `confirm` in a protected one). Audited (`deploy.rollback`).
#[utoipa::path(
    post, path = "/api/envs/{env}/deploys/{ms}/rollback", tag = "deploys",
    params(EnvPath, ("ms" = String, Path, description = "The microservice")),
    request_body = RollbackRequest,
    responses(
        (status = 200, description = "Committed (or, with dry_run, what would be)", body = DeployChange),
        (status = 400, description = "No reason, not a sha, a protected environment not confirmed", body = mezame_shared::error::ErrorBody),
        (status = 403, description = "Not allowed in {env}", body = mezame_shared::error::ErrorBody),
        (status = 404, description = "Unknown environment, microservice or deploy", body = mezame_shared::error::ErrorBody),
        (status = 409, description = "Nothing to change, or the remote refused the push", body = mezame_shared::error::ErrorBody),
        (status = 503, description = "The manifest repository cannot be fetched", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn post_deploy_rollback(
    State(app): State<App>,
    env: EnvPath,
    Path((_, ms)): Path<(String, String)>,
    Caller(who): Caller,
    JsonBody(req): JsonBody<RollbackRequest>,
) -> Result<Json<DeployChange>, ApiError> {
    Ok(Json(app.deploys()?.rollback(&env.env, &app.topologies, &ms, req, &who.name).await?))
}
