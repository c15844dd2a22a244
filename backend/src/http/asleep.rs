//! Requests for an environment's public hostname: while it sleeps, its DNS
//! points at mezame (`[env.dns] asleep_target`), so they arrive here. A page
//! (GET, HEAD) is sent to the asleep page `/asleep/{env}` on the panel's own
//! URL; anything else is answered 503 with where to wake it.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::app::App;

pub async fn redirect(State(app): State<App>, request: Request, next: Next) -> Response {
    let Some(host) = foreign_host(&app, &request) else { return next.run(request).await };
    let Some(env) = crate::domain::dns::env_of_host(&app.envs, &app.db, &host).await else { return next.run(request).await };
    let page = format!("{}/asleep/{env}", app.auth.public_url);
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        let mut r = StatusCode::TEMPORARY_REDIRECT.into_response();
        if let Ok(v) = HeaderValue::from_str(&page) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        return r;
    }
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "asleep", format!("{host} belongs to {env}, which is asleep: wake it at {page}"))
        .into_response()
}

/// The request's host when it is neither an address nor the panel's own host
/// (only those can be an environment's public hostname).
fn foreign_host(app: &App, request: &Request) -> Option<String> {
    let host = request.headers().get(header::HOST)?.to_str().ok()?;
    let name = host.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(n, _)| n);
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let own = app.auth.public_url.split_once("://").map(|(_, r)| r.split(['/', ':']).next().unwrap_or_default().to_ascii_lowercase());
    let is_address = name.parse::<std::net::IpAddr>().is_ok() || name.starts_with('[') || name == "localhost";
    (!is_address && own.as_deref() != Some(name.as_str()) && app.envs.iter().any(|e| e.config.dns.is_some())).then_some(name)
}
