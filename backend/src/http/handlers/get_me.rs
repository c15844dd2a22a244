use axum::Json;
use axum::extract::State;
use mezame_shared::auth::{EnvRole, Me, Via};

use crate::app::App;
use crate::http::actor::Caller;

/// Who is signed in, how, and their role in each environment.
#[utoipa::path(
    get, path = "/api/me", tag = "auth",
    responses(
        (status = 200, body = Me),
        (status = 401, description = "Not signed in", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_me(State(app): State<App>, Caller(who): Caller) -> Json<Me> {
    let roles = app.envs.names().map(|env| EnvRole { env: env.to_string(), role: who.role_in(&app.auth.access, env) }).collect();
    Json(Me {
        may_create_tokens: !matches!(who.via, Via::Token),
        banner: app.auth.off.then(|| {
            "Sign-in is off (auth = \"none\"): anyone who can reach this address acts as an admin. Configure [auth] before sharing it."
                .to_string()
        }),
        sign_in: app.auth.oidc.as_ref().is_some_and(|o| o.login),
        name: who.name,
        groups: who.groups,
        via: who.via,
        roles,
    })
}
