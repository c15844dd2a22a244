use axum::Json;
use axum::extract::State;
use mezame_shared::audit::AuditPage;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::adapters::db::AuditScope;
use crate::app::App;
use crate::domain;
use crate::http::actor::Caller;
use crate::http::error::ApiError;
use crate::http::extract::Query;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only entries of this environment.
    env: Option<String>,
    /// Only entries older than this id (the `next_before` of the previous page).
    before: Option<i64>,
    /// Page size, 1 to 500 (default 100).
    limit: Option<u32>,
}

/// The audit log, newest first: entries of the environments the caller may
/// read, and their own entries of no environment (tokens, sessions); an admin
/// of every environment sees everything.
#[utoipa::path(
    get, path = "/api/audit", tag = "audit",
    params(AuditQuery),
    responses(
        (status = 200, body = AuditPage),
        (status = 400, description = "Invalid query", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_audit(State(app): State<App>, Caller(who): Caller, Query(q): Query<AuditQuery>) -> Result<Json<AuditPage>, ApiError> {
    let names: Vec<&str> = app.envs.names().collect();
    let scope = (!who.is_admin_everywhere(&app.auth.access, &names))
        .then(|| AuditScope { envs: who.readable(&app.auth.access, names.iter().copied()), actor: who.name.clone() });
    Ok(Json(domain::audit::page(&app.db, q.env, q.before, q.limit, scope).await?))
}
