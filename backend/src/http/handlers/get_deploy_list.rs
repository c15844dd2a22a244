use axum::Json;
use axum::extract::State;
use mezame_shared::deploys::DeployList;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::app::App;
use crate::domain::DomainError;
use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;
use crate::http::extract::Query;

/// At most this many deploys per page.
const MAX_LIMIT: u32 = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeploysQuery {
    /// Only deploys of this microservice.
    ms: Option<String>,
    /// Page size, 1 to 500 (default 100).
    limit: Option<u32>,
}

/// The environment's deploys, newest first: each manifest commit that changed
/// a microservice's image, with its chain — the app commit (from the commit's
/// `Argocd-reference-commit-*` trailers, else the tag as a commit of the app
/// repository), the manifest commit, the first Argo CD sync that deployed it,
/// the ReplicaSet that runs it — the lead time so far and why a chain stops
/// where it does. Read from mezame's index of the repositories (fetched in the
/// background, `index`) and the watch cache: no git or API server call per request.
#[utoipa::path(
    get, path = "/api/envs/{env}/deploys", tag = "deploys",
    params(EnvPath, DeploysQuery),
    responses(
        (status = 200, body = DeployList),
        (status = 400, description = "Invalid query", body = mezame_shared::error::ErrorBody),
        (status = 404, description = "Unknown environment, or no manifest repository configured", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_deploy_list(State(app): State<App>, env: EnvPath, Query(q): Query<DeploysQuery>) -> Result<Json<DeployList>, ApiError> {
    let deploys = app.deploys()?;
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(DomainError::Invalid(format!("limit must be between 1 and {MAX_LIMIT}, got {limit}")).into());
    }
    Ok(Json(deploys.list(env.name(), &app.topologies, q.ms.as_deref(), limit).await?))
}
