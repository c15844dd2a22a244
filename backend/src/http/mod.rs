//! The HTTP layer: routes, the OpenAPI document, error shape, metrics, the UI.
//!
//! Every route is registered through `Api::add(permission, routes!(…))`:
//! `routes!` adds the handler to the router *and* its `#[utoipa::path]` to the
//! OpenAPI document (so the document lists exactly the routes the router has),
//! and `add` records the permission the route needs — in the guard's table and
//! as the operation's `x-mezame-permission` — so no route exists without one.

pub mod actor;
mod asleep;
pub mod assets;
pub mod cookies;
mod cues;
pub mod env_path;
pub mod error;
pub mod extract;
pub mod guard;
mod handlers;
pub mod metrics;
pub mod security;
mod served;

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router, middleware};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use crate::app::App;
use crate::domain::auth::Perm;
use error::ApiError;
use handlers::*;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mezame",
        description = "Control panel for microservice platforms on AWS EKS delivered by GitOps. \
            Every operation but health and sign-in needs a signed-in session (cookie) or `Authorization: Bearer <API token>`; \
            each operation's `x-mezame-permission` says what it needs (read: viewer, operate: operator — admin in a protected \
            environment, configure: admin; signed: no sign-in, an HMAC signature of the body instead). Mutations need `Content-Type: application/json`."
    ),
    tags(
        (name = "meta", description = "The server itself"),
        (name = "auth", description = "Sign-in, who am I, API tokens and sessions"),
        (name = "envs", description = "Environments and their reachability"),
        (name = "topology", description = "What runs where: the live topology of an environment"),
        (name = "deploys", description = "Deploys as chains: app commit → image → manifest commit → Argo CD sync → rollout"),
        (name = "capacity", description = "Node groups, Auto Scaling groups and their nodes: sizes, the on-demand/spot mix"),
        (name = "jobs", description = "CronJobs and their runs"),
        (name = "power", description = "Waking environments and putting them to sleep"),
        (name = "audit", description = "The audit log of actions"),
        (name = "debug", description = "Diagnostics, mounted only with `debug_routes = true`"),
    )
)]
struct ApiDoc;

/// The routes being declared, each with its permission: the only way to add
/// a route, so none can be added without saying what it needs.
struct Api {
    router: OpenApiRouter<App>,
    table: guard::Table,
}

impl Api {
    fn new() -> Api {
        let mut doc = ApiDoc::openapi();
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token (mzm_…) or an ID token of the configured issuer"))
                    .build(),
            ),
        );
        components.add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(cookies::SESSION))));
        Api { router: OpenApiRouter::with_openapi(doc), table: HashMap::new() }
    }

    /// Adds a route (one path, one or more methods) that needs `perm`.
    fn add(mut self, perm: Perm, (schemas, mut paths, method_router): UtoipaMethodRouter<App>) -> Api {
        for (path, item) in paths.paths.iter_mut() {
            for (method, op) in [
                (Method::GET, &mut item.get),
                (Method::POST, &mut item.post),
                (Method::PUT, &mut item.put),
                (Method::DELETE, &mut item.delete),
                (Method::PATCH, &mut item.patch),
            ] {
                let Some(op) = op.as_mut() else { continue };
                self.table.insert((method, path.clone()), perm);
                op.extensions.get_or_insert_with(Default::default).insert("x-mezame-permission".into(), perm.as_str().into());
                if !matches!(perm, Perm::Public | Perm::Signed) {
                    op.security = Some(vec![
                        SecurityRequirement::new("bearer", Vec::<String>::new()),
                        SecurityRequirement::new("session", Vec::<String>::new()),
                    ]);
                }
            }
        }
        self.router = self.router.routes((schemas, paths, method_router));
        self
    }
}

