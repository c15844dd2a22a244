use axum::Json;
use axum::extract::State;
use mezame_shared::auth::SessionList;

use crate::app::App;
use crate::http::actor::Caller;
use crate::http::error::ApiError;
use crate::http::extract::Query;
use crate::http::handlers::get_token_list::AllQuery;

/// The caller's sign-in sessions (everyone's with `all`, for an admin of every environment).
#[utoipa::path(
    get, path = "/api/sessions", tag = "auth",
    params(AllQuery),
    responses(
        (status = 200, body = SessionList),
        (status = 403, description = "`all` without being an admin of every environment", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_session_list(
    State(app): State<App>,
    Caller(who): Caller,
    Query(q): Query<AllQuery>,
) -> Result<Json<SessionList>, ApiError> {
    let envs: Vec<&str> = app.envs.names().collect();
    Ok(Json(SessionList { sessions: app.auth.sessions(&who, q.all(), &envs).await? }))
}
