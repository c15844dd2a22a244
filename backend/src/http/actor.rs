//! Who is acting: the user an authenticating proxy in front of mezame names
//! (`X-Forwarded-User`, as oauth2-proxy sets it), else `anonymous`, with the
//! groups it passes (`X-Forwarded-Groups`, comma-separated), for the audit log
//! and the environments' `power_operators`.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::domain::Who;

pub struct Actor(pub Who);

fn header<'h>(headers: &'h HeaderMap, names: &[&str]) -> Option<&'h str> {
    names
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 4000)
}

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let name = header(&parts.headers, &["x-forwarded-user", "x-auth-request-user", "x-forwarded-email"])
            .filter(|u| u.len() <= 200)
            .unwrap_or("anonymous")
            .to_string();
        let groups = header(&parts.headers, &["x-forwarded-groups", "x-auth-request-groups"])
            .map(|g| g.split(',').map(str::trim).filter(|g| !g.is_empty()).map(str::to_string).collect())
            .unwrap_or_default();
        Ok(Actor(Who { name, groups }))
    }
}
