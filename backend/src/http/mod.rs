//! The HTTP layer: routes, the OpenAPI document, error shape, metrics, the UI.
//!
//! Every route is registered through `utoipa_axum::routes!`, which adds the
//! handler to the router *and* its `#[utoipa::path]` to the OpenAPI document,
//! so the document lists exactly the routes the router has.

pub mod actor;
pub mod assets;
pub mod error;
pub mod extract;
mod handlers;
pub mod lookup;
pub mod metrics;

use std::any::Any;
use std::sync::Arc;

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router, middleware};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;
use error::ApiError;
use handlers::*;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mezame",
        description = "Control panel for microservice platforms on AWS EKS delivered by GitOps."
    ),
    tags(
        (name = "meta", description = "The server itself"),
        (name = "envs", description = "Environments and their reachability"),
        (name = "topology", description = "What runs where: the live topology of an environment"),
        (name = "jobs", description = "CronJobs and their runs"),
        (name = "power", description = "Waking environments and putting them to sleep"),
        (name = "audit", description = "The audit log of actions"),
        (name = "debug", description = "Diagnostics, mounted only with `debug_routes = true`"),
    )
)]
struct ApiDoc;

/// The routes and their OpenAPI document.
fn api(debug_routes: bool) -> OpenApiRouter<App> {
    let mut api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(get_health::get_health))
        .routes(routes!(get_version::get_version))
        .routes(routes!(get_openapi::get_openapi))
        .routes(routes!(get_metrics::get_metrics))
        .routes(routes!(get_env_list::get_env_list))
        .routes(routes!(get_topology::get_topology))
        .routes(routes!(get_topology_events::get_topology_events))
        .routes(routes!(get_service::get_service))
        .routes(routes!(get_cronjob_list::get_cronjob_list))
        .routes(routes!(post_cronjob_run::post_cronjob_run))
        .routes(routes!(get_power::get_power, put_power::put_power))
        .routes(routes!(put_keep_awake::put_keep_awake))
        .routes(routes!(post_env_wake::post_env_wake))
        .routes(routes!(post_env_sleep::post_env_sleep))
        .routes(routes!(get_run_list::get_run_list))
        .routes(routes!(get_run::get_run))
        .routes(routes!(get_run_events::get_run_events))
        .routes(routes!(post_run_cancel::post_run_cancel))
        .routes(routes!(post_run_retry::post_run_retry))
        .routes(routes!(get_audit::get_audit));
    if debug_routes {
        api = api
            .routes(routes!(debug::post_echo))
            .routes(routes!(debug::get_panic))
            .routes(routes!(debug::put_clock));
    }
    api
}

/// The OpenAPI document of a server started with the given `debug_routes`.
pub fn openapi(debug_routes: bool) -> utoipa::openapi::OpenApi {
    api(debug_routes).split_for_parts().1
}

/// The whole application: API, metrics, UI, and the layers around them.
pub fn router(app: App) -> Router {
    // Install the Prometheus recorder before the first request is counted.
    metrics::handle();
    let (api, doc) = api(app.config.debug_routes).split_for_parts();
    api.method_not_allowed_fallback(method_not_allowed)
        .fallback(fallback)
        .layer(Extension(Arc::new(doc)))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn(metrics::track))
        .layer(TraceLayer::new_for_http())
        .with_state(app)
}

/// Unknown `/api` routes get a JSON 404; every other path is the UI's.
async fn fallback(uri: Uri) -> Response {
    if uri.path() == "/api" || uri.path().starts_with("/api/") {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "route_not_found",
            format!("no API route {}; see /api/openapi.json for the list", uri.path()),
        )
        .into_response()
    } else {
        assets::serve(uri).await
    }
}

async fn method_not_allowed(method: axum::http::Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} does not accept {method}", uri.path()),
    )
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = detail, "handler panicked");
    ApiError::internal(format!("internal error: the request handler failed ({detail}); see the server log"))
        .into_response()
}
