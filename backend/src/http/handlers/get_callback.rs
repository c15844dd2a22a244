use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::app::App;
use crate::http::cookies;
use crate::http::error::ApiError;
use crate::http::extract::Query;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    /// The issuer that answers (RFC 9207): must be the configured one.
    iss: Option<String>,
    /// Set by the issuer when the sign-in did not happen.
    error: Option<String>,
    error_description: Option<String>,
}

/// Where the issuer sends the browser back: checks the state against the
/// browser's cookie, exchanges the code (with the PKCE verifier), verifies the
/// ID token (signature, issuer, audience, expiry, nonce), creates a session and
/// redirects to the page the sign-in started from.
#[utoipa::path(
    get, path = "/auth/callback", tag = "auth",
    params(CallbackQuery),
    responses(
        (status = 303, description = "Signed in: to the page the sign-in started from, with the session cookie"),
        (status = 401, description = "The sign-in failed or was not started in this browser", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_callback(State(app): State<App>, Query(q): Query<CallbackQuery>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(e) = q.error {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "sign_in_failed",
            format!("the issuer did not sign you in: {e}{}", q.error_description.map(|d| format!(" ({d})")).unwrap_or_default()),
        ));
    }
    let (Some(code), Some(state)) = (q.code, q.state) else {
        return Err(ApiError::bad_request("the issuer's answer has no code or state"));
    };
    let cookie = cookies::get(&headers, cookies::LOGIN);
    let agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    let done = app.auth.complete_login(&code, &state, q.iss.as_deref(), cookie.as_deref(), agent).await?;
    let secure = app.auth.secure_cookies();
    let mut r = StatusCode::SEE_OTHER.into_response();
    let h = r.headers_mut();
    h.insert(header::LOCATION, HeaderValue::from_str(&done.return_to).unwrap_or(HeaderValue::from_static("/")));
    h.append(header::SET_COOKIE, cookies::set(cookies::SESSION, &done.secret, "/", app.auth.session.max_hours * 3600, secure));
    h.append(header::SET_COOKIE, cookies::set(cookies::LOGIN, "", "/auth", 0, secure));
    Ok(r)
}
