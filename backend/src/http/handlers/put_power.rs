use axum::extract::State;
use mezame_shared::power::PowerSettings;

use crate::app::App;
use crate::http::actor::Caller;
use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;
use crate::http::extract::Json;

/// Replaces the environment's power settings. Validated first (min ≤ desired ≤
/// max, sizes ≥ 0, EKS managed max ≥ 1, node groups and Auto Scaling groups
/// that exist, days, `HH:MM` times, IANA time zone): a 400 changes nothing.
/// Settings may only narrow what the configuration allows the environment
/// (its own EKS cluster's groups, instances tagged for it, DNS-1123
/// namespaces): a 422 changes nothing. A protected environment answers 403.
#[utoipa::path(
    put, path = "/api/envs/{env}/power", tag = "power",
    params(EnvPath),
    request_body = PowerSettings,
    responses(
        (status = 200, body = PowerSettings),
        (status = 400, description = "Invalid settings; nothing changed", body = mezame_shared::error::ErrorBody),
        (status = 403, description = "Not an admin of the environment, or it is protected", body = mezame_shared::error::ErrorBody),
        (status = 422, description = "Settings outside what the configuration allows this environment (another cluster's groups, untagged instances); nothing changed", body = mezame_shared::error::ErrorBody),
        (status = 404, description = "Unknown environment", body = mezame_shared::error::ErrorBody),
        (status = 503, description = "AWS could not be asked whether the groups exist", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn put_power(
    State(app): State<App>,
    env: EnvPath,
    Caller(who): Caller,
    Json(settings): Json<PowerSettings>,
) -> Result<axum::Json<PowerSettings>, ApiError> {
    Ok(axum::Json(app.lifecycle.put_settings(&env.env, settings, &who.name).await?))
}
