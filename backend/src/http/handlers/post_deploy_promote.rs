use axum::Json;
use axum::extract::State;
use mezame_shared::deploys::{DeployChange, PromoteRequest};

use crate::app::App;
use crate::domain::DomainError;
use crate::domain::auth::{Denied, Perm, Scope, authorize};
use crate::http::actor::Caller;
use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;
use crate::http::extract::{Json as JsonBody, Path};

/// Promotes a microservice: the tag it runs in `from` goes to `{env}` — one
/// manifest commit that rewrites only that microservice's own `image:` tag
/// under `{env}`'s directory (`[git] path`). Into an environment `[git]
/// direct` lists it is committed to the deployed branch; into any other
/// (prod: a person merges, deliberately) it is pushed on a new branch
/// `mezame/promote/…`, and the deploys page shows it waiting there. The
/// commit carries the app commit in `Argocd-reference-commit-*` trailers and
/// the release notes (the app commits it ships). `dry_run` answers the lines
/// and commits and writes nothing. Refused, with the repository untouched:
/// an unknown microservice or environment, a tag that is no app commit (not
/// built), nothing to change, an asleep `{env}`, promotions frozen by a
/// rollback (unless `unfreeze`), a push the remote refuses. Needs operate in
/// `{env}` (admin and `confirm` in a protected one) and read in `from`.
/// Audited (`deploy.promote`).
#[utoipa::path(
    post, path = "/api/envs/{env}/deploys/{ms}/promote", tag = "deploys",
    params(EnvPath, ("ms" = String, Path, description = "The microservice (its manifest directory's name)")),
    request_body = PromoteRequest,
    responses(
        (status = 200, description = "Committed (or, with dry_run, what would be)", body = DeployChange),
        (status = 400, description = "from = to, a protected environment not confirmed, or a malformed body", body = mezame_shared::error::ErrorBody),
        (status = 403, description = "Not allowed in {env}, or cannot read from", body = mezame_shared::error::ErrorBody),
        (status = 404, description = "Unknown environment or microservice, or no manifests of it there", body = mezame_shared::error::ErrorBody),
        (status = 409, description = "Nothing to change, {env} asleep, promotions frozen, or the remote refused the push", body = mezame_shared::error::ErrorBody),
        (status = 422, description = "The tag is no commit of the app repository (not built)", body = mezame_shared::error::ErrorBody),
        (status = 503, description = "The manifest repository cannot be fetched", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn post_deploy_promote(
    State(app): State<App>,
    env: EnvPath,
    Path((_, ms)): Path<(String, String)>,
    Caller(who): Caller,
    JsonBody(req): JsonBody<PromoteRequest>,
) -> Result<Json<DeployChange>, ApiError> {
    let deploys = app.deploys()?;
    let Some(from) = app.envs.get(&req.from) else {
        let known: Vec<&str> = app.envs.names().collect();
        return Err(DomainError::NotFound(format!("no environment {:?} to promote from; known: {}", req.from, known.join(", "))).into());
    };
    // What runs in `from` is read there: the caller must be able to see it.
    let scope = Scope::Env { name: &from.config.name, protected: from.config.protected };
    if let Err(Denied::Forbidden(m) | Denied::Unauthenticated(m)) = authorize(&app.auth.access, Some(&who), Perm::Read, scope) {
        return Err(DomainError::Forbidden(m).into());
    }
    Ok(Json(deploys.promote(&env.env, &app.topologies, &ms, req, &who.name).await?))
}