/// The routes, their permissions and their OpenAPI document.
fn api(debug_routes: bool) -> Api {
    use Perm::*;
    let mut api = Api::new()
        .add(Public, routes!(get_health::get_health))
        .add(Public, routes!(get_live::get_live))
        .add(Public, routes!(get_login::get_login))
        .add(Public, routes!(get_callback::get_callback))
        .add(SignedIn, routes!(post_logout::post_logout))
        .add(SignedIn, routes!(get_me::get_me))
        .add(SignedIn, routes!(get_token_list::get_token_list, post_token::post_token))
        .add(SignedIn, routes!(delete_token::delete_token))
        .add(SignedIn, routes!(get_session_list::get_session_list))
        .add(SignedIn, routes!(delete_session::delete_session))
        .add(Read, routes!(get_version::get_version))
        .add(Read, routes!(get_openapi::get_openapi))
        .add(Read, routes!(get_metrics::get_metrics))
        .add(Read, routes!(get_env_list::get_env_list))
        .add(Read, routes!(get_topology::get_topology))
        .add(Read, routes!(get_topology_events::get_topology_events))
        .add(Read, routes!(get_capacity::get_capacity))
        .add(Read, routes!(get_capacity_events::get_capacity_events))
        .add(Read, routes!(get_deploy_list::get_deploy_list))
        .add(Read, routes!(get_deploy_events::get_deploy_events))
        .add(Read, routes!(get_deploy_diff::get_deploy_diff))
        .add(Read, routes!(get_deploy_dora::get_deploy_dora))
        .add(Read, routes!(get_version_matrix::get_version_matrix))
        .add(Operate, routes!(post_deploy_promote::post_deploy_promote))
        .add(Operate, routes!(post_deploy_rollback::post_deploy_rollback))
        .add(Operate, routes!(delete_deploy_freeze::delete_deploy_freeze))
        .add(Signed, routes!(post_git_hook::post_git_hook))
        .add(Operate, routes!(patch_capacity_group::patch_capacity_group))
        .add(Operate, routes!(post_capacity_placement::post_capacity_placement))
        .add(Operate, routes!(post_node_cordon::post_node_cordon))
        .add(Operate, routes!(post_node_uncordon::post_node_uncordon))
        .add(Operate, routes!(post_node_drain::post_node_drain))
        .add(Read, routes!(get_service::get_service))
        .add(Read, routes!(get_cronjob_list::get_cronjob_list))
        .add(Operate, routes!(post_cronjob_run::post_cronjob_run))
        .add(Read, routes!(get_power::get_power))
        .add(Configure, routes!(put_power::put_power))
        .add(Operate, routes!(put_keep_awake::put_keep_awake))
        .add(Operate, routes!(post_env_wake::post_env_wake))
        .add(Operate, routes!(post_env_sleep::post_env_sleep))
        .add(Read, routes!(get_run_list::get_run_list))
        .add(Read, routes!(get_run::get_run))
        .add(Read, routes!(get_run_events::get_run_events))
        .add(Operate, routes!(post_run_cancel::post_run_cancel))
        .add(Operate, routes!(post_run_retry::post_run_retry))
        .add(Read, routes!(get_audit::get_audit));
    if debug_routes {
        api = api
            .add(Configure, routes!(debug::post_echo))
            .add(Configure, routes!(debug::get_panic))
            .add(Configure, routes!(debug::get_sleep))
            .add(Configure, routes!(debug::get_rebuilds))
            .add(Configure, routes!(debug::put_clock));
    }
    api
}

/// The OpenAPI document of a server started with the given `debug_routes`.
pub fn openapi(debug_routes: bool) -> utoipa::openapi::OpenApi {
    api(debug_routes).router.split_for_parts().1
}

/// The whole application: API, metrics, UI, and the layers around them.
pub fn router(app: App) -> Router {
    // Install the Prometheus recorder before the first request is counted.
    metrics::handle();
    let Api { router, table } = api(app.config.debug_routes);
    let (api, doc) = router.split_for_parts();
    let guard = guard::Guard { app: app.clone(), table: Arc::new(table) };
    let limits = security::Limits::new(&app.config);
    let api = api
        .route_layer(middleware::from_fn_with_state(guard, guard::guard))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(fallback)
        .layer(Extension(Arc::new(doc)))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn_with_state(app.clone(), asleep::redirect))
        .layer(middleware::from_fn_with_state(limits, security::limits))
        .layer(middleware::from_fn(metrics::track))
        .layer(middleware::from_fn_with_state(security::Headers::new(&app.auth.public_url), security::headers))
        .layer(TraceLayer::new_for_http());
    // Outermost: it times all the layers above.
    let api = if app.config.debug_routes { api.layer(middleware::from_fn(metrics::timing)) } else { api };
    api.with_state(app)
}

/// Unknown `/api` routes get a JSON 404; every other path is the UI's.
async fn fallback(uri: Uri, headers: axum::http::HeaderMap) -> Response {
    if uri.path() == "/api" || uri.path().starts_with("/api/") {
        ApiError::new(StatusCode::NOT_FOUND, "route_not_found", format!("no API route {}; see /api/openapi.json for the list", uri.path()))
            .into_response()
    } else {
        assets::serve(uri, headers).await
    }
}

async fn method_not_allowed(method: axum::http::Method, uri: Uri) -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", format!("{} does not accept {method}", uri.path()))
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail =
        panic.downcast_ref::<String>().map(String::as_str).or_else(|| panic.downcast_ref::<&str>().copied()).unwrap_or("unknown panic");
    tracing::error!(panic = detail, "handler panicked");
    ApiError::internal(format!("internal error: the request handler failed ({detail}); see the server log")).into_response()
}
