use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mezame_shared::capacity::{DrainPreflight, DrainRequest};
use mezame_shared::power::RunStarted;

use crate::app::App;
use crate::domain::capacity::drain::{self, Drained};
use crate::http::actor::Caller;
use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;
use crate::http::extract::{JsonOrEmpty, Path};

/// Drains a node: cordons it, evicts its pods through the Eviction API
/// (PodDisruptionBudgets honoured: a refused eviction is retried with backoff
/// until `drain_timeout_secs`, then the run fails naming the budget that
/// blocks), then waits until they are gone; DaemonSet, static and finished
/// pods stay. Answers 202 with the run's id at once — a run like a wake:
/// followed with `GET /api/runs/{id}` or its events, cancelled, retried,
/// resumed after a restart; 409 if a run is active in the environment.
/// `{"dry_run": true}` answers 200 with the preflight instead (what would be
/// evicted, what stays, budgets that allow no disruption now, pods without a
/// controller, emptyDir data, pods not Ready) and changes nothing. In a
/// protected environment it needs an admin and `"confirm": "<env name>"`.
/// Audited (`node.drain`).
#[utoipa::path(
    post, path = "/api/envs/{env}/nodes/{node}/drain", tag = "capacity",
    params(EnvPath, ("node" = String, Path, description = "Node name")),
    request_body(content = DrainRequest, description = "`{}`; `{\"dry_run\": true}` for the preflight; `\"confirm\": \"prod\"` in a protected environment"),
    responses(
        (status = 200, description = "The preflight (dry run): nothing changed", body = DrainPreflight),
        (status = 202, description = "The drain run, started", body = RunStarted),
        (status = 400, description = "Not a node name, or a protected environment not confirmed", body = mezame_shared::error::ErrorBody),
        (status = 404, description = "Unknown environment or node", body = mezame_shared::error::ErrorBody),
        (status = 409, description = "A run is already active in the environment (its id in `run_id`)", body = mezame_shared::error::ErrorBody),
        (status = 503, description = "The API server could not be reached", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn post_node_drain(
    State(app): State<App>,
    env: EnvPath,
    Path((_, node)): Path<(String, String)>,
    Caller(who): Caller,
    JsonOrEmpty(body): JsonOrEmpty<DrainRequest>,
) -> Result<Response, ApiError> {
    Ok(match drain::request(&app.lifecycle, &env.env, &node, body, &who.name).await? {
        Drained::Preview(p) => Json(p).into_response(),
        Drained::Started(r) => (StatusCode::ACCEPTED, Json(r)).into_response(),
    })
}
