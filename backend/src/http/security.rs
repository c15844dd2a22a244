//! Layers around every request: security headers on every answer (a CSP
//! that lets this WASM app run and nothing else, no framing, no sniffing, no
//! referrer), and limits — at most `max_concurrent_requests` at once (more
//! are answered 503 at once, not queued) and `request_timeout_secs` per
//! request (event streams excepted: they are bounded by `max_event_streams`).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::error::ApiError;
use crate::config::Config;

/// The headers added to every answer.
#[derive(Clone)]
pub struct Headers(Arc<Vec<(HeaderName, HeaderValue)>>);

/// The Content-Security-Policy: scripts from this origin only, compiled
/// WebAssembly allowed (`'wasm-unsafe-eval'`, not `'unsafe-eval'`), no inline
/// script, requests only to this origin, never framed.
pub const CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

impl Headers {
    pub fn new(public_url: &str) -> Headers {
        let mut h = vec![
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
            (HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin")),
        ];
        if public_url.starts_with("https://") {
            h.push((header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000")));
        }
        Headers(Arc::new(h))
    }
}

pub async fn headers(State(h): State<Headers>, request: Request, next: Next) -> Response {
    let api = request.uri().path().starts_with("/api/") || request.uri().path().starts_with("/auth/");
    let mut response = next.run(request).await;
    let out = response.headers_mut();
    for (k, v) in h.0.iter() {
        out.insert(k.clone(), v.clone());
    }
    if api && !out.contains_key(header::CACHE_CONTROL) {
        out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Concurrency and time limits.
#[derive(Clone)]
pub struct Limits {
    slots: Arc<Semaphore>,
    max: usize,
    timeout: Duration,
}

impl Limits {
    pub fn new(config: &Config) -> Limits {
        Limits {
            slots: Arc::new(Semaphore::new(config.max_concurrent_requests)),
            max: config.max_concurrent_requests,
            timeout: Duration::from_secs(config.request_timeout_secs),
        }
    }
}

/// Whether a path is an event stream (long-lived by design).
fn is_stream(path: &str) -> bool {
    path.ends_with("/events")
}

pub async fn limits(State(l): State<Limits>, request: Request, next: Next) -> Response {
    let Ok(_slot) = l.slots.clone().try_acquire_owned() else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            format!("the server is answering {} requests already; try again in a moment", l.max),
        )
        .into_response();
    };
    if is_stream(request.uri().path()) {
        return next.run(request).await;
    }
    let what = format!("{} {}", request.method(), request.uri().path());
    match tokio::time::timeout(l.timeout, next.run(request)).await {
        Ok(r) => r,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("{what} took longer than {} s and was abandoned (request_timeout_secs)", l.timeout.as_secs()),
        )
        .into_response(),
    }
}

/// A place for one more event stream on this server (`max_event_streams`),
/// held as long as the stream lives; 503 when there is none.
pub fn stream_slot(app: &crate::app::App) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
    app.streams.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too_many_streams",
            format!("this server has {} event streams open (max_event_streams); try again shortly", app.config.max_event_streams),
        )
    })
}
