use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mezame_shared::cronjobs::JobCreated;

use crate::app::App;
use crate::domain::cronjobs;
use crate::http::actor::Caller;
use crate::http::env_path::EnvPath;
use crate::http::error::ApiError;
use crate::http::extract::JsonOrEmpty;
use crate::http::extract::Path;
use mezame_shared::auth::Confirm;

/// Runs a CronJob now: creates a Job from its `jobTemplate` exactly as
/// `kubectl create job --from=cronjob/NAME` does (owner reference to the
/// CronJob, annotation `cronjob.kubernetes.io/instantiate: manual`), records
/// it in the audit log (the Job's name and a hash of the template, never the
/// template's values), and answers with the new Job's name. In a protected
/// environment it needs an admin and `{"confirm": "<env name>"}`.
#[utoipa::path(
    post, path = "/api/envs/{env}/cronjobs/{namespace}/{name}/run", tag = "jobs",
    params(
        EnvPath,
        ("namespace" = String, Path, description = "Namespace of the CronJob"),
        ("name" = String, Path, description = "CronJob name"),
    ),
    request_body(content = Confirm, description = "`{}`, or `{\"confirm\": \"prod\"}` in a protected environment"),
    responses(
        (status = 201, body = JobCreated),
        (status = 400, description = "A protected environment not confirmed", body = mezame_shared::error::ErrorBody),
        (status = 404, description = "Unknown environment or CronJob", body = mezame_shared::error::ErrorBody),
        (status = 502, description = "The API server refused", body = mezame_shared::error::ErrorBody),
        (status = 503, description = "The environment is unreachable", body = mezame_shared::error::ErrorBody),
    )
)]
pub async fn post_cronjob_run(
    State(app): State<App>,
    env: EnvPath,
    Path((_, namespace, name)): Path<(String, String, String)>,
    Caller(who): Caller,
    JsonOrEmpty(body): JsonOrEmpty<Confirm>,
) -> Result<(StatusCode, Json<JobCreated>), ApiError> {
    let created = cronjobs::run(&app.db, &env.env, &env.live, &namespace, &name, &who.name, body.confirm.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(created)))
}
