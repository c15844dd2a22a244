//! Who is acting, for the audit log: the user an authenticating proxy in
//! front of mezame names (`X-Forwarded-User`, as oauth2-proxy sets it), else
//! `anonymous`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

pub struct Actor(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let user = ["x-forwarded-user", "x-auth-request-user", "x-forwarded-email"]
            .iter()
            .find_map(|h| parts.headers.get(*h).and_then(|v| v.to_str().ok()))
            .map(str::trim)
            .filter(|u| !u.is_empty() && u.len() <= 200);
        Ok(Actor(user.unwrap_or("anonymous").to_string()))
    }
}
