use axum::Json;
use axum::extract::State;
use mezame_shared::auth::Confirm;
use mezame_shared::capacity::NodeCordon;

use crate::app::App;
use crate::http::actor::Caller;
use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;
use crate::http::extract::{JsonOrEmpty, Path};

/// Cordons a node (`spec.unschedulable: true`, as `kubectl cordon`): no new
/// pod is scheduled on it; its pods keep running. A node already cordoned is
/// left alone (`changed: false`). Audited (`node.cordon`). In a protected
/// environment it needs an admin and `{"confirm": "<env name>"}`.
#[utoipa::path(
    post, path = "/api/envs/{env}/nodes/{node}/cordon", tag = "capacity",
    params(EnvPath, ("node" = String, Path, description = "Node name")),
    request_body(content = Confirm, description = "`{}`, or `{\"confirm\": \"prod\"}` in a protected environment"),
    responses(
        (status = 200, body = NodeCordon),
        (status = 400, description = "Not a node name, or a protected environment not confirmed", body = mezame_shared::error::ErrorBody),
        (status = 404, description = "Unknown environment or node", body = mezame_shared::error::ErrorBody),
        (status = 503, description = "The API server could not be reached or refused", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn post_node_cordon(
    State(app): State<App>,
    env: EnvPath,
    Path((_, node)): Path<(String, String)>,
    Caller(who): Caller,
    JsonOrEmpty(body): JsonOrEmpty<Confirm>,
) -> Result<Json<NodeCordon>, ApiError> {
    Ok(Json(app.capacities.cordon(&env.env, &node, true, &who.name, body.confirm.as_deref()).await?))
}
