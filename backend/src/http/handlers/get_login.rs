use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::app::App;
use crate::http::cookies;
use crate::http::error::ApiError;
use crate::http::extract::Query;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LoginQuery {
    /// The page to come back to after signing in (a path of this site).
    return_to: Option<String>,
}

/// Starts mezame's own sign-in: redirects to the OpenID Connect issuer
/// (authorization code flow with PKCE), with a short cookie binding the
/// sign-in to this browser.
#[utoipa::path(
    get, path = "/auth/login", tag = "auth",
    params(LoginQuery),
    responses(
        (status = 303, description = "To the issuer's sign-in page"),
        (status = 404, description = "mezame's own sign-in is not configured", body = mezame_shared::error::ErrorBody),
        (status = 503, description = "The issuer cannot be reached", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_login(State(app): State<App>, Query(q): Query<LoginQuery>) -> Result<Response, ApiError> {
    let start = app.auth.begin_login(q.return_to.as_deref()).await?;
    let mut r = StatusCode::SEE_OTHER.into_response();
    let h = r.headers_mut();
    h.insert(
        header::LOCATION,
        HeaderValue::from_str(&start.redirect).map_err(|_| ApiError::internal("the issuer's URL is not a valid header"))?,
    );
    h.insert(header::SET_COOKIE, cookies::set(cookies::LOGIN, &start.state, "/auth", 600, app.auth.secure_cookies()));
    Ok(r)
}
