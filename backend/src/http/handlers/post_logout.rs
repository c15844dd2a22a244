use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use mezame_shared::auth::LoggedOut;

use crate::app::App;
use crate::http::actor::Caller;
use crate::http::cookies;
use crate::http::error::ApiError;

/// Signs out: the session is deleted in the database (so on every replica at
/// once) and its cookie cleared.
#[utoipa::path(
    post, path = "/auth/logout", tag = "auth",
    responses(
        (status = 200, body = LoggedOut),
        (status = 401, description = "Not signed in", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn post_logout(State(app): State<App>, Caller(who): Caller) -> Result<Response, ApiError> {
    app.auth.logout(&who).await?;
    let mut r = Json(LoggedOut { redirect: "/signed-out".into() }).into_response();
    r.headers_mut().insert(header::SET_COOKIE, cookies::set(cookies::SESSION, "", "/", 0, app.auth.secure_cookies()));
    Ok(r)
}
