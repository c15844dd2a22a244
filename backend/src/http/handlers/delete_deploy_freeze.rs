use axum::Json;
use axum::extract::State;
use mezame_shared::auth::Confirm;
use mezame_shared::deploys::Freeze;

use crate::app::App;
use crate::http::actor::Caller;
use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;
use crate::http::extract::{JsonOrEmpty, Path};

/// Lifts the freeze a rollback left on a microservice's promotions into
/// `{env}`; answers the freeze lifted. Needs operate in `{env}` (admin and
/// `confirm` in a protected one). Audited (`deploy.unfreeze`).
#[utoipa::path(
    delete, path = "/api/envs/{env}/deploys/{ms}/freeze", tag = "deploys",
    params(EnvPath, ("ms" = String, Path, description = "The microservice")),
    request_body(content = Confirm, description = "`{}`, or `{\"confirm\": \"prod\"}` in a protected environment"),
    responses(
        (status = 200, body = Freeze),
        (status = 400, description = "A protected environment not confirmed", body = mezame_shared::error::ErrorBody),
        (status = 404, description = "Unknown environment, or not frozen", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn delete_deploy_freeze(
    State(app): State<App>,
    env: EnvPath,
    Path((_, ms)): Path<(String, String)>,
    Caller(who): Caller,
    JsonOrEmpty(body): JsonOrEmpty<Confirm>,
) -> Result<Json<Freeze>, ApiError> {
    Ok(Json(app.deploys()?.lift_freeze(&env.env, &ms, &who.name, body.confirm.as_deref()).await?))
}
