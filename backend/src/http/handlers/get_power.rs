use axum::Json;
use axum::extract::State;
use mezame_shared::power::Power;

use crate::app::App;
use crate::http::actor::Actor;
use crate::http::error::ApiError;
use crate::http::extract::Path;
use crate::http::lookup;

/// The environment's power settings and its state, derived from the cluster
/// and the AWS account (Awake, Asleep, Waking, Sleeping, Partially awake with
/// what differs, Failed with why), and the expected durations of a wake and a sleep.
#[utoipa::path(
    get, path = "/api/envs/{env}/power", tag = "power",
    params(("env" = String, Path, description = "Environment name")),
    responses(
        (status = 200, body = Power),
        (status = 404, description = "Unknown environment", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_power(State(app): State<App>, Path(env): Path<String>, Actor(who): Actor) -> Result<Json<Power>, ApiError> {
    let (e, _) = lookup::env(&app, &env)?;
    Ok(Json(app.lifecycle.power(&e, &who).await?))
}
