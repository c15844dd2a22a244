//! The guard every route passes (a route layer, so it knows the matched
//! route): browser safety for mutations, then who is asking, then the
//! permission the route declared when it was added ([`super::Api::add`]), in
//! the environment the request concerns (`{env}`, or the run `{id}` names).
//!
//! Mutations (POST, PUT, PATCH, DELETE) are refused when a browser says they
//! come from another site (`Origin`, `Sec-Fetch-Site`), and need
//! `Content-Type: application/json` (`{}` when there is nothing to say): a
//! cross-site HTML form can send neither.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::RequestPartsExt;
use axum::extract::{ConnectInfo, MatchedPath, RawPathParams, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::cookies;
use super::env_path::EnvPath;
use super::error::ApiError;
use crate::app::App;
use crate::domain::DomainError;
use crate::domain::auth::{Credentials, Denied, Perm, Scope, authorize};

/// Permission of each route: `(method, path pattern)` → [`Perm`].
pub type Table = HashMap<(Method, String), Perm>;

/// The state of the guard layer.
#[derive(Clone)]
pub struct Guard {
    pub app: App,
    pub table: Arc<Table>,
}

fn is_mutation(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// `host[:port]` of an origin URL (`https://a.example:8443` → `a.example:8443`).
fn authority(origin: &str) -> Option<&str> {
    origin.split_once("://").map(|(_, rest)| rest.trim_end_matches('/'))
}

/// Refuses a mutation a browser sends from another site, or without a JSON body type.
fn browser_safety(app: &App, method: &Method, headers: &HeaderMap) -> Result<(), ApiError> {
    if !is_mutation(method) {
        return Ok(());
    }
    let text = |h: header::HeaderName| headers.get(h).and_then(|v| v.to_str().ok());
    let cross = |why: String| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_site",
            format!("refused: {why}. Mutations are accepted only from mezame's own pages or from programs (which send no Origin)"),
        )
    };
    if let Some(origin) = text(header::ORIGIN) {
        let own = [text(header::HOST), authority(&app.auth.public_url)];
        if origin == "null" || !authority(origin).is_some_and(|a| own.contains(&Some(a))) {
            return Err(cross(format!("the request comes from {origin}, another site")));
        }
    } else if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Err(cross(format!("the browser says it comes from a {site} page")));
    }
    let json = text(header::CONTENT_TYPE)
        .is_some_and(|ct| ct.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json")));
    if !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("{method} needs Content-Type: application/json (send {{}} when there is nothing to say)"),
        ));
    }
    Ok(())
}

/// What the request carries that may identify its sender.
fn credentials<'a>(headers: &'a HeaderMap, cookie: Option<&'a str>, peer: Option<SocketAddr>) -> Credentials<'a> {
    let text = |h: &str| headers.get(h).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty() && v.len() <= 16_000);
    Credentials {
        bearer: text("authorization").and_then(|a| a.strip_prefix("Bearer ").or_else(|| a.strip_prefix("bearer "))).map(str::trim),
        session: cookie,
        alb_data: text("x-amzn-oidc-data"),
        forwarded_user: text("x-forwarded-user").or_else(|| text("x-auth-request-user")),
        forwarded_groups: text("x-forwarded-groups").or_else(|| text("x-auth-request-groups")),
        peer: peer.map(|p| p.ip()),
    }
}

fn unauthenticated(message: String) -> Response {
    let mut r = ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message).into_response();
    r.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer realm=\"mezame\""));
    r
}

/// The route layer.
pub async fn guard(State(g): State<Guard>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let Some(path) = parts.extensions.get::<MatchedPath>().map(|p| p.as_str().to_string()) else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let method = if parts.method == Method::HEAD { Method::GET } else { parts.method.clone() };
    let Some(&perm) = g.table.get(&(method, path.clone())) else {
        return ApiError::internal(format!("route {} {path} declares no permission", parts.method)).into_response();
    };
    if let Err(e) = browser_safety(&g.app, &parts.method, &parts.headers) {
        return e.into_response();
    }
    // A signed route's handler checks the signature before anything else.
    if !matches!(perm, Perm::Public | Perm::Signed) {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
        let cookie = cookies::get(&parts.headers, cookies::SESSION);
        let who = match g.app.auth.authenticate(&credentials(&parts.headers, cookie.as_deref(), peer)).await {
            Ok(w) => w,
            Err(DomainError::Unauthenticated(m)) => return unauthenticated(format!("{m}; {}", crate::domain::auth::guard::SIGN_IN)),
            Err(e) => return ApiError::from(e).into_response(),
        };
        let params = parts.extract::<RawPathParams>().await.ok();
        let param = |name: &str| params.as_ref().and_then(|p| p.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string()));
        let env_name = match (param("env"), param("id")) {
            (Some(env), _) => Some(env),
            (None, Some(id)) if path.starts_with("/api/runs/") => match id.parse::<i64>() {
                Ok(id) => g.app.lifecycle.run_env(id).await.ok().flatten(),
                Err(_) => None,
            },
            _ => None,
        };
        let names: Vec<&str> = g.app.envs.names().collect();
        // Resolved once: the handler's `EnvPath` takes it from the extensions.
        // An environment that does not exist is the handler's 404, after a check in any environment.
        let resolved = env_name.as_deref().and_then(|n| EnvPath::resolve(&g.app, n).ok());
        let scope = match &resolved {
            Some(e) => Scope::Env { name: &e.env.config.name, protected: e.env.config.protected },
            None => Scope::AnyOf(&names),
        };
        match authorize(&g.app.auth.access, who.as_ref(), perm, scope) {
            Ok(()) => {}
            Err(Denied::Unauthenticated(m)) => return unauthenticated(m),
            Err(Denied::Forbidden(m)) => return ApiError::new(StatusCode::FORBIDDEN, "forbidden", m).into_response(),
        }
        if let Some(who) = who {
            parts.extensions.insert(who);
        }
        if let Some(env) = resolved
            && param("env").is_some()
        {
            parts.extensions.insert(env);
        }
    }
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn authority_of_an_origin() {
        assert_eq!(super::authority("https://a.example:8443"), Some("a.example:8443"));
        assert_eq!(super::authority("http://127.0.0.1:8080/"), Some("127.0.0.1:8080"));
        assert_eq!(super::authority("null"), None);
    }
}
