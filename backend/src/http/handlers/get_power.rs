use axum::Json;
use axum::extract::State;
use mezame_shared::power::Power;

use crate::app::App;
use crate::domain::auth::{Perm, Scope, authorize};
use crate::domain::lifecycle::state::Asker;
use crate::http::actor::Caller;
use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;
use mezame_shared::auth::Role;

/// The environment's power settings and its state, derived from the cluster
/// and the AWS account (Awake, Asleep, Waking, Sleeping, Partially awake with
/// what differs, Failed with why), and the expected durations of a wake and a sleep.
#[utoipa::path(
    get, path = "/api/envs/{env}/power", tag = "power",
    params(EnvPath),
    responses(
        (status = 200, body = Power),
        (status = 404, description = "Unknown environment", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_power(State(app): State<App>, env: EnvPath, Caller(who): Caller) -> Result<Json<Power>, ApiError> {
    let e = &env.env;
    let access = &app.auth.access;
    let scope = Scope::Env { name: &e.config.name, protected: e.config.protected };
    let asker = Asker {
        may_operate: authorize(access, Some(&who), Perm::Operate, scope).is_ok(),
        may_configure: authorize(access, Some(&who), Perm::Configure, scope).is_ok(),
        who_may: access.who_may(Role::Operator, &e.config.name),
    };
    Ok(Json(app.lifecycle.power(e, asker).await?))
}
