use axum::Json;
use axum::extract::State;
use mezame_shared::auth::TokenList;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::app::App;
use crate::http::actor::Caller;
use crate::http::error::ApiError;
use crate::http::extract::Query;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AllQuery {
    /// Everyone's, not only the caller's (an admin of every environment).
    #[serde(default)]
    all: bool,
}

impl AllQuery {
    pub fn all(&self) -> bool {
        self.all
    }
}

/// The caller's API tokens (never their secrets), with their last use.
#[utoipa::path(
    get, path = "/api/tokens", tag = "auth",
    params(AllQuery),
    responses(
        (status = 200, body = TokenList),
        (status = 403, description = "`all` without being an admin of every environment", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_token_list(State(app): State<App>, Caller(who): Caller, Query(q): Query<AllQuery>) -> Result<Json<TokenList>, ApiError> {
    let envs: Vec<&str> = app.envs.names().collect();
    Ok(Json(TokenList { tokens: app.auth.tokens(&who, q.all(), &envs).await? }))
}
