use axum::extract::State;
use mezame_shared::power::{KeepAwake, KeepAwakeSet};

use crate::app::App;
use crate::http::actor::Caller;
use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;
use crate::http::extract::Json;

/// Keeps the environment awake until the next `HH:MM` in its time zone (its
/// schedule's, else UTC): scheduled sleeps before then are skipped, and at
/// that time it is put to sleep. `{"until": null}` removes it; a sleep ends it.
#[utoipa::path(
    put, path = "/api/envs/{env}/keep-awake", tag = "power",
    params(EnvPath),
    request_body = KeepAwake,
    responses(
        (status = 200, body = KeepAwakeSet),
        (status = 400, description = "Not a time; nothing changed", body = mezame_shared::error::ErrorBody),
        (status = 403, description = "The environment is protected", body = mezame_shared::error::ErrorBody),
        (status = 404, description = "Unknown environment", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn put_keep_awake(
    State(app): State<App>,
    env: EnvPath,
    Caller(who): Caller,
    Json(body): Json<KeepAwake>,
) -> Result<axum::Json<KeepAwakeSet>, ApiError> {
    let until = app.lifecycle.keep_awake(&env.env, body.until.as_deref(), &who.name).await?;
    Ok(axum::Json(KeepAwakeSet { env: env.name().to_string(), until }))
}
