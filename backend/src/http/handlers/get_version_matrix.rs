use axum::Json;
use axum::extract::State;
use mezame_shared::deploys::VersionMatrix;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::app::App;
use crate::domain::DomainError;
use crate::http::actor::Caller;
use crate::http::error::ApiError;
use crate::http::extract::Query;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VersionsQuery {
    /// The promotion's source environment (default: the first shown).
    from: Option<String>,
    /// Its target (default: the first protected environment shown, else the last).
    to: Option<String>,
}

/// What runs where: every microservice with deploys × the environments the
/// caller may read — the tag its Deployment runs, that tag's app commit and
/// age, and the manifests' tag when it differs (not synced or rolled out
/// yet) —, and per microservice the app commits running in `from` and not in
/// `to` (the release notes of the next promotion), with a flag when `to` runs
/// an image never deployed to `from`.
#[utoipa::path(
    get, path = "/api/versions", tag = "deploys",
    params(VersionsQuery),
    responses(
        (status = 200, body = VersionMatrix),
        (status = 400, description = "Invalid query", body = mezame_shared::error::ErrorBody),
        (status = 404, description = "Unknown environment, or no manifest repository configured", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn get_version_matrix(
    State(app): State<App>,
    Caller(who): Caller,
    Query(q): Query<VersionsQuery>,
) -> Result<Json<VersionMatrix>, ApiError> {
    let deploys = app.deploys()?;
    let envs = who.readable(&app.auth.access, app.envs.names());
    let known = |name: Option<String>, default: Option<&String>, what: &str| -> Result<String, ApiError> {
        match name {
            Some(n) if envs.contains(&n) => Ok(n),
            Some(n) => {
                Err(DomainError::NotFound(format!("{what}: no environment {n:?} you may read (you may read: {})", envs.join(", "))).into())
            }
            None => default.cloned().ok_or_else(|| DomainError::NotFound("you may read no environment".into()).into()),
        }
    };
    let protected = app.envs.iter().find(|e| e.config.protected && envs.contains(&e.config.name)).map(|e| &e.config.name);
    let from = known(q.from, envs.first(), "from")?;
    let to = known(q.to, protected.or(envs.last()), "to")?;
    if from == to {
        return Err(DomainError::Invalid(format!("from and to are both {from}: name two environments")).into());
    }
    Ok(Json(deploys.versions(&app.topologies, &envs, &from, &to).await?))
}
